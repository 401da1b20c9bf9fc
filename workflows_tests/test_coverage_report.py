"""The coverage report covers every diagram in bpmn/: every case green, nothing unreached."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflows_tests import coverage


def test_every_diagram_is_fully_covered(capsys: pytest.CaptureFixture[str]) -> None:
    assert coverage.main() == 0
    out = capsys.readouterr().out
    diagrams = sorted(p.stem for p in Path(coverage.BPMN).glob("*.bpmn"))
    assert len(diagrams) >= 9
    for name in diagrams:
        assert name in out
    assert all(r.nodes == r.nodes_reached and r.flows == r.flows_taken and not r.failed
               for r in coverage.report())
