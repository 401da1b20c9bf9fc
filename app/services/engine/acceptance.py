"""受理 under 行政许可法 第三十二条: the five-day 补正 window, deemed acceptance, 受理通知.

The commission may ask for 补正 (一次性告知) only within five working days of receiving
the materials; after that the application counts as accepted on the day of receipt. Every
受理 — decided or deemed — is told to the applicant with its date and the decision's due day.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.errors import InvalidInput
from app.extensions import db
from app.models import HumanTask
from app.models import ProcessInstance
from app.models.base import utcnow
from app.services.applications import operations
from app.services.backoffice import calendar
from app.services.engine.clock import correction_until
from app.services.engine.clock import today_cst
from app.services.engine.context import StepContext
from app.services.engine.workdays import WorkCalendar

ACCEPT_TASK = "commission_accept"
CORRECT = "correct"
LATE = "已超过补正告知期限，自收到申请材料之日起即为受理"


def correction_closed(cal: WorkCalendar, inst: ProcessInstance, today: date) -> bool:
    """Whether the five working days for a 补正 notice have passed."""
    if inst.received_on is None:
        return False
    return today > correction_until(cal, inst.received_on)


def task_schema(cal: WorkCalendar, task: HumanTask, schema: dict[str, Any],
                today: date) -> tuple[dict[str, Any], str]:
    """The decision form as the officer may use it today, and the notice above it."""
    if task.task_spec_id != ACCEPT_TASK or not correction_closed(cal, task.instance, today):
        return schema, ""
    decision = schema.get("properties", {}).get("decision")
    if not isinstance(decision, dict) or CORRECT not in decision.get("enum", []):
        return schema, LATE
    narrowed = copy.deepcopy(schema)
    prop = narrowed["properties"]["decision"]
    prop["enum"] = [v for v in prop["enum"] if v != CORRECT]
    return narrowed, LATE


def refuse_late_correction(cal: WorkCalendar, task: HumanTask, inst: ProcessInstance,
                           data: dict[str, Any], today: date) -> None:
    """Refuse a 补正 notice after the five working days (the server's check)."""
    if (task.task_spec_id == ACCEPT_TASK and data.get("decision") == CORRECT
            and correction_closed(cal, inst, today)):
        raise InvalidInput(_("请按提示修改后重新提交"), {"decision": _(LATE)},
                           {k: v for k, v in data.items() if k != "decision"})


def accepted(cal: WorkCalendar, inst: ProcessInstance, today: date) -> tuple[date, bool]:
    """The 受理 date of an application accepted ``today``, and whether it was deemed."""
    if inst.received_on is not None and correction_closed(cal, inst, today):
        return inst.received_on, True
    return today, False


def deemed_pending(cal: WorkCalendar, today: date, limit: int = 200) -> list[int]:
    """Applications waiting for 受理 whose 补正 window has passed and that were not yet told."""
    rows = db.session.execute(
        select(ProcessInstance.id, ProcessInstance.received_on)
        .join(HumanTask, HumanTask.instance_id == ProcessInstance.id)
        .where(HumanTask.task_spec_id == ACCEPT_TASK, HumanTask.status == "open",
               ProcessInstance.accepted_on.is_(None), ProcessInstance.received_on.is_not(None),
               ProcessInstance.completed_at.is_(None))
        .limit(limit)).all()
    return [iid for iid, received in rows if today > correction_until(cal, received)]


def after_decision(ctx: StepContext, task: HumanTask, data: dict[str, Any]) -> None:
    """After 受理: send the dated 受理通知 (unless the deemed one went out already)."""
    inst = ctx.instance
    if task.task_spec_id != ACCEPT_TASK or data.get("decision") != "accept":
        return
    if inst.accepted_on is not None:
        return
    day, deemed = accepted(calendar.current(), inst, today_cst())
    operations.acceptance_notice(ctx, data, day.isoformat(), deemed)


def deem_accepted(today: date | None = None) -> int:
    """Tell applicants whose 补正 window passed unused that their application was accepted on
    receipt (each in its own transaction); returns how many were told."""
    day = today or today_cst()
    cal = calendar.current()
    told = 0
    for iid in deemed_pending(cal, day):
        inst = db.session.scalar(select(ProcessInstance).where(ProcessInstance.id == iid)
                                 .with_for_update().execution_options(populate_existing=True))
        if inst is None or inst.accepted_on is not None or inst.received_on is None:
            db.session.rollback()
            continue
        operations.acceptance_notice(StepContext(inst, None, utcnow()), {},
                                     inst.received_on.isoformat(), True)
        db.session.commit()
        told += 1
    return told
