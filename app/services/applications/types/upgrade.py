"""助理医师升执业医师 (DOMAIN §4.1 type 2)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from app.models import ProcessInstance
from app.models import RegistrationStatus
from app.models import User
from app.services.applications import eligibility
from app.services.applications.prepare import Prepared
from app.services.applications.prepare import own_registration
from app.services.applications.prepare import prepare_simple
from app.services.applications.scopes import scope_errors
from app.services.applications.types import REGISTRATION_STATUS
from app.services.applications.types import BusinessType
from app.services.applications.types import register


def refusal(actor: User) -> str | None:
    """Needs an ACTIVE assistant registration and a 执业医师 qualification of the same category."""
    regs = [r for r in eligibility.registrations_in(actor, eligibility.CURRENT) if r.level == "执业助理医师"]
    if not regs:
        return _("您当前没有有效的执业助理医师执业注册，不能申请升级")
    if eligibility.physician_qualification(actor) is None:
        return _("未查询到您同类别的执业医师资格信息，不能申请升级")
    return eligibility.open_refusal(actor, "upgrade")


def prepare(actor: User, process_id: str, schema: dict[str, Any], payload: dict[str, Any],
            instance: ProcessInstance | None, errors: dict[str, str] | None) -> Prepared:
    """The scopes of the new 执业医师 registration obey the same limits as any (R-24)."""
    reg_id = instance.registration_id if instance is not None else payload.get("registration_id")
    reg = own_registration(actor, reg_id, (RegistrationStatus.ACTIVE, RegistrationStatus.SUSPENDED))
    extra = dict(errors or {})
    if reg is not None:
        extra.update(scope_errors(reg.institution, payload.get("practice_scopes"), reg.category))
    return prepare_simple(actor, process_id, schema, payload, instance, extra)


register(BusinessType("upgrade", "application", ("physician",), 2, refusal=refusal,
                      prepare=prepare, needs_status=("ACTIVE",),
                      conflict_group=REGISTRATION_STATUS,
                      # the assistant registration becomes 变更出 on approval
                      conflicts=frozenset({"change", "cancellation", "to_military", "filing",
                                           "reissue", "legacy_cancel"}),
                      conditions=("持有有效的执业助理医师执业注册。",
                                  "已取得同一类别的执业医师资格（资格信息已在系统中）。")))
