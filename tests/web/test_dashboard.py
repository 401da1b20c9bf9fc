"""The commission's dashboard counts open, due-this-week and overdue applications by type."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import time_machine
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.services.engine import processes
from app.services.inbox import dashboard
from tests.conftest import WebClient
from tests.factories import CONFIRMED
from tests.factories import World
from tests.factories import application_payload
from tests.factories import user
from tests.statements import selects_of


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
        [row] = dashboard.commission_counts(user(web_world.officer_id))
        assert (row.name, row.open, row.due_this_week, row.overdue) == ("注册", 1, 0, 0)
        with time_machine.travel(datetime.now(UTC) + timedelta(days=26), tick=False):
            [row] = dashboard.commission_counts(user(web_world.officer_id))
            assert row.due_this_week + row.overdue == 1
        with time_machine.travel(datetime.now(UTC) + timedelta(days=60), tick=False):
            [row] = dashboard.commission_counts(user(web_world.officer_id))
            assert row.overdue == 1
        assert dashboard.commission_counts(user(web_world.other_officer_id)) == []
    officer = WebClient(app.test_client())
    officer.login("weijian01")
    text = officer.get("/inbox/dashboard").get_data(as_text=True)
    assert "办理统计" in text and "<svg" in text and "注册" in text
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    assert staff.get("/inbox/dashboard").status_code == 403


def _commission_world(app: Flask, w: World) -> None:
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
                due_at=None if i % 7 == 0 else now + timedelta(days=i - 15), created_at=now))
        db.session.commit()


def test_counts_match_a_count_through_the_instances(app: Flask, web_world: World) -> None:
    # issue 14 goal 5 (办理统计 at national scale): the type now read from the task row gives
    # the very figures of the former count that read each task's instance
    from sqlalchemy import case
    from sqlalchemy import func

    from app.models import ProcessInstance
    from app.models.base import utcnow

    _commission_world(app, web_world)
    with app.app_context(), time_machine.travel(datetime.now(UTC), tick=False):
        now = utcnow()
        week = now + timedelta(days=7)
        rows = db.session.execute(
            select(ProcessInstance.process_id, func.count(HumanTask.id),
                   func.sum(case((HumanTask.due_at.between(now, week), 1), else_=0)),
                   func.sum(case((HumanTask.due_at < now, 1), else_=0)))
            .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
            .where(HumanTask.status == "open", HumanTask.scope_kind == "authority",
                   HumanTask.scope_id == web_world.authority_id)
            .group_by(ProcessInstance.process_id)).all()
        expected = [(pid, int(n), int(soon), int(late)) for pid, n, soon, late in rows]
        got = [(r.process_id, r.open, r.due_this_week, r.overdue)
               for r in dashboard.commission_counts(user(web_world.officer_id))]
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
        before = dashboard.commission_counts(user(web_world.officer_id))
        with Operations.context(MigrationContext.configure(db.session.connection())):
            module.downgrade()
            module.upgrade()
        db.session.commit()
        db.session.expire_all()
        stored = db.session.execute(select(HumanTask.process_id).distinct()).scalars().all()
        assert stored == ["registration"]
        assert dashboard.commission_counts(user(web_world.officer_id)) == before
        assert before and before[0].open > 20
