"""The commission's dashboard: open, due this week and overdue applications by type."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.models import ProcessInstance
from app.models import Qualification
from app.models import Role
from app.models import ScopeKind
from app.models import TaskStatus
from app.models import User
from app.models.base import utcnow
from app.services.applications.eligibility import type_name
from app.services.applications.types import cancellation_report
from app.services.errors import Forbidden


@dataclass(frozen=True)
class TypeCounts:
    process_id: str
    name: str
    open: int
    due_this_week: int
    overdue: int


def commission_counts(actor: User) -> list[TypeCounts]:
    """Counts computed in the database from the human-task read model, one row per type."""
    if actor.role is not Role.COMMISSION or actor.authority_id is None:
        raise Forbidden(_("只有卫生健康委用户可以查看"))
    now = utcnow()
    week = now + timedelta(days=7)
    # one statement read from ix_human_task_scope_due alone: the task row keeps its type
    q = (select(HumanTask.process_id, func.count(),
                func.sum(case((HumanTask.due_at.between(now, week), 1), else_=0)),
                func.sum(case((HumanTask.due_at < now, 1), else_=0)))
         .where(HumanTask.status == TaskStatus.OPEN, HumanTask.scope_kind == ScopeKind.AUTHORITY,
                HumanTask.scope_id == actor.authority_id)
         .group_by(HumanTask.process_id).order_by(HumanTask.process_id))
    return [TypeCounts(pid, type_name(pid), int(n), int(soon or 0), int(late or 0))
            for pid, n, soon, late in db.session.execute(q)]


@dataclass(frozen=True)
class LateReport:
    """An open institution report made after its 30 days (逾期报告 N 天)."""

    instance_id: int
    physician_name: str
    event_date: str
    days: int


def late_reports(actor: User, limit: int = 200) -> list[LateReport]:
    """The commission's open 注销/备案 reports that came late, latest first."""
    if actor.role is not Role.COMMISSION or actor.authority_id is None:
        raise Forbidden(_("只有卫生健康委用户可以查看"))
    rows = db.session.execute(
        select(ProcessInstance, Qualification.name)
        .join(Qualification, Qualification.id == ProcessInstance.qualification_id)
        .where(ProcessInstance.process_id == "cancellation_report",
               ProcessInstance.completed_at.is_(None),
               ProcessInstance.authority_id == actor.authority_id)
        .order_by(ProcessInstance.id.desc()).limit(limit)).all()
    out = []
    for inst, name in rows:
        days = cancellation_report.reported_late_days(inst.process_id, inst.application,
                                                      inst.created_at)
        if days > 0:
            out.append(LateReport(inst.id, name, str(inst.application.get("event_date", "")), days))
    return out
