"""The commission's dashboard: open, due this week and overdue applications by type."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import ProcessInstance
from app.models import Qualification
from app.models import Role
from app.models import User
from app.models.base import utcnow
from app.services.applications.eligibility import type_name
from app.services.applications.types import cancellation_report
from app.services.errors import Forbidden
from app.services.platform import task_counts


@dataclass(frozen=True)
class TypeCounts:
    process_id: str
    name: str
    open: int
    due_this_week: int
    overdue: int


@dataclass(frozen=True)
class Stats:
    """办理统计: the counts by type and when they were counted (统计时间)."""

    rows: list[TypeCounts]
    counted_at: datetime
    live: bool  # no snapshot was ever taken: counted for this page


def commission_stats(actor: User) -> Stats:
    """The scheduler's snapshot of the commission's open tasks by type (constant time however
    large the province); counted live when no snapshot was ever taken (a fresh install).

    Counts by due DAY in 北京时间 (app/services/platform/task_counts.py): the figures agree with
    the task list's 已超期 and 7日内到期 on the day of the snapshot; a task done or arrived
    since shows at the next refresh (``MEDREG_STATS_SECONDS``)."""
    if actor.role is not Role.COMMISSION or actor.authority_id is None:
        raise Forbidden(_("只有卫生健康委用户可以查看"))
    snapshot = task_counts.snapshot_rows(actor.authority_id)
    if snapshot is None:
        at, rows, live = utcnow(), task_counts.live_rows(actor.authority_id), True
    else:
        (at, rows), live = snapshot, False
    return Stats([TypeCounts(c.process_id, type_name(c.process_id), c.open, c.due_this_week, c.overdue)
                  for c in task_counts.counts_by_type(rows, task_counts.today(at))], at, live)


@dataclass(frozen=True)
class Dashboard:
    """The 办理统计 page: the counts and the late 注销/备案 reports."""

    stats: Stats
    late: list[LateReport]


def commission_dashboard(actor: User) -> Dashboard:
    """Everything the commission's 办理统计 page shows (two reads, neither per task)."""
    return Dashboard(commission_stats(actor), late_reports(actor))


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
