"""变更 (DOMAIN §4.1 type 5): a new institution, department or 执业范围 of a registration."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from app.extensions import db
from app.models import ProcessInstance
from app.models import Registration
from app.models import RegistrationStatus
from app.models import User
from app.services.applications import eligibility
from app.services.applications import forms
from app.services.applications.operations import set_status
from app.services.applications.prepare import Prepared
from app.services.applications.prepare import form_options
from app.services.applications.prepare import placement_errors
from app.services.applications.prepare import qualification_in
from app.services.applications.prepare import registration_and_target
from app.services.applications.types import REGISTRATION_STATUS
from app.services.applications.types import BusinessType
from app.services.applications.types import register


def prepare(actor: User, process_id: str, schema: dict[str, Any], payload: dict[str, Any],
            instance: ProcessInstance | None, errors: dict[str, str] | None) -> Prepared:
    data = dict(payload)
    extra = dict(errors or {})
    reg, target = registration_and_target(actor, data, instance, extra)
    category = str(data.get("practice_category") or (reg.category if reg else ""))
    if reg is not None:
        data["practice_category"] = category
        if category != reg.category and qualification_in(actor, category, reg.level) is None:
            # 执业范围暂行规定: the category must be one the person is qualified in
            extra["practice_category"] = _("未查询到您该执业类别的医师资格，不能变更执业类别")
        extra.update(placement_errors(target, data, category))
    scopes = data.get("practice_scopes")
    if reg is not None and isinstance(scopes, list) and set(scopes) - set(reg.scopes) \
            and not data.get("training_proof") and "training_proof" not in extra:
        # 医师法 第十四条: a new specialty needs training and assessment
        extra["training_proof"] = _("变更执业范围须提供培训考核合格证明")
    if (reg is not None and target is not None and target.id == reg.institution_id
            and isinstance(scopes, list) and set(scopes) == set(reg.scopes)
            and category == reg.category and data.get("department_id") == reg.department_id):
        extra["institution_id"] = _("您没有变更任何执业注册事项")
    options = form_options(actor, target.id if target else None)
    clean = forms.validate(schema, data, options, extra)
    assert reg is not None and target is not None
    return Prepared(clean, reg.institution_id, target.authority_id, reg.id, target.id)


def mark_pending(inst: ProcessInstance, _outcome: str) -> None:
    """办法 第二十二条: from submission the registration is 变更中 (R-32)."""
    reg = db.session.get(Registration, inst.registration_id)
    if reg is not None and reg.status == RegistrationStatus.ACTIVE:
        set_status(reg, RegistrationStatus.PENDING_CHANGE)


def end_pending(inst: ProcessInstance, _outcome: str) -> None:
    """Refused, withdrawn, 不予受理...: the registration is 有效 again (on approval the change
    itself has already set the new status)."""
    reg = db.session.get(Registration, inst.registration_id)
    if reg is not None and reg.status == RegistrationStatus.PENDING_CHANGE:
        set_status(reg, RegistrationStatus.ACTIVE)


# 医师法 第十八条: what needs no 变更, in the guide's words
NO_CHANGE_NEEDED = ("医师经注册后，参加规范化培训、进修、对口支援、会诊、突发事件医疗救援、"
                    "慈善或者其他公益性医疗、义诊，承担政府交办的任务，以及在医疗联合体内的"
                    "医疗机构中执业，无需办理变更注册。")

register(BusinessType("change", "application", ("physician",), 5, info=NO_CHANGE_NEEDED,
                      refusal=lambda actor: eligibility.active_refusal(actor, "change", _("变更")),
                      prepare=prepare, needs_status=("ACTIVE", "PENDING_CHANGE"),
                      # the registration changes: no 注销, upgrade, filing... may be open with it
                      conflicts=frozenset({"cancellation", "upgrade", "to_military", "filing",
                                           "reissue", "legacy_cancel"}),
                      on_start=mark_pending, on_close=end_pending,
                      conflict_group=REGISTRATION_STATUS,
                      conditions=("持有有效的执业注册。",
                                  "变更主要执业机构的，须经拟执业机构确认；变更执业范围的，须具备相应的培训考核合格证明。")))
