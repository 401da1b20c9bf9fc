"""Applications that may not be open together, and decisions whose effect became impossible
(DOMAIN §4.0: "no other open application of a conflicting type exists").

The matrix itself is declared by each type module (``BusinessType.conflicts``); this module
reads it: the physician is told which open application stands in the way, and the commission
is told before deciding when another decision (e.g. a 注销) has made the effect impossible.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import defer

from app.extensions import db
from app.models import ProcessInstance
from app.models import Registration
from app.models import User
from app.services.applications import types


def _name(process_id: str) -> str:
    from app.services.applications.eligibility import type_name

    return type_name(process_id)


def open_conflict(actor: User, process_id: str) -> ProcessInstance | None:
    """The physician's oldest open application that may not be open together with one of
    ``process_id`` (None: nothing stands in the way)."""
    others = types.conflicts_of(process_id)
    if not others:
        return None
    return db.session.scalar(select(ProcessInstance).where(
        ProcessInstance.subject_user_id == actor.id, ProcessInstance.completed_at.is_(None),
        ProcessInstance.process_id.in_(sorted(others))).order_by(ProcessInstance.id).limit(1)
        .options(defer(ProcessInstance.workflow_json)))  # a form page shows none of the state


def conflict_refusal(actor: User, process_id: str) -> str | None:
    """「您的「变更」申请正在办理中（受理编号 12），办结后才能申请注销」 or None."""
    other = open_conflict(actor, process_id)
    if other is None:
        return None
    return busy_message(other.process_id, other.id, process_id)


def busy_message(other_process_id: str, other_id: int, process_id: str) -> str:
    """Why ``process_id`` may not be applied for while application ``other_id`` is open."""
    return str(_("您的「%(other)s」申请正在办理中（受理编号 %(no)s），办结后才能申请%(what)s",
             other=_name(other_process_id), no=other_id, what=_name(process_id)))


def cn_date(day: date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def effect_blocker(inst: ProcessInstance) -> str | None:
    """Why approving ``inst`` can no longer take effect (the registration it acts on was
    cancelled, changed out... by another decision in the meantime), or None."""
    bt = types.get(inst.process_id)
    if bt is None:
        return None
    if bt.blocker is not None and (why := bt.blocker(inst)):
        return why
    if bt.needs_status is None or inst.registration_id is None:
        return None
    reg = db.session.get(Registration, inst.registration_id)
    if reg is None:
        return str(_("该执业注册已不存在，无法准予%(what)s", what=_name(inst.process_id)))
    if reg.status in bt.needs_status:
        return None
    when = cn_date(reg.status_changed_on)
    return str(_("该执业注册已于%(when)s%(status)s，无法准予%(what)s", when=when or "",
             status=reg.status_label, what=_name(inst.process_id)))


DECIDE_FORM = "commission_decide"


def decision_errors(inst: ProcessInstance, form_id: str, payload: dict[str, Any],
                    errors: dict[str, str]) -> dict[str, str]:
    """准予 an application whose effect became impossible is refused, with the reason next to
    the decision (不予 still ends the case normally)."""
    if form_id != DECIDE_FORM or payload.get("decision") != "approve":
        return errors
    why = effect_blocker(inst)
    return {**errors, "decision": why} if why else errors


def on_start(inst: ProcessInstance) -> None:
    """The type's effect of a submission (e.g. 变更 makes the registration 变更中)."""
    bt = types.get(inst.process_id)
    if bt is not None and bt.on_start is not None:
        bt.on_start(inst, "submitted")


def on_close(inst: ProcessInstance, outcome: str) -> None:
    """The type's effect of the application ending (e.g. 变更中 back to 有效)."""
    bt = types.get(inst.process_id)
    if bt is not None and bt.on_close is not None:
        bt.on_close(inst, outcome)
