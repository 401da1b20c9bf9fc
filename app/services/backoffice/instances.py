"""Instance administration: find applications by type, state or physician; one with its
diagram, history and audit trail (the actions are in :mod:`app.services.engine.processes`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.models import HumanTask
from app.models import Institution
from app.models import ProcessDefinition
from app.models import ProcessInstance
from app.models import Qualification
from app.models import User
from app.services.applications import eligibility
from app.services.backoffice import audit_labels
from app.services.inbox import tasks
from app.services.platform.paging import Keyset
from app.services.records.validators import whole_number

STATES = {"running": "办理中", "suspended": "已暂停", "failed": "步骤失败", "completed": "已办结"}
PAGE = 50


@dataclass(frozen=True)
class InstanceRow:
    id: int
    business_type: str
    version: int
    physician: str
    institution: str
    status: str
    state: str
    created_at: datetime
    updated_at: datetime
    error: str | None


@dataclass(frozen=True)
class InstancePage:
    rows: list[InstanceRow]
    next_before: str | None  # keyset cursor: the page below the last row (None: last page)


def _state(inst: ProcessInstance) -> str:
    if inst.completed_at is not None:
        return STATES["completed"]
    if inst.error:
        return STATES["failed"]
    return STATES["suspended"] if inst.suspended else STATES["running"]


NEWEST_FIRST = Keyset((ProcessInstance.id,), (int,), descending=True)


def search(process_id: str = "", state: str = "", q: str = "", before: str = "") -> InstancePage:
    """Newest first, ``PAGE`` at a time (``before``: the cursor of the next page's link; a
    forged one shows the first page); ``q`` is an application number or a physician's name."""
    stmt: Any = (select(ProcessInstance, ProcessDefinition.version, Qualification.name,
                        Institution.name)
                 .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
                 .outerjoin(Qualification, Qualification.id == ProcessInstance.qualification_id)
                 .outerjoin(Institution, Institution.id == ProcessInstance.institution_id))
    if process_id:
        stmt = stmt.where(ProcessInstance.process_id == process_id)
    if state == "completed":
        stmt = stmt.where(ProcessInstance.completed_at.is_not(None))
    elif state == "failed":
        stmt = stmt.where(ProcessInstance.completed_at.is_(None), ProcessInstance.error.is_not(None))
    elif state == "suspended":
        stmt = stmt.where(ProcessInstance.completed_at.is_(None), ProcessInstance.suspended.is_(True))
    elif state == "running":
        stmt = stmt.where(ProcessInstance.completed_at.is_(None), ProcessInstance.error.is_(None),
                          ProcessInstance.suspended.is_(False))
    q = q.strip()
    if q:
        number = whole_number(q)
        stmt = stmt.where(or_(ProcessInstance.id == number, Qualification.name == q)
                          if number is not None else Qualification.name == q)
    page = NEWEST_FIRST.page(stmt, before, PAGE, lambda row: (row[0].id,))
    rows = [InstanceRow(inst.id, eligibility.type_name(inst.process_id), version, name or "",
                        inst_name or "", inst.business_status, _state(inst), inst.created_at,
                        inst.updated_at, inst.error)
            for inst, version, name, inst_name in page.rows]
    return InstancePage(rows, page.next)


@dataclass(frozen=True)
class InstanceDetail:
    view: tasks.ApplicationView
    version: int
    state: str
    events: list[audit_labels.AuditLine]


def detail(actor: User, instance_id: int) -> InstanceDetail:
    """The application with its history and every audit event about it."""
    view = tasks.application_view(actor, instance_id)
    events = list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "process_instance",
                                 AuditEvent.object_id == str(instance_id))
        .order_by(AuditEvent.id)))
    row = view.instance.definition
    by_id = {t.id: t for t in view.instance.tasks}

    def task_of(task_id: Any) -> HumanTask | None:
        number = whole_number(str(task_id))
        return by_id.get(number) if number is not None else None

    def decision_of(task_id: Any) -> Callable[[Any], str]:
        task = task_of(task_id)
        labels = row.forms.get(task.form_id, {}).get("properties", {}).get("decision", {}).get(
            "x-labels", {}) if task is not None else {}
        return lambda value: str(labels.get(value, value))

    def title_of(task_id: Any) -> str:
        task = task_of(task_id)
        return task.title if task is not None else ""

    lines = [audit_labels.describe(e, decision_of(e.detail.get("task")), title_of) for e in events]
    return InstanceDetail(view, row.version, _state(view.instance), lines)


def process_choices() -> list[tuple[str, str]]:
    """(process id, name) of every process, for the filter."""
    ids = db.session.scalars(select(ProcessDefinition.process_id).distinct())
    return sorted((pid, eligibility.type_name(pid)) for pid in ids)
