"""Coverage of the diagrams by the scenarios: flow nodes and sequence flows reached.

    .venv/bin/python -m workflows_tests.coverage      (also: make bpmn-coverage)

Prints one row per diagram in bpmn/ and exits 1 if any node or flow is never reached.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import time_machine

from workflows_tests import test_business_types as business
from workflows_tests import test_registration as registration
from workflows_tests import test_report_processes as reports
from workflows_tests import test_review_processes as review
from workflows_tests.conftest import Driver
from workflows_tests.conftest import flow_node_ids
from workflows_tests.conftest import sequence_flows

BPMN = Path(__file__).resolve().parents[1] / "bpmn"


@dataclass(frozen=True)
class Row:
    process_id: str
    nodes: int
    nodes_reached: int
    flows: int
    flows_taken: int
    missing: list[str]


def measure(process_id: str) -> Row:
    visited: set[str] = set()
    taken: set[tuple[str, str]] = set()
    if process_id == "registration":
        runs = [(Driver(), fn, kw) for fn, kw in registration.SCENARIOS]
    elif process_id in reports.SCENARIOS:
        runs = [(reports.new(process_id), fn, kw) for fn, kw in reports.runs(process_id)]
    elif process_id in review.CASES:
        runs = [(review.new(process_id), fn, kw) for fn, kw in review.runs(process_id)]
    else:
        runs = [(business.new(process_id), fn, kw) for fn, kw in business._runs(process_id)]
    for driver, fn, kwargs in runs:
        with time_machine.travel(business.MONDAY, tick=False):
            fn(driver, **kwargs)
        visited |= driver.visited
        taken |= driver.flows
    nodes, flows = flow_node_ids(process_id), sequence_flows(process_id)
    missing = sorted(nodes - visited) + sorted(flows[p] for p in set(flows) - taken)
    return Row(process_id, len(nodes), len(nodes & visited), len(flows),
               len(set(flows) & taken), missing)


def report() -> list[Row]:
    return [measure(p.stem) for p in sorted(BPMN.glob("*.bpmn"))]


def main() -> int:
    rows = report()
    print(f"{'流程':<16}{'节点':>8}{'已覆盖':>8}{'顺序流':>8}{'已覆盖':>8}  未覆盖")
    for r in rows:
        print(f"{r.process_id:<16}{r.nodes:>8}{r.nodes_reached:>8}{r.flows:>8}{r.flows_taken:>8}"
              f"  {', '.join(r.missing) or '—'}")
    return 1 if any(r.missing for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
