"""The statutory clock's timers: persisted, fired once, paused while returned, any year.

Time is moved with ``time_machine``: ``tick=False`` freezes it where no scheduler
runs; the restart test uses ``tick=True`` so the sweeper thread sees moving time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import chinese_calendar
import pytest
import time_machine
from flask import Flask
from sqlalchemy import func
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.extensions import scheduler_holder
from app.models import HumanTask
from app.models import OutboxMessage
from app.models import ProcessInstance
from app.services.backoffice import calendar
from app.services.backoffice import definitions
from app.services.engine import processes
from app.services.engine.clock import CST
from app.services.platform import scheduler
from app.workflow import Runtime
from tests import conftest
from tests.factories import CONFIRMED
from tests.factories import World
from tests.factories import application_payload
from tests.factories import user
from tests.waiting import wait_until

REMINDER = "办理时限提醒"
OVERDUE = "办理已超期"


def _open_tasks(instance_id: int) -> list[HumanTask]:
    return list(db.session.scalars(select(HumanTask).where(
        HumanTask.instance_id == instance_id, HumanTask.status == "open").order_by(HumanTask.id)))


def _open_task(instance_id: int) -> HumanTask:
    tasks = _open_tasks(instance_id)
    assert len(tasks) == 1, tasks
    return tasks[0]


def _instance(instance_id: int) -> ProcessInstance:
    db.session.expire_all()
    inst = db.session.get(ProcessInstance, instance_id)
    assert inst is not None
    return inst


def _clock(instance_id: int) -> dict[str, Any]:
    """The statutory clock as the workflow holds it."""
    inst = _instance(instance_id)
    row = db.session.get(definitions.ProcessDefinition, inst.definition_id)
    assert row is not None
    data = Runtime.restore(definitions.definition_of(row), inst.workflow_json).latest_data()
    assert isinstance(data.get("clock"), dict), data
    return dict(data["clock"])


def _waiting_on_accept(world: World) -> int:
    """Submit and confirm: the commission's clock runs, commission_accept is open."""
    doctor = user(world.doctor_id)
    iid = processes.start_application(doctor, "registration",
                                      application_payload(world, doctor.id)).instance_id
    processes.complete_task(user(world.staff_id), _open_task(iid).id, CONFIRMED)
    assert _open_task(iid).task_spec_id == "commission_accept"
    return iid


def _messages(subject: str, instance_id: int | None = None) -> list[OutboxMessage]:
    q = select(OutboxMessage).where(OutboxMessage.subject == subject)
    if instance_id is not None:
        q = q.where(OutboxMessage.body.like(f"%编号 {instance_id}）%"))
    return list(db.session.scalars(q.order_by(OutboxMessage.id)))


def _per_recipient(subject: str) -> dict[int | None, int]:
    rows = db.session.execute(
        select(OutboxMessage.recipient_user_id, func.count())
        .where(OutboxMessage.subject == subject).group_by(OutboxMessage.recipient_user_id))
    return {uid: n for uid, n in rows}


def _sweeper_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "APScheduler" and t.is_alive()]


def _mon_to_fri(start: date, n: int) -> date:
    """The n-th Monday-to-Friday day after ``start`` (no holidays at all)."""
    day = start
    while n:
        day += timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def _official(start: date, n: int) -> date:
    """The n-th working day after ``start`` by chinese_calendar (years it knows only)."""
    day = start
    while n:
        day += timedelta(days=1)
        if chinese_calendar.is_workday(day):
            n -= 1
    return day


def _official_between(start: date, end: date) -> int:
    return sum(chinese_calendar.is_workday(start + timedelta(days=i))
               for i in range(1, (end - start).days + 1))


@pytest.fixture()
def no_sweeper() -> Iterator[None]:
    """No scheduler runs before the test, and none survives it."""
    assert _sweeper_threads() == []
    assert scheduler_holder == {}
    yield
    wait_until(lambda: not _sweeper_threads(), "the sweeper threads of the test ending",
               interval=0.05)
    assert scheduler_holder == {}


def test_timer_survives_restart(app: Flask, world: World, no_sweeper: None,
                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="medreg")
    before = datetime.now(CST).date()
    iid = _waiting_on_accept(world)
    clock = _clock(iid)
    assert clock["started_on"] in {before.isoformat(), datetime.now(CST).date().isoformat()}
    remind_at = datetime.fromisoformat(clock["remind_at"])
    overdue_at = datetime.fromisoformat(clock["overdue_at"])
    inst = _instance(iid)
    assert inst.next_timer_at == remind_at
    assert _messages(REMINDER) == []
    target = remind_at + timedelta(hours=3)
    assert remind_at < target < overdue_at
    db.session.remove()

    # "Restart": a fresh app on the same database, with its own sweeper.
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    tmp = Path(app.config["MEDREG_UPLOAD_DIR"]).parent
    config = {**conftest.test_config(tmp, url), "MEDREG_SCHEDULER": True,
              "MEDREG_SWEEP_SECONDS": 0.2}
    with time_machine.travel(target, tick=True):
        new_app = create_app(config)
        try:
            assert str(id(new_app)) in scheduler_holder
            assert len(_sweeper_threads()) == 1
            def reminded() -> bool:
                fired = bool(_messages(REMINDER, iid))
                db.session.rollback()  # on SQLite an open transaction blocks the sweeper
                return fired

            wait_until(reminded, "the sweeper of the restarted app firing the reminder",
                       interval=0.1)
            time.sleep(1.5)  # several more sweeps
            db.session.rollback()
            assert _per_recipient(REMINDER) == {world.officer_id: 1}
            assert _messages(OVERDUE) == []
            inst = _instance(iid)
            assert inst.next_timer_at == overdue_at
            assert inst.error is None and inst.overdue is False
            assert _open_task(iid).task_spec_id == "commission_accept"
        finally:
            db.session.rollback()  # the sweeper must not wait on our transaction (SQLite)
            scheduler.stop(new_app)
            with new_app.app_context():
                db.session.remove()
                db.engine.dispose()
    db.session.rollback()
    assert _sweeper_threads() == []
    assert _per_recipient(REMINDER) == {world.officer_id: 1}
    failures = [r.getMessage() for r in caplog.records
                if r.name == "medreg.scheduler" and r.levelno >= logging.WARNING]
    assert failures == [], "a sweep failed"
    # The sweeper also dispatched the reminder from the outbox.
    assert [m.status for m in _messages(REMINDER, iid)] == ["sent"]


def test_overdue_marks_instance_and_keeps_task_open(world: World) -> None:
    iid = _waiting_on_accept(world)
    task_id = _open_task(iid).id
    overdue_at = datetime.fromisoformat(_clock(iid)["overdue_at"])
    with time_machine.travel(overdue_at + timedelta(hours=1), tick=False):
        assert processes.fire_timers(iid) is True
        inst = _instance(iid)
        assert inst.overdue is True and inst.error is None
        assert [m.recipient_user_id for m in _messages(OVERDUE, iid)] == [world.officer_id]
        # Both timers were due: the reminder went out too, once.
        assert [m.recipient_user_id for m in _messages(REMINDER, iid)] == [world.officer_id]
        # Non-interrupting: the commission can still accept.
        task = _open_task(iid)
        assert (task.id, task.task_spec_id) == (task_id, "commission_accept")
        assert inst.business_status == "待卫健委受理" and inst.completed_at is None
        # Nothing is left to fire, so a sweeper would not pick it up again.
        assert iid not in processes.due_instance_ids(datetime.now(CST))
        processes.fire_timers(iid)
        assert len(_messages(OVERDUE, iid)) == 1 and len(_messages(REMINDER, iid)) == 1
    processes.complete_task(user(world.officer_id), task_id, {"decision": "accept"})
    assert _open_task(iid).task_spec_id == "commission_decide"


def test_clock_paused_while_with_physician(world: World) -> None:
    # Tuesday 28 April 2026; the pause spans the Labour Day holiday (1-5 May).
    started = date(2026, 4, 28)
    with time_machine.travel(datetime(2026, 4, 28, 10, 0, tzinfo=CST), tick=False):
        iid = _waiting_on_accept(world)
    clock = _clock(iid)
    assert clock["started_on"] == started.isoformat()
    assert _instance(iid).due_on == _official(started, 20)

    paused_on = date(2026, 4, 29)
    with time_machine.travel(datetime(2026, 4, 29, 9, 30, tzinfo=CST), tick=False):
        processes.complete_task(user(world.officer_id), _open_task(iid).id,
                                {"decision": "correct", "note": "请补充完整的聘用证明",
                                 "fields": ["employment_proof"]})
    inst = _instance(iid)
    task = _open_task(iid)
    assert task.task_spec_id == "physician_supplement"
    assert (task.scope_kind, task.scope_id) == ("user", world.doctor_id)
    assert inst.clock_paused is True
    assert inst.next_timer_at is None
    assert inst.business_status == "待补正材料"
    assert [t for t in _open_tasks(iid) if t.lane == "commission"] == []
    assert _clock(iid)["paused_on"] == paused_on.isoformat()
    # No timer while the application is with the physician.
    assert iid not in processes.due_instance_ids(datetime(2026, 6, 30, tzinfo=CST))

    resumed_on = date(2026, 5, 8)
    with time_machine.travel(datetime(2026, 5, 8, 15, 0, tzinfo=CST), tick=False):
        processes.complete_task(user(world.doctor_id), task.id,
                                application_payload(world, world.doctor_id))
    spent = _official_between(paused_on, resumed_on)
    assert spent == 4  # 30 April, 6, 7 and 8 May
    inst = _instance(iid)
    task = _open_task(iid)
    assert task.task_spec_id == "commission_accept"
    assert inst.clock_paused is False
    expected_due = _official(started, 20 + spent)
    assert inst.due_on == expected_due
    assert expected_due > _official(started, 20)
    clock = _clock(iid)
    assert clock["paused_on"] is None and clock["paused_days"] == spent
    remind_at = datetime.combine(_official(started, 15 + spent), datetime.min.time(), CST)
    overdue_at = datetime.combine(expected_due + timedelta(days=1), datetime.min.time(), CST)
    assert datetime.fromisoformat(clock["remind_at"]) == remind_at
    assert inst.next_timer_at == remind_at
    assert task.due_at == overdue_at


def test_deadline_in_a_year_without_data_never_crashes(world: World) -> None:
    start = date(2026, 12, 21)
    assert calendar.current().missing_years([2027]) == [2027]
    # chinese_calendar has no holiday or make-up day left in 2026 after the start.
    assert all(chinese_calendar.is_workday(start + timedelta(days=i))
               == ((start + timedelta(days=i)).weekday() < 5) for i in range(1, 11))
    with time_machine.travel(datetime(2026, 12, 21, 10, 0, tzinfo=CST), tick=False):
        iid = _waiting_on_accept(world)
    inst = _instance(iid)
    assert inst.error is None
    expected_due = _mon_to_fri(start, 20)
    assert expected_due == date(2027, 1, 18)
    assert inst.due_on == expected_due
    remind_at = datetime.combine(_mon_to_fri(start, 15), datetime.min.time(), CST)
    assert inst.next_timer_at == remind_at
    assert _open_task(iid).due_at == datetime.combine(
        expected_due + timedelta(days=1), datetime.min.time(), CST)

    # The timers in 2027 fire as well.
    for moment in (remind_at + timedelta(hours=1),
                   datetime(2027, 1, 19, 8, 0, tzinfo=CST)):
        with time_machine.travel(moment, tick=False):
            assert processes.fire_timers(iid) is True
    inst = _instance(iid)
    assert inst.error is None and inst.overdue is True
    assert len(_messages(REMINDER, iid)) == 1 and len(_messages(OVERDUE, iid)) == 1
    assert _open_task(iid).task_spec_id == "commission_accept"
