"""变更到军队 (DOMAIN §4.1 type 4)."""

from __future__ import annotations

from flask_babel import gettext as _

from app.services.applications import eligibility
from app.services.applications.prepare import prepare_simple
from app.services.applications.types import REGISTRATION_STATUS
from app.services.applications.types import BusinessType
from app.services.applications.types import register

register(BusinessType("to_military", "application", ("physician",), 4,
                      refusal=lambda actor: eligibility.active_refusal(actor, "to_military", _("变更到军队")),
                      prepare=prepare_simple, needs_status=("ACTIVE",),
                      conflict_group=REGISTRATION_STATUS,
                      # the registration leaves for the military: nothing else may act on it
                      conflicts=frozenset({"change", "cancellation", "upgrade", "filing", "reissue",
                                           "legacy_cancel"}),
                      conditions=("持有有效的执业注册。", "已取得军队单位的调令或接收证明。")))
