"""Runs one process's scenarios against a draft (the administrator's process editor).

    MEDREG_SCENARIO_DIR=/tmp/x python -m workflows_tests.draft_run cancellation

``/tmp/x`` holds ``bpmn/<process>.bpmn`` and ``forms/*.json``. Prints one JSON line: each
scenario's outcome (and the failure text) and the flow nodes and flows no scenario reached.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
COVERAGE_TESTS = ("reach_every", "every_node")


MODULES = ("test_registration.py", "test_business_types.py", "test_review_processes.py",
           "test_report_processes.py")


class _Collector:
    def __init__(self, process_id: str) -> None:
        self.process_id = process_id
        self.results: list[dict[str, Any]] = []

    def pytest_collection_modifyitems(self, config: Any, items: list[Any]) -> None:
        keep, drop = [], []
        for item in items:
            params = getattr(getattr(item, "callspec", None), "params", {})
            if item.path.name == "test_registration.py":
                mine = self.process_id == "registration"
            else:
                mine = params.get("pid") == self.process_id
            (keep if mine and not any(c in item.name for c in COVERAGE_TESTS) else drop).append(item)
        items[:] = keep
        config.hook.pytest_deselected(items=drop)

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.when == "call" or report.failed:
            self.results.append({"name": report.nodeid.split("::", 1)[-1], "outcome": report.outcome,
                                 "detail": report.longreprtext[-3000:] if report.failed else ""})


def run(process_id: str) -> dict[str, Any]:
    collector = _Collector(process_id)
    pytest.main([*(str(HERE / m) for m in MODULES), "-q", "-p", "no:cacheprovider", "--no-header",
                 "-o", "addopts="], plugins=[collector])
    if not collector.results:
        return {"tests": [], "uncovered": []}
    uncovered: list[str] = []
    try:
        from workflows_tests.coverage import measure

        uncovered = measure(process_id).missing
    except Exception as exc:  # a failing scenario already says why
        uncovered = [f"（覆盖率无法计算：{type(exc).__name__}）"]
    return {"tests": collector.results, "uncovered": uncovered}


if __name__ == "__main__":
    result = run(sys.argv[1])
    sys.stdout.write("\n@@RESULT@@" + json.dumps(result, ensure_ascii=False) + "\n")
