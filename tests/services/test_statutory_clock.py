"""The statutory clock when the calendar changes (行政许可法 第八十二条) and its warnings."""

from __future__ import annotations

from datetime import date
from datetime import datetime

import pytest
import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.models import HumanTask
from app.models import OutboxMessage
from app.services.backoffice import calendar
from app.services.engine import processes
from app.services.engine.clock import CST
from tests.factories import World
from tests.factories import application_payload
from tests.factories import user
from tests.services.test_timers import OVERDUE
from tests.services.test_timers import REMINDER
from tests.services.test_timers import _clock
from tests.services.test_timers import _instance
from tests.services.test_timers import _messages
from tests.services.test_timers import _open_task
from tests.services.test_timers import _waiting_on_accept


def _at(y: int, m: int, d: int, hour: int = 10) -> time_machine.travel:
    return time_machine.travel(datetime(y, m, d, hour, 0, tzinfo=CST), tick=False)


def test_entering_a_year_moves_running_due_dates_and_timers(world: World) -> None:
    # 行政许可法 第八十二条 / 第四十二条 — R-11: working days exclude the holidays of a year
    # entered later; running cases are counted again, none is marked 已超期 early
    assert 2027 in calendar.current().missing_years([2027])
    with _at(2026, 12, 18):
        iid = _waiting_on_accept(world)
    assert _instance(iid).due_on == date(2027, 1, 15)  # 2027-01-01 counted as a working day
    task = _open_task(iid)
    assert task.due_at == datetime(2027, 1, 16, tzinfo=CST)

    with _at(2026, 12, 20):
        calendar.enter_year(user(world.admin_id), 2027, [date(2027, 1, 1)], [])
    inst = _instance(iid)
    assert inst.due_on == date(2027, 1, 18)
    assert _clock(iid)["overdue_at"] == datetime(2027, 1, 19, tzinfo=CST).isoformat()
    assert _clock(iid)["remind_at"] == datetime(2027, 1, 11, tzinfo=CST).isoformat()
    assert inst.next_timer_at == datetime(2027, 1, 11, tzinfo=CST)
    db.session.expire_all()
    assert _open_task(iid).due_at == datetime(2027, 1, 19, tzinfo=CST)
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "clock.recounted"))
    assert audit is not None and audit.detail["due_before"] == "2027-01-15"
    assert audit.detail["due_after"] == "2027-01-18"

    # the old moments pass without a reminder or 已超期
    with _at(2027, 1, 8, 12):
        processes.fire_timers(iid)
    assert _messages(REMINDER, iid) == []
    with _at(2027, 1, 11, 1):
        assert processes.fire_timers(iid) is True
    assert len(_messages(REMINDER, iid)) == 1
    with _at(2027, 1, 16, 12):
        processes.fire_timers(iid)
        assert _instance(iid).overdue is False and _messages(OVERDUE, iid) == []
    with _at(2027, 1, 19, 1):
        assert processes.fire_timers(iid) is True
        assert _instance(iid).overdue is True
    assert len(_messages(OVERDUE, iid)) == 1


def test_a_failed_recount_leaves_the_calendar_unchanged(world: World) -> None:
    # 行政许可法 第八十二条 — R-11: one transaction: calendar and due dates change together
    with _at(2026, 12, 18):
        iid = _waiting_on_accept(world)

    def broken(*_a: object, **_k: object) -> list[object]:
        raise RuntimeError("recount failed")

    mp = pytest.MonkeyPatch()
    mp.setattr(processes, "recount_clocks", broken)
    try:
        with _at(2026, 12, 20), pytest.raises(RuntimeError):
            calendar.enter_year(user(world.admin_id), 2027, [date(2027, 1, 1)], [])
    finally:
        mp.undo()
    calendar.invalidate()
    assert 2027 in calendar.current().missing_years([2027])
    assert _instance(iid).due_on == date(2027, 1, 15)
    assert db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == iid))


def test_next_years_calendar_is_awaited_from_1_october() -> None:
    # 行政许可法 第八十二条 — R-11: the administrator is warned from 1 October of the year before
    assert calendar.years_to_check(date(2026, 9, 30)) == [2026]
    assert calendar.years_to_check(date(2026, 10, 1)) == [2026, 2027]
    assert calendar.years_to_check(date(2026, 12, 31)) == [2026, 2027]
    assert calendar.years_to_check(date(2027, 1, 1)) == [2027]


def test_after_correction_the_clock_counts_from_acceptance(world: World) -> None:
    # 行政许可法 第三十二条、第四十二条 —: 补正 pauses; the twenty working days run
    # from 受理 of the corrected application, and the applicant is told that day
    with _at(2026, 11, 6):  # Friday: received
        iid = _waiting_on_accept(world)
    assert _instance(iid).due_on == date(2026, 12, 4)
    with _at(2026, 11, 9):
        processes.complete_task(user(world.officer_id), _open_task(iid).id,
                                {"decision": "correct", "note": "请补充完整的聘用证明",
                                 "fields": ["employment_proof"]})
    with _at(2026, 11, 11):
        processes.complete_task(user(world.doctor_id), _open_task(iid).id,
                                application_payload(world, world.doctor_id))
    inst = _instance(iid)
    assert inst.received_on == date(2026, 11, 11) and inst.due_on == date(2026, 12, 8)
    with _at(2026, 11, 12):
        processes.complete_task(user(world.officer_id), _open_task(iid).id,
                                {"decision": "accept"})
    inst = _instance(iid)
    assert inst.accepted_on == date(2026, 11, 12) and inst.due_on == date(2026, 12, 10)
    task = _open_task(iid)
    assert task.task_spec_id == "commission_decide"
    assert task.due_at == datetime(2026, 12, 11, tzinfo=CST)
    assert inst.next_timer_at == datetime(2026, 12, 3, tzinfo=CST)  # day 15 after 受理
    body = db.session.scalar(select(OutboxMessage.body).where(
        OutboxMessage.subject == "受理通知", OutboxMessage.channel == "inbox"))
    assert body is not None and "已于2026年11月12日受理" in body and "2026年12月10日" in body
    with _at(2026, 12, 9, 12):  # the old due day (12-08) has passed: not 已超期
        processes.fire_timers(iid)
        assert _instance(iid).overdue is False
