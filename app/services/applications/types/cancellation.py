"""注销 (DOMAIN §4.1 type 6): the physician asks to cancel one of their registrations."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from app.models import ProcessInstance
from app.models import User
from app.services.applications import eligibility
from app.services.applications import forms
from app.services.applications.prepare import Prepared
from app.services.applications.prepare import chosen_registration
from app.services.applications.prepare import form_options
from app.services.applications.types import REGISTRATION_STATUS
from app.services.applications.types import BusinessType
from app.services.applications.types import register
from app.services.engine.clock import today_cst


def refusal(actor: User) -> str | None:
    """Why 注销 cannot be applied for now, or None."""
    if actor.qualification is None:
        return _("未查询到您的医师资格信息")
    if not eligibility.registrations_in(actor, eligibility.CANCELLABLE):
        return _("您当前没有可以注销的执业注册（有效、暂停执业或备案状态）")
    if eligibility.open_application(actor, "cancellation") is not None:
        return _("您已有正在办理的注销申请，请在业务查询中查看进度")
    return None


def prepare(actor: User, process_id: str, schema: dict[str, Any], payload: dict[str, Any],
            instance: ProcessInstance | None, errors: dict[str, str] | None) -> Prepared:
    data = dict(payload)
    extra = dict(errors or {})
    reg = chosen_registration(actor, data, instance, eligibility.CANCELLABLE, extra,
                              _("请选择您本人可以注销的执业注册"))
    event = data.get("event_date")
    if isinstance(event, str) and len(event) == 10 and event > today_cst().isoformat():
        extra["event_date"] = _("事由发生日期不能晚于今天")
    clean = forms.validate(schema, data, form_options(actor), extra)
    assert reg is not None
    return Prepared(clean, reg.institution_id, reg.authority_id, reg.id)


register(BusinessType("cancellation", "application", ("physician",), 6, refusal=refusal,
                      prepare=prepare, needs_status=eligibility.CANCELLABLE,
                      conflict_group=REGISTRATION_STATUS,
                      # 注销 ends the registration: no change, upgrade, filing... may be open with it
                      conflicts=frozenset({"change", "upgrade", "to_military", "filing",
                                           "filing_cancel", "reissue", "legacy_cancel"}),
                      conditions=("持有有效、暂停执业或备案状态的执业注册。",
                                  "有医师法 第十七条规定的注销情形，或本人申请注销。")))
