"""Coverage of the diagrams by the test cases: flow nodes and sequence flows reached.

    .venv/bin/python -m workflows_tests.coverage      (also: make bpmn-coverage)

Runs every case of workflows_tests/<process>/ against bpmn/ and forms/ (the product's case
runner, app/services/backoffice/cases.py), prints one row per diagram in bpmn/ and exits 1
if any case fails or any node or flow is never reached.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from app.services.backoffice import cases
from app.workflow.cases import shape

BPMN = Path(__file__).resolve().parents[1] / "bpmn"


@dataclass(frozen=True)
class Row:
    process_id: str
    nodes: int
    nodes_reached: int
    flows: int
    flows_taken: int
    failed: int
    missing: list[str]


def measure(process_id: str) -> Row:
    diagram = shape((BPMN / f"{process_id}.bpmn").read_bytes(), process_id)
    report = cases.run_files(process_id)
    missing_nodes = [m for m in report.uncovered if m in diagram.nodes]
    return Row(process_id, len(diagram.nodes), len(diagram.nodes) - len(missing_nodes),
               len(diagram.flows), len(diagram.flows) - (len(report.uncovered) - len(missing_nodes)),
               report.failed, report.uncovered)


def report() -> list[Row]:
    return [measure(p.stem) for p in sorted(BPMN.glob("*.bpmn"))]


def main() -> int:
    rows = report()
    print(f"{'流程':<16}{'节点':>8}{'已覆盖':>8}{'顺序流':>8}{'已覆盖':>8}{'失败':>6}  未覆盖")
    for r in rows:
        print(f"{r.process_id:<16}{r.nodes:>8}{r.nodes_reached:>8}{r.flows:>8}{r.flows_taken:>8}"
              f"{r.failed:>6}  {', '.join(r.missing) or '—'}")
    return 1 if any(r.missing or r.failed for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
