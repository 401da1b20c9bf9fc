"""办理统计's snapshot (issue 14 goal 5): open tasks counted per authority, type and due day.

The scheduler refreshes ``task_count`` every ``MEDREG_STATS_SECONDS`` in one transaction
(delete + ``INSERT … SELECT count(*) … GROUP BY``, read from the partial index
ix_human_task_scope_due alone); the page sums at most types × days rows, however many
physicians a province has. Only the commission's scope is kept: it is the one reader, and an
institution scope would multiply the rows written on every refresh.

Due DAY, not due moment: a task's ``due_at`` is the start (北京时间 00:00) of the day after its
last day (app/services/engine/clock.py), so its due day is the Beijing date of the moment just
before. For such a ``due_at`` the day counts are exactly the task list's: 已超期 ⇔
``due_at < now`` ⇔ due day < today; 7日内到期 ⇔ ``now ≤ due_at < now + 7 days`` ⇔ today ≤ due
day ≤ today + 6. A ``due_at`` at another time of day counts by its Beijing date.

Nothing here loads the engine: the idle scheduler stays slim (tests/unit/test_process_imports.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app.extensions import db
from app.models import HumanTask
from app.models import ScopeKind
from app.models import StatsSnapshot
from app.models import TaskCount
from app.models import TaskStatus
from app.models.base import utcnow
from app.services.platform.database import is_postgres
from app.services.platform.database import rowcount

CST = ZoneInfo("Asia/Shanghai")
NO_DUE_DAY = date(9999, 12, 31)  # a task without a 期限 (clock paused): in 待办 only
SNAPSHOT_ID = 1
# pg_try_advisory_xact_lock key: above the 9-digit certificate prefixes operations.py locks
LOCK_KEY = 10_000_000_001
WEEK_DAYS = 7


class due_day_of(FunctionElement[date]):  # noqa: N801 - a SQL function, named like one
    """The Beijing date of the moment just before ``due_at`` (NULL stays NULL)."""

    type = Date()
    inherit_cache = True
    name = "due_day_of"


@compiles(due_day_of, "postgresql")
def _due_day_pg(element: due_day_of, compiler: SQLCompiler, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"CAST(({arg} AT TIME ZONE 'Asia/Shanghai') - INTERVAL '1 microsecond' AS DATE)"


@compiles(due_day_of)
def _due_day_sqlite(element: due_day_of, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps naive UTC text and computes to the millisecond; China has no summer time
    arg = compiler.process(element.clauses, **kw)
    return f"date({arg}, '+8 hours', '-0.001 seconds')"


def _day_column() -> Any:
    return func.coalesce(due_day_of(HumanTask.due_at), literal(NO_DUE_DAY, Date()))


def _open_in(kind: ScopeKind) -> tuple[Any, ...]:
    return (HumanTask.status == TaskStatus.OPEN, HumanTask.scope_kind == kind,
            HumanTask.scope_id.is_not(None))


@dataclass(frozen=True)
class DayCount:
    """Open tasks of one type due on one day (``NO_DUE_DAY``: no 期限)."""

    process_id: str
    due_day: date
    n: int


@dataclass(frozen=True)
class Counts:
    """Per type: 待办, 7日内到期, 已超期."""

    process_id: str
    open: int
    due_this_week: int
    overdue: int


def today(now: datetime | None = None) -> date:
    """Today in 北京时间."""
    return (now or utcnow()).astimezone(CST).date()


def counts_by_type(rows: Iterable[DayCount], on: date) -> list[Counts]:
    """Sum day counts into each type's 待办, 7日内到期 (``on`` … ``on`` + 6) and 已超期
    (before ``on``), ordered by type: the snapshot and the live count share this."""
    sums: dict[str, list[int]] = {}
    week_end = on + timedelta(days=WEEK_DAYS)
    for r in rows:
        s = sums.setdefault(r.process_id, [0, 0, 0])
        s[0] += r.n
        if r.due_day != NO_DUE_DAY:
            if on <= r.due_day < week_end:
                s[1] += r.n
            elif r.due_day < on:
                s[2] += r.n
    return [Counts(pid, *s) for pid, s in sorted(sums.items())]


def live_rows(authority_id: int) -> list[DayCount]:
    """One authority's open tasks by type and due day, counted now (no snapshot yet)."""
    day = _day_column().label("due_day")
    q = (select(HumanTask.process_id, day, func.count())
         .where(*_open_in(ScopeKind.AUTHORITY), HumanTask.scope_id == authority_id)
         .group_by(HumanTask.process_id, day))
    return [DayCount(pid, _as_date(d), int(n)) for pid, d, n in db.session.execute(q)]


def snapshot_rows(authority_id: int) -> tuple[datetime, list[DayCount]] | None:
    """The snapshot's time and one authority's rows; None when none was ever taken."""
    taken = taken_at()
    if taken is None:
        return None
    q = (select(TaskCount.process_id, TaskCount.due_day, TaskCount.n)
         .where(TaskCount.scope_kind == ScopeKind.AUTHORITY.value,
                TaskCount.scope_id == authority_id))
    return taken, [DayCount(pid, d, int(n)) for pid, d, n in db.session.execute(q)]


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def taken_at() -> datetime | None:
    """When the snapshot was last taken (None: never)."""
    return db.session.scalar(select(StatsSnapshot.taken_at).where(StatsSnapshot.id == SNAPSHOT_ID))


def _locked() -> bool:
    """This transaction holds the refresh (PostgreSQL: another scheduler's refresh under way
    means False; SQLite's ``BEGIN IMMEDIATE`` already serialises writers)."""
    if not is_postgres():
        return True
    return bool(db.session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK_KEY}))


def _fresh(taken: datetime | None, now: datetime, every_seconds: float) -> bool:
    return taken is not None and (now - taken).total_seconds() < every_seconds


def snapshot_select() -> Any:
    """The refresh's count: every commission's open tasks by type and due day, read from
    ix_human_task_scope_due alone (bench/national.py shows its plan)."""
    day = _day_column()
    return (select(HumanTask.scope_kind, HumanTask.scope_id, HumanTask.process_id, day, func.count())
            .where(*_open_in(ScopeKind.AUTHORITY))
            .group_by(HumanTask.scope_kind, HumanTask.scope_id, HumanTask.process_id, day))


def refresh(every_seconds: float = 0.0, now: datetime | None = None) -> bool:
    """Take the snapshot unless one is younger than ``every_seconds`` or another scheduler is
    taking it; one transaction (commits). Returns whether this call took it."""
    now = now or utcnow()
    if _fresh(taken_at(), now, every_seconds):  # the usual sweep: one primary-key read
        db.session.rollback()
        return False
    if not _locked() or (is_postgres() and _fresh(taken_at(), now, every_seconds)):
        db.session.rollback()  # another scheduler takes it, or took it while we looked
        return False
    db.session.execute(delete(TaskCount))
    db.session.execute(insert(TaskCount).from_select(
        ["scope_kind", "scope_id", "process_id", "due_day", "n"], snapshot_select()))
    stamped = db.session.execute(update(StatsSnapshot).where(StatsSnapshot.id == SNAPSHOT_ID)
                                 .values(taken_at=now))
    if not rowcount(stamped):
        db.session.add(StatsSnapshot(id=SNAPSHOT_ID, taken_at=now))
    db.session.commit()
    return True
