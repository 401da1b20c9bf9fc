"""申请取消“多地点执业” (DOMAIN §4.1 type 9): drop a site recorded under the old rules."""

from __future__ import annotations

from flask_babel import gettext as _

from app.models import RegistrationStatus
from app.models import User
from app.services.applications import eligibility
from app.services.applications.prepare import prepare_simple
from app.services.applications.types import BusinessType
from app.services.applications.types import register


def refusal(actor: User) -> str | None:
    if not [r for r in eligibility.registrations_in(actor, (RegistrationStatus.ACTIVE, RegistrationStatus.SUSPENDED))
            if r.legacy_sites]:
        return _("您的执业注册中没有“多地点执业”记录，无需申请取消")
    return eligibility.open_refusal(actor, "legacy_cancel")


register(BusinessType("legacy_cancel", "application", ("physician",), 9, refusal=refusal,
                      prepare=prepare_simple, needs_status=("ACTIVE", "SUSPENDED"),
                      conflicts=frozenset({"change", "cancellation", "upgrade"}),
                      conditions=("执业注册中仍有2017年以前登记的“多地点执业”地点。",)))
