"""Scenarios of 注销 started by the institution (机构报告注销, its 30-day duty) and by the
commission ex officio (依职权注销)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
import time_machine

from workflows_tests.conftest import Driver
from workflows_tests.conftest import flow_node_ids
from workflows_tests.conftest import sequence_flows
from workflows_tests.test_business_types import MONDAY

REPORT = {"registration_id": 1, "reason": "death", "event_date": "2026-02-20"}
DEPARTURE = {**REPORT, "reason": "left"}  # 调离、退休、退职、被辞退或开除: 备案 (办法 第十九条)
FORMS = {"cancellation_report": "cancellation_report",
         "cancellation_ex_officio": "cancellation_ex_officio_apply"}


def new(pid: str) -> Driver:
    return Driver(pid, FORMS[pid])


def outcome(d: Driver) -> list[str]:
    return [p["outcome"] for p in d.called("close_application")]


def report_decided(d: Driver, accept: dict[str, Any], decide: dict[str, Any] | None,
                   result: str) -> None:
    d.start(REPORT)
    _decided(d, accept, decide, result)
    assert len(d.called("cancel_registration")) == (1 if result == "approved" else 0)


def departure_filed(d: Driver) -> None:
    # 医师执业注册管理办法 第十九条: a departure is approved as 备案, never 注销; R-33
    d.start(DEPARTURE)
    _decided(d, {"decision": "accept"}, {"decision": "approve"}, "approved")
    assert len(d.called("file_registration")) == 1 and d.called("cancel_registration") == []


def _decided(d: Driver, accept: dict[str, Any], decide: dict[str, Any] | None,
             result: str) -> None:
    assert d.ready() == ["commission_accept"]
    d.complete("commission_accept", "commission", accept)
    if decide is not None:
        d.complete("commission_decide", "commission", decide)
    assert d.completed and outcome(d) == [result]


def report_corrected(d: Driver) -> None:
    d.start(REPORT)
    d.complete("commission_accept", "commission",
               {"decision": "correct", "note": "请补交死亡证明", "fields": ["evidence"]})
    assert d.ready() == ["institution_supplement"]
    d.complete("institution_supplement", "institution", REPORT)
    d.complete("commission_accept", "commission", {"decision": "accept"})
    d.complete("commission_decide", "commission", {"decision": "approve"})
    assert outcome(d) == ["approved"]


def report_timers(d: Driver, stage: str) -> None:
    d.start(REPORT)
    if stage == "commission_decide":
        d.complete("commission_accept", "commission", {"decision": "accept"})
    clock = d.data["clock"]
    for when in (clock["remind_at"], clock["overdue_at"]):
        with time_machine.travel(datetime.fromisoformat(when) + timedelta(minutes=1), tick=False):
            d.fire_timers()
        assert d.ready() == [stage]
    assert [c.name for c in d.calls if c.name.startswith("statutory")] == [
        "statutory_reminder", "statutory_overdue"]


def ex_officio(d: Driver, decision: dict[str, Any], result: str) -> None:
    d.start(REPORT)
    assert d.ready() == ["commission_decide"]
    d.complete("commission_decide", "commission", decision)
    assert d.completed and outcome(d) == [result]


SCENARIOS: dict[str, list[tuple[Callable[..., None], dict[str, Any]]]] = {
    "cancellation_report": [
        (report_decided, {"accept": {"decision": "accept"}, "decide": {"decision": "approve"},
                          "result": "approved"}),
        (report_decided, {"accept": {"decision": "accept"},
                          "decide": {"decision": "refuse", "note": "证据不足"}, "result": "refused"}),
        (report_decided, {"accept": {"decision": "reject", "note": "非本机关管辖"}, "decide": None,
                          "result": "not_accepted"}),
        (report_corrected, {}),
        (departure_filed, {}),
        (report_timers, {"stage": "commission_accept"}),
        (report_timers, {"stage": "commission_decide"}),
    ],
    "cancellation_ex_officio": [
        (ex_officio, {"decision": {"decision": "approve"}, "result": "approved"}),
        (ex_officio, {"decision": {"decision": "refuse", "note": "暂不注销"}, "result": "refused"}),
    ],
}
CASES = [(pid, i) for pid, runs in SCENARIOS.items() for i in range(len(runs))]


def runs(pid: str) -> list[tuple[Callable[..., None], dict[str, Any]]]:
    return SCENARIOS[pid]


@pytest.mark.parametrize(("pid", "index"), CASES)
def test_scenario(pid: str, index: int) -> None:
    fn, kwargs = SCENARIOS[pid][index]
    with time_machine.travel(MONDAY, tick=False):
        fn(new(pid), **kwargs)


@pytest.mark.parametrize("pid", sorted(SCENARIOS))
def test_every_node_and_flow(pid: str) -> None:
    visited: set[str] = set()
    taken: set[tuple[str, str]] = set()
    for fn, kwargs in SCENARIOS[pid]:
        d = new(pid)
        with time_machine.travel(MONDAY, tick=False):
            fn(d, **kwargs)
        visited |= d.visited
        taken |= d.flows
    nodes, flows = flow_node_ids(pid), sequence_flows(pid)
    assert nodes - visited == set()
    assert {flows[p] for p in set(flows) - taken} == set()
