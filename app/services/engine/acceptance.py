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

from app.extensions import db
from app.models import HumanTask
from app.models import ProcessInstance
from app.services.backoffice import calendar
from app.services.engine.clock import correction_until
from app.services.engine.clock import today_cst
from app.services.engine.workdays import WorkCalendar
from app.services.errors import DomainError
from app.services.errors import InvalidInput

ACCEPT_TASK = "commission_accept"
CORRECT = "correct"
# once deemed accepted, 受理 is the only answer left: neither a 补正 notice nor 不予受理 (a
# matter that does not qualify is refused by the 审查决定, with its reason)
CLOSED = frozenset({CORRECT, "reject"})
LATE = "已超过补正告知期限，自收到申请材料之日起即为受理"
LATE_REJECT = "已超过补正告知期限，申请已视为受理，不能再不予受理；不符合条件的，请在审查决定中作出不予许可的决定"


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
    if not isinstance(decision, dict) or not CLOSED & set(decision.get("enum", [])):
        return schema, LATE
    narrowed = copy.deepcopy(schema)
    prop = narrowed["properties"]["decision"]
    prop["enum"] = [v for v in prop["enum"] if v not in CLOSED]
    return narrowed, LATE


def refuse_late_correction(cal: WorkCalendar, task: HumanTask, inst: ProcessInstance,
                           data: dict[str, Any], today: date) -> None:
    """Refuse a 补正 notice or 不予受理 after the five working days (the server's check)."""
    decision = data.get("decision")
    if (task.task_spec_id == ACCEPT_TASK and decision in CLOSED
            and correction_closed(cal, inst, today)):
        why = _(LATE) if decision == CORRECT else _(LATE_REJECT)
        raise InvalidInput(_("请按提示修改后重新提交"), {"decision": why},
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


def is_acceptance(task: HumanTask, data: dict[str, Any]) -> bool:
    """Whether this completes 受理 (the officer's "accept" on the 受理 task)."""
    return task.task_spec_id == ACCEPT_TASK and data.get("decision") == "accept"


def deem_accepted(today: date | None = None) -> int:
    """Tell applicants whose 补正 window passed unused that their application was accepted on
    receipt, and count from then (each in its own transaction); returns how many."""
    day = today or today_cst()
    told = 0
    for iid in deemed_pending(calendar.current(), day):
        # processes uses this module; imported when there is one (the sweeper loads no engine idle)
        from app.services.engine import processes

        try:
            told += processes.accept_deemed(iid)
        except DomainError:  # logged by the step; the others still go out, this one next run
            continue
    return told
