"""办理统计's snapshot: open tasks counted per scope, type and due day, kept by the scheduler."""

from __future__ import annotations

from datetime import date
from datetime import datetime

from sqlalchemy import Date
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import UTCDateTime


class TaskCount(db.Model):  # type: ignore[name-defined]
    """How many open human tasks a scope holds of one type due on one day (北京时间).

    Its size is scopes × types × days, not the number of tasks; a task without a 期限 is
    counted under ``NO_DUE_DAY`` (app/services/platform/task_counts.py)."""

    __tablename__ = "task_count"

    scope_kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    scope_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    process_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    due_day: Mapped[date] = mapped_column(Date, primary_key=True)
    n: Mapped[int] = mapped_column()


class StatsSnapshot(db.Model):  # type: ignore[name-defined]
    """When ``task_count`` was last taken (row id 1): the page's 统计时间."""

    __tablename__ = "stats_snapshot"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
