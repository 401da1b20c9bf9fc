"""Scenarios of the institution-reviewed maintenance processes: 照片更新 and 信息修改.

physician submits → institution reviews (通过 / 不通过 with a reason); a new submission
withdraws the pending one. Round trip after each step (the Driver does it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from workflows_tests.conftest import ATTACHMENT
from workflows_tests.conftest import Driver
from workflows_tests.conftest import flow_node_ids
from workflows_tests.conftest import sequence_flows

CASES = {
    "photo": ("photo_apply", "approve_photo", {"photo": ATTACHMENT}),
    "info_change": ("info_change_apply", "apply_info_change", {
        "education": "研究生（硕士）", "school": "山西医科大学", "major": "临床医学", "title": "主治医师"}),
}


def new(pid: str) -> Driver:
    return Driver(pid, CASES[pid][0])


def _start(d: Driver) -> None:
    d.start(CASES[d.process_id][2])
    assert d.ready() == ["institution_review"]


def approved(d: Driver) -> None:
    _start(d)
    d.complete("institution_review", "institution", {"decision": "approve"})
    assert d.completed and [p["outcome"] for p in d.called("close_application")] == ["approved"]
    assert len(d.called(CASES[d.process_id][1])) == 1


def rejected(d: Driver) -> None:
    _start(d)
    d.complete("institution_review", "institution", {"decision": "reject", "note": "背景不是白色"})
    assert d.completed and d.called(CASES[d.process_id][1]) == []


def replaced(d: Driver) -> None:
    _start(d)
    d.message("withdraw")
    assert d.completed and [p["outcome"] for p in d.called("close_application")] == ["withdrawn"]


SCENARIOS: list[Callable[[Driver], None]] = [approved, rejected, replaced]


def runs(pid: str) -> list[tuple[Callable[..., None], dict[str, Any]]]:
    return [(fn, {}) for fn in SCENARIOS]


@pytest.mark.parametrize("pid", sorted(CASES))
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(pid: str, scenario: Callable[[Driver], None]) -> None:
    scenario(new(pid))


@pytest.mark.parametrize("pid", sorted(CASES))
def test_every_node_and_flow(pid: str) -> None:
    visited: set[str] = set()
    taken: set[tuple[str, str]] = set()
    for fn in SCENARIOS:
        d = new(pid)
        fn(d)
        visited |= d.visited
        taken |= d.flows
    nodes, flows = flow_node_ids(pid), sequence_flows(pid)
    assert nodes - visited == set()
    assert {flows[p] for p in set(flows) - taken} == set()
