"""The commission's dashboard counts open, due-this-week and overdue applications by type."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.services.engine import processes
from app.services.inbox import dashboard
from app.services.inbox import tasks
from app.services.platform import scheduler
from app.services.platform import task_counts
from tests.conftest import WebClient
from tests.factories import CONFIRMED
from tests.factories import World
from tests.factories import application_payload
from tests.factories import user
from tests.statements import selects_of

CST = ZoneInfo("Asia/Shanghai")


def test_counts_by_type(app: Flask, web_world: World) -> None:
    with app.app_context():
        iid = processes.start_application(user(web_world.doctor_id), "registration",
                                          application_payload(web_world, web_world.doctor_id)
                                          ).instance_id
        task = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == iid))
        open_task = db.session.scalar(select(HumanTask.id).where(
            HumanTask.instance_id == iid, HumanTask.status == "open"))
        assert task and open_task
        processes.complete_task(user(web_world.staff_id), open_task, CONFIRMED)
        [row] = dashboard.commission_stats(user(web_world.officer_id)).rows
        assert (row.name, row.open, row.due_this_week, row.overdue) == ("注册", 1, 0, 0)
        with time_machine.travel(datetime.now(UTC) + timedelta(days=26), tick=False):
            [row] = dashboard.commission_stats(user(web_world.officer_id)).rows
            assert row.due_this_week + row.overdue == 1
        with time_machine.travel(datetime.now(UTC) + timedelta(days=60), tick=False):
            [row] = dashboard.commission_stats(user(web_world.officer_id)).rows
            assert row.overdue == 1
        assert dashboard.commission_stats(user(web_world.other_officer_id)).rows == []
    officer = WebClient(app.test_client())
    officer.login("weijian01")
    text = officer.get("/inbox/dashboard").get_data(as_text=True)
    assert "办理统计" in text and "<svg" in text and "注册" in text
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    assert staff.get("/inbox/dashboard").status_code == 403


def _due_at(i: int, midnight: bool) -> datetime | None:
    """Task ``i``'s due moment: none, ``i - 15`` days from now, or (``midnight``) the start
    of the day after day today + ``i - 15`` in 北京时间, as the statutory clock sets it."""
    from app.models.base import utcnow

    if i % 7 == 0:
        return None
    if not midnight:
        return utcnow() + timedelta(days=i - 15)
    last = task_counts.today() + timedelta(days=i - 15)
    return datetime.combine(last + timedelta(days=1), time(0), CST).astimezone(UTC)


def _expected(w: World) -> tuple[int, int, int]:
    """What _commission_world(midnight=True) leaves w's commission: 待办, 7日内到期, 已超期
    (the two registrations' own tasks are due in about 20 working days)."""
    ours = [i for i in range(40) if i % 5 and i % 6]
    dated = [i - 15 for i in ours if i % 7]
    return 2 + len(ours), len([k for k in dated if 0 <= k <= 6]), len([k for k in dated if k < 0])


def _commission_world(app: Flask, w: World, midnight: bool = False) -> None:
    """Two registrations at the commission, plus open tasks due at every distance, done ones
    and another commission's."""
    from app.models import TaskStatus
    from app.models.base import utcnow

    with app.app_context():
        iids = []
        for doctor in (w.doctor_id, w.doctor2_id):
            iid = processes.start_application(user(doctor), "registration",
                                              application_payload(w, doctor)).instance_id
            task = db.session.scalar(select(HumanTask.id).where(
                HumanTask.instance_id == iid, HumanTask.status == "open"))
            assert task
            processes.complete_task(user(w.staff_id), task, CONFIRMED)
            iids.append(iid)
        now = utcnow()
        for i in range(40):
            db.session.add(HumanTask(
                instance_id=iids[i % 2], process_id="registration", task_guid=f"dash-{i}",
                task_spec_id="commission_accept", title="卫健委受理", lane="commission",
                form_id="commission_accept", scope_kind="authority",
                scope_id=w.other_authority_id if i % 5 == 0 else w.authority_id,
                status=TaskStatus.COMPLETED if i % 6 == 0 else TaskStatus.OPEN,
                due_at=_due_at(i, midnight), created_at=now))
        db.session.commit()


def test_counts_match_a_count_through_the_instances(app: Flask, web_world: World) -> None:
    # issue 14 goal 5 (办理统计 at national scale): the type now read from the task row gives
    # the very figures of the former count that read each task's instance; 7日内到期 is the
    # task list's (now ≤ due_at < now + 7 days), counted by due day: exact for a due_at at the
    # start of a day in 北京时间, which is what the statutory clock sets
    from sqlalchemy import and_
    from sqlalchemy import case
    from sqlalchemy import func

    from app.models import ProcessInstance
    from app.models.base import utcnow

    _commission_world(app, web_world, midnight=True)
    with app.app_context(), time_machine.travel(datetime.now(UTC), tick=False):
        now = utcnow()
        week = now + timedelta(days=7)
        rows = db.session.execute(
            select(ProcessInstance.process_id, func.count(HumanTask.id),
                   func.sum(case((and_(HumanTask.due_at >= now, HumanTask.due_at < week), 1),
                                 else_=0)),
                   func.sum(case((HumanTask.due_at < now, 1), else_=0)))
            .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
            .where(HumanTask.status == "open", HumanTask.scope_kind == "authority",
                   HumanTask.scope_id == web_world.authority_id)
            .group_by(ProcessInstance.process_id)).all()
        expected = [(pid, int(n), int(soon), int(late)) for pid, n, soon, late in rows]
        got = [(r.process_id, r.open, r.due_this_week, r.overdue)
               for r in dashboard.commission_stats(user(web_world.officer_id)).rows]
        assert got == expected
        assert got[0][1] > 20 and got[0][2] > 0 and got[0][3] > 0  # every column has something
        # every task row carries its instance's type
        assert db.session.scalar(select(func.count()).select_from(HumanTask).join(
            ProcessInstance, ProcessInstance.id == HumanTask.instance_id).where(
            HumanTask.process_id != ProcessInstance.process_id)) == 0


def test_the_dashboard_page_costs_the_same_queries_however_many_tasks(app: Flask,
                                                                     web_world: World) -> None:
    # issue 14 goal 5: the counts by type are one statement (no read per task or per instance)

    officer = WebClient(app.test_client())
    officer.login("weijian01")

    def selects() -> tuple[list[str], str]:
        return selects_of(app, lambda: officer.get("/inbox/dashboard").get_data(as_text=True))

    empty, _ = selects()
    _commission_world(app, web_world)
    full, page = selects()
    assert "注册" in page
    assert len(full) == len(empty), "\n".join(full)
    [by_type] = [s for s in full if "GROUP BY human_task.process_id" in s]
    assert "process_instance" not in by_type  # no instance read to know a task's type


def test_the_migration_gives_the_tasks_already_stored_their_type(app: Flask, web_world: World) -> None:
    # issue 14 goal 5: tasks written before this release get their instance's process_id
    # (migration 0028, one UPDATE on SQLite and PostgreSQL), so the figures do not change
    import importlib.util
    from pathlib import Path

    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    _commission_world(app, web_world)
    path = Path(__file__).parents[2] / "migrations" / "versions" / "0028_human_task_process_id.py"
    spec = importlib.util.spec_from_file_location("m0028", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with app.app_context(), time_machine.travel(datetime.now(UTC), tick=False):
        before = dashboard.commission_stats(user(web_world.officer_id)).rows
        with Operations.context(MigrationContext.configure(db.session.connection())):
            module.downgrade()
            module.upgrade()
        db.session.commit()
        db.session.expire_all()
        stored = db.session.execute(select(HumanTask.process_id).distinct()).scalars().all()
        assert stored == ["registration"]
        assert dashboard.commission_stats(user(web_world.officer_id)).rows == before
        assert before and before[0].open > 20


def _officer_page(app: Flask) -> str:
    officer = WebClient(app.test_client())
    officer.login("weijian01")
    return officer.get("/inbox/dashboard").get_data(as_text=True)


def _figures(w: World, officer_id: int | None = None) -> list[tuple[str, int, int, int]]:
    return [(r.process_id, r.open, r.due_this_week, r.overdue)
            for r in dashboard.commission_stats(user(officer_id or w.officer_id)).rows]


def test_the_snapshot_gives_the_live_counts_and_the_task_lists(app: Flask, web_world: World) -> None:
    # issue 14 goal 5: 办理统计 reads the scheduler's snapshot (task_count), not every open task
    # of the province; its figures are the live count's: done tasks and another province's
    # tasks are not counted; 已超期 and 7日内到期 are the task list's on the same day
    # (行政许可法 第四十二条: the 20 working days end at the start of the day after the last)
    _commission_world(app, web_world, midnight=True)
    with app.app_context():
        live = _figures(web_world)
        assert dashboard.commission_stats(user(web_world.officer_id)).live
        assert task_counts.refresh()
        stats = dashboard.commission_stats(user(web_world.officer_id))
        assert not stats.live and task_counts.taken_at() == stats.counted_at
        snapshot = _figures(web_world)
        assert snapshot == live == [("registration", *_expected(web_world))]
        header = tasks.inbox_counts(user(web_world.officer_id))  # the officer's task list
        assert (header.open, header.due_soon, header.overdue) == _expected(web_world)
        # the other commission sees its own tasks only (every 5th, open ones)
        assert _figures(web_world, web_world.other_officer_id)[0][1] == len(
            [i for i in range(40) if i % 5 == 0 and i % 6])


def test_the_page_shows_the_snapshot_and_its_time_until_the_next_refresh(
        app: Flask, web_world: World) -> None:
    # issue 14 goal 5: the page says when it counted (统计时间, 北京时间) and how often; a task
    # done after the snapshot still counts until the scheduler's next refresh (documented)
    from app.models import TaskStatus

    page = _officer_page(app)  # no snapshot yet: counted for this page
    assert "统计时间：" in page and "即时统计" in page
    _commission_world(app, web_world, midnight=True)
    taken = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 09:30 in Beijing
    with app.app_context():
        assert task_counts.refresh(now=taken)
        open_, soon, late = _expected(web_world)
    officer = WebClient(app.test_client())
    officer.login("weijian01")
    sent, page = selects_of(app, lambda: officer.get("/inbox/dashboard").get_data(as_text=True))
    assert "统计时间：2026-03-02 09:30（每 5 分钟更新）" in page
    assert not [s for s in sent if "human_task" in s], "\n".join(sent)  # the snapshot alone
    assert f"<td>注册</td><td>{open_}</td>" in page
    with app.app_context():
        task = db.session.scalars(select(HumanTask).where(
            HumanTask.scope_id == web_world.authority_id, HumanTask.status == TaskStatus.OPEN)).first()
        assert task is not None
        task.status = TaskStatus.COMPLETED
        db.session.commit()
        assert not task_counts.refresh(300.0, now=taken + timedelta(seconds=299))  # too soon
    assert f"<td>注册</td><td>{open_}</td>" in _officer_page(app)  # the snapshot's figure
    with app.app_context():
        assert task_counts.refresh(300.0, now=taken + timedelta(seconds=300))
    page = _officer_page(app)
    assert f"<td>注册</td><td>{open_ - 1}</td>" in page and "2026-03-02 09:35" in page


def test_the_scheduler_sweep_refreshes_the_snapshot(app: Flask, web_world: World) -> None:
    # issue 14 goal 5: the scheduler takes the snapshot every MEDREG_STATS_SECONDS
    _commission_world(app, web_world, midnight=True)
    scheduler.sweep(app)
    with app.app_context():
        first = task_counts.taken_at()
        assert first is not None and not dashboard.commission_stats(user(web_world.officer_id)).live
        assert _figures(web_world) == [("registration", *_expected(web_world))]
    scheduler.sweep(app)  # younger than MEDREG_STATS_SECONDS: kept
    with app.app_context():
        assert task_counts.taken_at() == first
    app.config["MEDREG_STATS_SECONDS"] = 0.0
    try:
        scheduler.sweep(app)
    finally:
        app.config["MEDREG_STATS_SECONDS"] = 300.0
    with app.app_context():
        assert (task_counts.taken_at() or first) > first


def test_the_refresh_interval_comes_from_the_environment(app: Flask, web_world: World,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # issue 14 goal 7 (configuration from the environment): MEDREG_STATS_SECONDS, a number of
    # seconds; the page names the interval in minutes
    from app.config import DefaultConfig
    from app.config import from_environment

    monkeypatch.setenv("MEDREG_STATS_SECONDS", "600")
    got = from_environment({"MEDREG_STATS_SECONDS": DefaultConfig.MEDREG_STATS_SECONDS})
    assert got["MEDREG_STATS_SECONDS"] == 600.0
    with app.app_context():
        assert task_counts.refresh()
    app.config["MEDREG_STATS_SECONDS"] = 600.0
    try:
        assert "（每 10 分钟更新）" in _officer_page(app)
    finally:
        app.config["MEDREG_STATS_SECONDS"] = 300.0
