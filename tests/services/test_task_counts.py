"""办理统计's snapshot (issue 14 goal 5): the scheduler's refresh is one transaction, taken by
one scheduler at a time, and leaves a snapshot equal to a live count. Runs on SQLite (serial
``BEGIN IMMEDIATE`` writers) and on PostgreSQL (``TEST_DATABASE_URL``: an advisory lock)."""

from __future__ import annotations

import threading

from flask import Flask
from sqlalchemy import select
from sqlalchemy import text

from app.extensions import db
from app.models import TaskCount
from app.services.inbox import dashboard
from app.services.platform import task_counts
from app.services.platform.database import is_postgres
from tests.factories import World
from tests.factories import user
from tests.web.test_dashboard import _commission_world
from tests.web.test_dashboard import _expected

THREADS = 6


def _snapshot() -> list[tuple[str, int, str, object, int]]:
    return [tuple(r) for r in db.session.execute(  # type: ignore[misc]
        select(TaskCount.scope_kind, TaskCount.scope_id, TaskCount.process_id, TaskCount.due_day,
               TaskCount.n).order_by(TaskCount.scope_id, TaskCount.process_id, TaskCount.due_day))]


def test_concurrent_refreshes_leave_one_consistent_snapshot(app: Flask, web_world: World) -> None:
    # issue 14 goal 5: several scheduler processes refresh at the same moment (the cluster
    # runs two): no error, no row twice, the figures those of a live count
    _commission_world(app, web_world, midnight=True)
    barrier = threading.Barrier(THREADS)
    taken: list[bool] = []
    errors: list[BaseException] = []

    def work() -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)  # nothing touches the database before (SQLite's lock)
                taken.append(task_counts.refresh(0.0))
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and len(taken) == THREADS and any(taken)
    with app.app_context():
        rows = _snapshot()
        assert len(rows) == len({r[:4] for r in rows})
        by_day = sorted((r[2], r[3], r[4]) for r in rows if r[1] == web_world.authority_id)
        assert by_day == sorted((d.process_id, d.due_day, d.n)
                                for d in task_counts.live_rows(web_world.authority_id))
        stats = dashboard.commission_stats(user(web_world.officer_id))
        assert not stats.live
        assert [(r.open, r.due_this_week, r.overdue) for r in stats.rows] == [_expected(web_world)]


def test_a_refresh_under_way_elsewhere_is_not_done_twice(app: Flask, web_world: World) -> None:
    # issue 14 goal 5: while one scheduler holds the refresh, another skips it (PostgreSQL:
    # pg_try_advisory_xact_lock; SQLite: the writer lock makes it wait, then finds it fresh)
    _commission_world(app, web_world, midnight=True)
    with app.app_context():
        if is_postgres():
            holder = db.engine.connect()
            tx = holder.begin()
            holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": task_counts.LOCK_KEY})
            try:
                assert not task_counts.refresh(300.0)
                assert task_counts.taken_at() is None
            finally:
                tx.rollback()
                holder.close()
        assert task_counts.refresh(300.0)
        assert not task_counts.refresh(300.0)  # taken a moment ago: the next sweeps skip it
        assert task_counts.taken_at() is not None
