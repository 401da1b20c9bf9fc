"""Scenarios of the business types that share the common skeleton: 注销, 多执业机构备案,
变更, 助理医师升执业医师, 军队变更入, 变更到军队, 多执业机构取消备案, 申请取消“多地点执业”.

All follow the common skeleton (physician → institution → [拟执业机构] → commission
受理 → 审查决定, withdraw until the institution confirms, the statutory clock with
reminder and overdue timers); every gateway branch, boundary event and timer is taken,
with a serialize/deserialize round trip after each step (the Driver does it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
import time_machine

from workflows_tests.conftest import APPLICATION
from workflows_tests.conftest import ATTACHMENT
from workflows_tests.conftest import Driver
from workflows_tests.conftest import flow_node_ids
from workflows_tests.conftest import sequence_flows

MONDAY = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
CONFIRM = {"decision": "confirm"}
RETURN = {"decision": "return", "note": "请补充材料", "fields": ["declare_true"]}
REFUSE_INST = {"decision": "refuse", "note": "不同意"}
ACCEPT = {"decision": "accept"}
CORRECT = {"decision": "correct", "note": "请一次性补正申请审核表", "fields": ["declare_true"]}
REJECT = {"decision": "reject", "note": "不属于本机关受理范围"}
APPROVE = {"decision": "approve"}
REFUSE = {"decision": "refuse", "note": "不符合条件"}

CASES = {
    "cancellation": ("cancellation_apply", "cancel_registration", {
        "registration_id": 1, "reason": "own_request", "event_date": "2026-02-27",
        "declare_true": True}),
    "filing": ("filing_apply", "add_filing", {
        "registration_id": 1, "institution_id": 2, "practice_scopes": ["11"],
        "valid_from": "2026-03-10", "valid_to": "2027-03-09", "agreement": ATTACHMENT,
        "declare_true": True}),
    "change": ("change_apply", "apply_change", {
        "registration_id": 1, "institution_id": 2, "department_id": 3, "practice_scopes": ["11"],
        "reason": "工作调动", "employment_proof": ATTACHMENT,
        "declare_true": True}),
    "upgrade": ("upgrade_apply", "upgrade_level", {
        "registration_id": 1, "practice_scopes": ["11"],
        "old_certificate": ATTACHMENT, "declare_true": True}),
    "military_in": ("military_in_apply", "apply_registration", {
        **APPLICATION, "military_unit": "某部队医院", "placement_proof": ATTACHMENT}),
    "to_military": ("to_military_apply", "change_to_military", {
        "registration_id": 1, "military_unit": "某部队医院", "effective_date": "2026-03-20",
        "transfer_order": ATTACHMENT, "declare_true": True}),
    "filing_cancel": ("filing_cancel_apply", "cancel_filing", {
        "filing_id": 1, "end_date": "2026-03-20", "reason": "协议到期", "declare_true": True}),
    "reissue": ("reissue_apply", "reissue_certificate", {
        "registration_id": 1, "cause": "lost",
        "loss_notice": ATTACHMENT, "declare_true": True}),
    "legacy_cancel": ("legacy_cancel_apply", "remove_legacy_site", {
        "registration_id": 1, "site": "某医院", "reason": "不再在该地点执业",
        "declare_true": True}),
}
TARGET = {"filing", "change"}


def new(pid: str) -> Driver:
    return Driver(pid, CASES[pid][0])


def outcomes(d: Driver) -> list[str]:
    return [p["outcome"] for p in d.called("close_application")]


def confirm(d: Driver, spec_id: str) -> dict[str, Any]:
    """确认; where the type has a 申请审核表 the institution holds it signed and stamped (R-39)."""
    if d.task(spec_id).form_id == "institution_confirm_paper":
        return {**CONFIRM, "paper_held": True}
    return CONFIRM


def start(d: Driver) -> None:
    d.start(CASES[d.process_id][2])
    assert d.ready() == ["institution_confirm"]


def to_commission(d: Driver) -> None:
    start(d)
    d.complete("institution_confirm", "institution", confirm(d, "institution_confirm"))
    if d.process_id in TARGET:
        assert d.ready() == ["target_confirm"]
        d.complete("target_confirm", "target_institution", confirm(d, "target_confirm"))
    assert d.ready() == ["commission_accept"]


def institution_refuses(d: Driver) -> None:
    start(d)
    d.complete("institution_confirm", "institution", REFUSE_INST)
    assert d.completed and outcomes(d) == ["inst_refused"]


def institution_returns(d: Driver) -> None:
    start(d)
    d.complete("institution_confirm", "institution", RETURN)
    assert d.ready() == ["physician_apply"]
    d.complete("physician_apply", "physician", CASES[d.process_id][2])
    assert d.ready() == ["institution_confirm"]


def withdraw_at_institution(d: Driver) -> None:
    start(d)
    d.message("withdraw")
    assert d.completed and outcomes(d) == ["withdrawn"]


def withdraw_after_return(d: Driver) -> None:
    institution_returns(d)
    d.complete("institution_confirm", "institution", RETURN)
    d.message("withdraw")
    assert d.completed and outcomes(d) == ["withdrawn"]


def target_decides(d: Driver, decision: dict[str, Any]) -> None:
    start(d)
    d.complete("institution_confirm", "institution", confirm(d, "institution_confirm"))
    d.complete("target_confirm", "target_institution", decision)
    if decision is RETURN:
        assert d.ready() == ["physician_apply"]
        d.complete("physician_apply", "physician", CASES[d.process_id][2])
        assert d.ready() == ["institution_confirm"]
    else:
        assert d.completed and outcomes(d) == ["inst_refused"]


def commission(d: Driver, accept: dict[str, Any], decide: dict[str, Any] | None,
               outcome: str) -> None:
    to_commission(d)
    d.complete("commission_accept", "commission", accept)
    if decide is not None:
        assert d.ready() == ["commission_decide"]
        d.complete("commission_decide", "commission", decide)
    assert d.completed and outcomes(d) == [outcome]
    effect = CASES[d.process_id][1]
    assert len(d.called(effect)) == (1 if outcome == "approved" else 0)


def correction(d: Driver) -> None:
    to_commission(d)
    d.complete("commission_accept", "commission", CORRECT)
    assert d.ready() == ["physician_supplement"]
    assert d.data["clock"]["paused_on"] is not None
    d.complete("physician_supplement", "physician", CASES[d.process_id][2])
    assert d.ready() == ["commission_accept"] and d.data["clock"]["paused_on"] is None
    d.complete("commission_accept", "commission", ACCEPT)
    d.complete("commission_decide", "commission", APPROVE)
    assert outcomes(d) == ["approved"]


def timers(d: Driver, stage: str) -> None:
    to_commission(d)
    if stage == "commission_decide":
        d.complete("commission_accept", "commission", ACCEPT)
    clock = d.data["clock"]
    for when, name in ((clock["remind_at"], "statutory_reminder"),
                       (clock["overdue_at"], "statutory_overdue")):
        due = datetime.fromisoformat(when)
        with time_machine.travel(due + timedelta(minutes=1), tick=False):
            d.fire_timers()
        assert [c.params["due"] for c in d.calls if c.name == name][-1] == when
        assert d.ready() == [stage]  # non-interrupting


SCENARIOS: list[tuple[Callable[..., None], dict[str, Any], set[str]]] = [
    (institution_refuses, {}, set()),
    (institution_returns, {}, set()),
    (withdraw_at_institution, {}, set()),
    (withdraw_after_return, {}, set()),
    (target_decides, {"decision": RETURN}, TARGET),
    (target_decides, {"decision": REFUSE_INST}, TARGET),
    (correction, {}, set()),
    (commission, {"accept": REJECT, "decide": None, "outcome": "not_accepted"}, set()),
    (commission, {"accept": ACCEPT, "decide": APPROVE, "outcome": "approved"}, set()),
    (commission, {"accept": ACCEPT, "decide": REFUSE, "outcome": "refused"}, set()),
    (timers, {"stage": "commission_accept"}, set()),
    (timers, {"stage": "commission_decide"}, set()),
]


def _runs(pid: str) -> list[tuple[Callable[..., None], dict[str, Any]]]:
    return [(fn, kw) for fn, kw, only in SCENARIOS if not only or pid in only]


@pytest.mark.parametrize("pid", sorted(CASES))
@pytest.mark.parametrize("index", range(len(SCENARIOS)))
def test_scenario(pid: str, index: int) -> None:
    fn, kwargs, only = SCENARIOS[index]
    if only and pid not in only:
        assert pid not in TARGET  # no second institution signs this type
        return
    with time_machine.travel(MONDAY, tick=False):
        fn(new(pid), **kwargs)


@pytest.mark.parametrize("pid", sorted(CASES))
def test_scenarios_reach_every_flow_node_and_flow(pid: str) -> None:
    visited: set[str] = set()
    taken: set[tuple[str, str]] = set()
    for fn, kwargs in _runs(pid):
        d = new(pid)
        with time_machine.travel(MONDAY, tick=False):
            fn(d, **kwargs)
        visited |= d.visited
        taken |= d.flows
    nodes, flows = flow_node_ids(pid), sequence_flows(pid)
    assert nodes - visited == set()
    assert {flows[pair] for pair in set(flows) - taken} == set()
