"""Scenarios of bpmn/registration.bpmn, driven through the engine.

Every scenario travels in time (time_machine, tick=False) so the statutory clock,
which the diagram starts with ``today()`` (Beijing date), is deterministic.
Expected dates are computed here from ``chinese_calendar.is_workday`` directly.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any

import chinese_calendar
import pytest
import time_machine

from app.errors import InvalidInput
from app.workflow import WorkflowError
from workflows_tests.conftest import APPLICATION
from workflows_tests.conftest import Driver
from workflows_tests.conftest import flow_node_ids
from workflows_tests.conftest import sequence_flows

# 2026-03-02 10:00 in Beijing, a Monday.
MONDAY = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)

CONFIRM = {"decision": "confirm", "paper_held": True}  # holds the signed 申请审核表
RETURN = {"decision": "return", "note": "聘用证明未盖章", "fields": ["employment_proof"]}
INST_REFUSE = {"decision": "refuse", "note": "本人不在本机构执业"}
ACCEPT = {"decision": "accept"}
CORRECT = {"decision": "correct", "note": "请补交聘用证明原件扫描件", "fields": ["employment_proof"]}
REJECT = {"decision": "reject", "note": "不属于本机关受理范围"}
APPROVE = {"decision": "approve"}
REFUSE = {"decision": "refuse", "note": "存在不予注册情形，可依法申请行政复议"}


# -- independent expectations ---------------------------------------------------------


def nth_workday_after(start: date, n: int) -> date:
    """The n-th working day after ``start`` (``start`` itself not counted)."""
    day = start
    while n > 0:
        day += timedelta(days=1)
        if chinese_calendar.is_workday(day):
            n -= 1
    return day


def workdays_in(after: date, up_to: date) -> int:
    """Working days in the interval (after, up_to]."""
    return sum(chinese_calendar.is_workday(after + timedelta(days=i))
               for i in range(1, (up_to - after).days + 1))


def beijing_midnight(day: date) -> str:
    return f"{day.isoformat()}T00:00:00+08:00"


def at(when: datetime) -> Any:
    return time_machine.travel(when, tick=False)


def outcomes(driver: Driver) -> list[str]:
    return [p["outcome"] for p in driver.called("close_application")]


def statutory_calls(driver: Driver) -> list[tuple[str, str]]:
    return [(c.name, c.params["due"]) for c in driver.calls
            if c.name in ("statutory_reminder", "statutory_overdue")]


def assert_finished(driver: Driver, outcome: str) -> None:
    assert driver.completed
    assert driver.ready() == []
    assert outcomes(driver) == [outcome]
    registrations = driver.called("apply_registration")
    assert len(registrations) == (1 if outcome == "approved" else 0)
    if outcome == "approved":
        names = [c.name for c in driver.calls]
        assert names.index("apply_registration") < names.index("close_application")


def to_commission(driver: Driver) -> None:
    driver.start(APPLICATION)
    assert driver.ready() == ["institution_confirm"]
    driver.complete("institution_confirm", "institution", CONFIRM)
    assert driver.ready() == ["commission_accept"]


# -- institution ------------------------------------------------------------------------


def test_institution_refuses(driver: Driver) -> None:
    with at(MONDAY):
        driver.start(APPLICATION)
        assert driver.calls == []
        driver.complete("institution_confirm", "institution", INST_REFUSE)
    assert_finished(driver, "inst_refused")
    assert "clock" not in driver.data


def test_institution_returns_and_physician_resubmits(driver: Driver) -> None:
    with at(MONDAY):
        driver.start(APPLICATION)
        driver.complete("institution_confirm", "institution", RETURN)
        assert driver.ready() == ["physician_apply"]
        assert driver.runtime.ready_tasks()[0].status == "已退回补正"
        assert driver.calls == []
        driver.complete("physician_apply", "physician", {**APPLICATION, "department_id": 3})
        assert driver.ready() == ["institution_confirm"]
        driver.complete("institution_confirm", "institution", RETURN)
        driver.complete("physician_apply", "physician", {**APPLICATION, "department_id": 4})
        driver.complete("institution_confirm", "institution", CONFIRM)
        assert driver.ready() == ["commission_accept"]
        assert driver.task("commission_accept").data["department_id"] == 4
        driver.complete("commission_accept", "commission", ACCEPT)
        driver.complete("commission_decide", "commission", APPROVE)
    assert_finished(driver, "approved")


# -- withdrawal (both message boundary events) --------------------------------------


def test_withdraw_while_institution_confirms(driver: Driver) -> None:
    with at(MONDAY):
        driver.start(APPLICATION)
        assert driver.runtime.waiting_messages() == {"withdraw"}
        driver.message("withdraw", {"by": 1})
    assert_finished(driver, "withdrawn")


def test_withdraw_after_institution_return(driver: Driver) -> None:
    with at(MONDAY):
        driver.start(APPLICATION)
        driver.complete("institution_confirm", "institution", RETURN)
        assert driver.ready() == ["physician_apply"]
        assert driver.runtime.waiting_messages() == {"withdraw"}
        driver.message("withdraw", {"by": 1})
    assert_finished(driver, "withdrawn")


def test_no_withdrawal_once_the_institution_confirmed(driver: Driver) -> None:
    with at(MONDAY):
        to_commission(driver)
        assert driver.runtime.waiting_messages() == set()
        with pytest.raises(WorkflowError):
            driver.runtime.send_message("withdraw")
    assert driver.ready() == ["commission_accept"]


# -- commission -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "decide", "outcome"),
    [
        (REJECT, None, "not_accepted"),
        (ACCEPT, APPROVE, "approved"),
        (ACCEPT, REFUSE, "refused"),
    ],
    ids=["reject", "approve", "refuse"],
)
def test_commission_outcomes(driver: Driver, accept: dict[str, Any],
                             decide: dict[str, Any] | None, outcome: str) -> None:
    # 行政许可法 第三十二条、第三十四条: 受理 / 不予受理 with its reason / 一次性告知补正
    with at(MONDAY):
        to_commission(driver)
        driver.complete("commission_accept", "commission", accept)
        if decide is not None:
            assert driver.ready() == ["commission_decide"]
            driver.complete("commission_decide", "commission", decide)
    assert_finished(driver, outcome)


def test_commission_correction_pauses_the_clock(driver: Driver) -> None:
    paused_on = date(2026, 3, 20)  # Friday
    resumed_on = date(2026, 4, 8)  # after Qingming (2026-04-06 is a holiday)
    with at(MONDAY) as tm:
        to_commission(driver)
        before = driver.data["clock"]
        tm.move_to(datetime(2026, 3, 20, 2, 0, tzinfo=UTC))
        driver.complete("commission_accept", "commission", CORRECT)
        assert driver.ready() == ["physician_supplement"]
        supplement = driver.task("physician_supplement")
        assert supplement.status == "待补正材料"
        assert supplement.data["clock"]["paused_on"] == paused_on.isoformat()
        assert driver.runtime.next_timer_at() is None

        # The old reminder and overdue moments pass while the physician has it: nothing fires.
        tm.move_to(datetime.fromisoformat(before["overdue_at"]) + timedelta(days=1))
        driver.fire_timers()
        assert statutory_calls(driver) == []

        tm.move_to(datetime(2026, 4, 8, 2, 0, tzinfo=UTC))
        driver.complete("physician_supplement", "physician", APPLICATION)
        assert driver.ready() == ["commission_accept"]
        after = driver.data["clock"]

        paused = workdays_in(paused_on, resumed_on)
        assert paused == 12
        assert after["paused_on"] is None
        assert after["paused_days"] == paused
        assert after["started_on"] == before["started_on"]
        started = date.fromisoformat(before["started_on"])
        assert after["due_on"] == nth_workday_after(started, 20 + paused).isoformat()
        assert after["remind_at"] == beijing_midnight(nth_workday_after(started, 15 + paused))
        assert (date.fromisoformat(after["due_on"]) - date.fromisoformat(before["due_on"])
                ).days > paused  # moved by working days, i.e. more calendar days
        # The re-entered acceptance waits on the moved reminder.
        assert driver.runtime.next_timer_at() == datetime.fromisoformat(after["remind_at"])

        driver.complete("commission_accept", "commission", CORRECT)
        assert driver.ready() == ["physician_supplement"]
        driver.complete("physician_supplement", "physician", APPLICATION)
        assert driver.data["clock"]["paused_days"] == paused  # same day: nothing more
        driver.complete("commission_accept", "commission", ACCEPT)
        driver.complete("commission_decide", "commission", REFUSE)
    assert_finished(driver, "refused")


# -- the statutory clock ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "received"),
    [
        (MONDAY, date(2026, 3, 2)),
        # 01:00 in Beijing is still the previous day in UTC: the Beijing date counts.
        (datetime(2026, 3, 1, 17, 0, tzinfo=UTC), date(2026, 3, 2)),
        # Labour Day holiday and a make-up working Saturday.
        (datetime(2026, 4, 27, 2, 0, tzinfo=UTC), date(2026, 4, 27)),
        # Mid-Autumn and National Day.
        (datetime(2026, 9, 21, 2, 0, tzinfo=UTC), date(2026, 9, 21)),
    ],
    ids=["monday", "beijing-date", "labour-day", "national-day"],
)
def test_clock_counts_twenty_working_days(driver: Driver, now: datetime,
                                          received: date) -> None:
    with at(now):
        to_commission(driver)
    clock = driver.data["clock"]
    due = nth_workday_after(received, 20)
    assert clock["started_on"] == received.isoformat()
    assert clock["paused_days"] == 0
    assert clock["due_on"] == due.isoformat()
    assert clock["remind_at"] == beijing_midnight(nth_workday_after(received, 15))
    assert clock["overdue_at"] == beijing_midnight(due + timedelta(days=1))
    assert driver.task("commission_accept").data["clock"] == clock


# -- timers (non-interrupting) -------------------------------------------------------------


def _reach(stage: str, driver: Driver) -> None:
    to_commission(driver)
    if stage == "commission_decide":
        driver.complete("commission_accept", "commission", ACCEPT)
    assert driver.ready() == [stage]


@pytest.mark.parametrize("stage", ["commission_accept", "commission_decide"])
def test_reminder_and_overdue_timers(driver: Driver, stage: str) -> None:
    with time_machine.travel(MONDAY, tick=False) as tm:
        _reach(stage, driver)
        clock = driver.data["clock"]
        remind_at = datetime.fromisoformat(clock["remind_at"])
        overdue_at = datetime.fromisoformat(clock["overdue_at"])
        assert driver.runtime.next_timer_at() == remind_at

        tm.move_to(remind_at - MINUTE)
        driver.fire_timers()
        assert statutory_calls(driver) == []

        tm.move_to(remind_at + MINUTE)
        driver.fire_timers()
        assert statutory_calls(driver) == [("statutory_reminder", clock["remind_at"])]
        assert driver.ready() == [stage]
        assert driver.runtime.next_timer_at() == overdue_at

        tm.move_to(overdue_at - MINUTE)
        driver.fire_timers()
        assert len(statutory_calls(driver)) == 1

        tm.move_to(overdue_at + MINUTE)
        driver.fire_timers()
        assert statutory_calls(driver) == [("statutory_reminder", clock["remind_at"]),
                                           ("statutory_overdue", clock["overdue_at"])]
        assert driver.ready() == [stage]
        assert driver.runtime.next_timer_at() is None

        tm.move_to(overdue_at + timedelta(days=30))
        driver.fire_timers()
        assert len(statutory_calls(driver)) == 2  # each timer fires once

        if stage == "commission_accept":
            driver.complete("commission_accept", "commission", REJECT)
            assert_finished(driver, "not_accepted")
        else:
            driver.complete("commission_decide", "commission", APPROVE)
            assert_finished(driver, "approved")
    assert len(statutory_calls(driver)) == 2


def test_late_acceptance_repeats_reminder_and_overdue(driver: Driver) -> None:
    """Documents current behaviour: the decision stage has its own timers on the same
    clock, so an application accepted after its deadline is reminded and marked
    overdue a second time the moment it is accepted."""
    with time_machine.travel(MONDAY, tick=False) as tm:
        to_commission(driver)
        clock = driver.data["clock"]
        tm.move_to(datetime.fromisoformat(clock["overdue_at"]) + MINUTE)
        driver.fire_timers()
        assert len(statutory_calls(driver)) == 2
        driver.complete("commission_accept", "commission", ACCEPT)
        assert driver.ready() == ["commission_decide"]
    assert statutory_calls(driver) == [("statutory_reminder", clock["remind_at"]),
                                       ("statutory_overdue", clock["overdue_at"])] * 2


def test_correction_after_the_reminder_reminds_again_on_resumption(driver: Driver) -> None:
    """Documents current behaviour: the remaining days after a correction are fewer than
    the five between reminder and deadline, so re-entering acceptance reminds at once."""
    with time_machine.travel(MONDAY, tick=False) as tm:
        to_commission(driver)
        first = driver.data["clock"]["remind_at"]
        tm.move_to(datetime(2026, 3, 25, 2, 0, tzinfo=UTC))  # after the day-15 reminder
        driver.fire_timers()
        driver.complete("commission_accept", "commission", CORRECT)
        tm.move_to(datetime(2026, 3, 26, 2, 0, tzinfo=UTC))
        driver.complete("physician_supplement", "physician", APPLICATION)
        moved = driver.data["clock"]["remind_at"]
        assert driver.ready() == ["commission_accept"]
    assert moved == beijing_midnight(nth_workday_after(date(2026, 3, 2), 16))
    assert statutory_calls(driver) == [("statutory_reminder", first),
                                       ("statutory_reminder", moved)]


# -- invalid data never reaches a gateway -----------------------------------------------------


def _at_institution(driver: Driver) -> None:
    driver.start(APPLICATION)


def _at_physician_apply(driver: Driver) -> None:
    driver.start(APPLICATION)
    driver.complete("institution_confirm", "institution", RETURN)


def _at_accept(driver: Driver) -> None:
    to_commission(driver)


def _at_decide(driver: Driver) -> None:
    to_commission(driver)
    driver.complete("commission_accept", "commission", ACCEPT)


@pytest.mark.parametrize(
    ("reach", "spec_id", "lane", "data", "field"),
    [
        (_at_institution, "institution_confirm", "institution", {"decision": "maybe"},
         "decision"),
        (_at_institution, "institution_confirm", "institution", {"decision": "return"}, "note"),
        (_at_institution, "institution_confirm", "institution", {}, "decision"),
        (_at_accept, "commission_accept", "commission", {"decision": "maybe"}, "decision"),
        (_at_accept, "commission_accept", "commission", {"decision": "reject"}, "note"),
        (_at_decide, "commission_decide", "commission", {"decision": "maybe"}, "decision"),
        (_at_decide, "commission_decide", "commission", {"decision": "refuse", "note": "x"},
         "note"),
        (_at_physician_apply, "physician_apply", "physician",
         {**APPLICATION, "contact_mobile": "12345"}, "contact_mobile"),
        (_at_physician_apply, "physician_apply", "physician",
         {**APPLICATION, "declare_no_bar": False}, "declare_no_bar"),
    ],
    ids=["inst-maybe", "inst-return-no-note", "inst-empty", "accept-maybe",
         "reject-no-note", "decide-maybe", "refuse-short-note", "bad-mobile",
         "no-declaration"],
)
def test_invalid_form_data_is_refused_before_the_engine(
        driver: Driver, reach: Callable[[Driver], None], spec_id: str, lane: str,
        data: dict[str, Any], field: str) -> None:
    with at(MONDAY):
        reach(driver)
        dump, ready, calls = driver.runtime.dump(), driver.ready(), list(driver.calls)
        with pytest.raises(InvalidInput) as exc:
            driver.complete(spec_id, lane, data)
        assert field in exc.value.errors
        assert driver.runtime.dump() == dump
        assert driver.ready() == ready == [spec_id]
        assert driver.calls == calls


@pytest.mark.parametrize(("reach", "spec_id"), [(_at_institution, "institution_confirm"),
                                                 (_at_accept, "commission_accept"),
                                                 (_at_decide, "commission_decide")])
def test_gateways_have_no_default_flow(driver: Driver, reach: Callable[[Driver], None],
                                       spec_id: str) -> None:
    """Why the form gate matters: a decision no condition matches stops the engine."""
    with at(MONDAY):
        reach(driver)
        task = driver.task(spec_id)
        with pytest.raises(WorkflowError):
            driver.runtime.complete(task.id, {"decision": "maybe"})
    assert not driver.completed
    assert driver.called("close_application") == []


def test_start_data_is_validated(driver: Driver) -> None:
    with pytest.raises(InvalidInput) as exc:
        driver.start({**APPLICATION, "practice_scopes": []})
    assert "practice_scopes" in exc.value.errors
    assert driver.rt is None


def test_tasks_are_in_their_lanes(driver: Driver) -> None:
    with at(MONDAY):
        driver.start(APPLICATION)
        with pytest.raises(AssertionError, match="lane institution"):
            driver.complete("institution_confirm", "physician", CONFIRM)
    assert driver.ready() == ["institution_confirm"]


# -- coverage of the diagram by the scenarios above ---------------------------------------------


SCENARIOS: list[tuple[Callable[..., None], dict[str, Any]]] = [
    (test_institution_refuses, {}),
    (test_institution_returns_and_physician_resubmits, {}),
    (test_withdraw_while_institution_confirms, {}),
    (test_withdraw_after_institution_return, {}),
    (test_commission_correction_pauses_the_clock, {}),
    *[(test_commission_outcomes, {"accept": a, "decide": d, "outcome": o})
      for a, d, o in [(REJECT, None, "not_accepted"), (ACCEPT, APPROVE, "approved"),
                      (ACCEPT, REFUSE, "refused")]],
    *[(test_reminder_and_overdue_timers, {"stage": s})
      for s in ["commission_accept", "commission_decide"]],
]


def test_scenarios_reach_every_flow_node_and_flow() -> None:
    visited: set[str] = set()
    taken: set[tuple[str, str]] = set()
    for scenario, kwargs in SCENARIOS:
        driver = Driver()
        scenario(driver, **kwargs)
        visited |= driver.visited
        taken |= driver.flows
    nodes = flow_node_ids("registration")
    flows = sequence_flows("registration")
    assert len(nodes) == 37
    assert nodes - visited == set()
    assert visited - nodes == set()
    assert {flows[pair] for pair in set(flows) - taken} == set()
    assert taken - set(flows) == set()
