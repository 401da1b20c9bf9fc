"""Process test cases: load them (``workflows_tests/<process>/<case>.json``), run them against
a draft's exact content or a published version, and report each case and the coverage.

A case is data (format: :data:`app.workflow.cases.CASE_SCHEMA`, documented in
docs/processes.md). A case passes when it runs through and its expected end matches; the
first difference is reported in Chinese. Coverage lists the flow nodes and sequence flows
that no case of the process reaches.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from app import resources
from app.services.applications import forms as form_service
from app.services.applications import operations
from app.services.backoffice import calendar as work_calendar
from app.services.backoffice import definitions
from app.services.engine.clock import script_functions
from app.services.engine.workdays import WorkCalendar
from app.services.engine.workdays import chinesecalendar_calendar
from app.workflow.errors import WorkflowError

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

    from app.workflow.cases import Trace
    from app.workflow.spec import Definition

CASES_DIR = resources.base() / "workflows_tests"  # the checkout, or the wheel's package data
RUN_SECONDS = 120.0  # hard limit of one run of every case of a process


@cache
def _validator() -> Validator:
    """The test cases' schema checker; jsonschema is imported when a case is first read, not by
    every web worker (docs/performance.md, Memory)."""
    from jsonschema import Draft202012Validator

    from app.workflow.cases import CASE_SCHEMA

    return Draft202012Validator(CASE_SCHEMA)


@dataclass(frozen=True)
class Case:
    """One test case: its file name (without .json) and content."""

    key: str
    content: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.content.get("name") or self.key)


@dataclass(frozen=True)
class CaseResult:
    key: str
    name: str
    ok: bool
    detail: str  # the first difference, in Chinese ("" when it passed)
    path: list[str] = field(default_factory=list)
    flows: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Report:
    """Every case of one process, and the elements no case reaches."""

    process_id: str
    results: list[CaseResult]
    uncovered: list[str]

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.ok)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed

    @property
    def ok(self) -> bool:
        """Every case green, at least one case, and every flow node and flow reached."""
        return bool(self.results) and self.failed == 0 and not self.uncovered

    def to_json(self) -> dict[str, Any]:
        return {"process_id": self.process_id, "results": [asdict(r) for r in self.results],
                "uncovered": self.uncovered, "passed": self.passed, "failed": self.failed}


def case_problems(content: Any) -> list[str]:
    """What is wrong with the shape of a case (empty: a valid case)."""
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '用例'}：{e.message}"
            for e in sorted(_validator().iter_errors(content), key=lambda e: list(e.absolute_path))]


def process_ids_with_cases(base: Path = CASES_DIR) -> list[str]:
    return sorted(p.name for p in base.iterdir() if p.is_dir() and any(p.glob("*.json")))


def load(process_id: str, base: Path = CASES_DIR) -> list[Case]:
    """The cases of a process, by file name; an unreadable file is a case that fails."""
    folder = base / process_id
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            content = {"__unreadable__": str(exc)}
        out.append(Case(path.stem, content))
    return out


def _status(trace: Trace) -> str:
    """The business status the services would show after this trace."""
    if trace.completed:
        outcomes = [c.params.get("outcome") for c in trace.calls if c.name == "close_application"]
        return operations.OUTCOMES.get(str(outcomes[-1]) if outcomes else "", "已办结")
    return trace.statuses[0] if trace.statuses else "处理中"


def _subsequence(expected: list[str], names: list[str]) -> str | None:
    """The first expected call missing from ``names`` in that order, or None."""
    it = iter(names)
    for name in expected:
        if not any(n == name for n in it):
            return name
    return None


def _compare(expect: Mapping[str, Any], trace: Trace, ends: set[str]) -> str:
    reached = [n for n in trace.path if n in ends]
    if "end" in expect:
        if not trace.completed:
            return f"应结束于 {expect['end']}，但流程尚未结束（待办：{'、'.join(trace.ready) or '无'}）"
        if expect["end"] not in reached:
            return f"应结束于 {expect['end']}，实际结束于 {'、'.join(reached) or '无'}"
    elif trace.completed and "ready" in expect:
        return f"应停在待办 {'、'.join(expect['ready'])}，但流程已结束于 {'、'.join(reached) or '无'}"
    if "ready" in expect and sorted(expect["ready"]) != trace.ready:
        return (f"应待办 {'、'.join(sorted(expect['ready'])) or '无'}，"
                f"实际待办 {'、'.join(trace.ready) or '无'}")
    status = _status(trace)
    if "business_status" in expect and expect["business_status"] != status:
        return f"业务状态应为“{expect['business_status']}”，实际为“{status}”"
    names = [c.name for c in trace.calls]
    missing = _subsequence(list(expect.get("called") or []), names)
    if missing is not None:
        return f"应调用服务 {missing}（按所列顺序），实际调用：{'、'.join(names) or '无'}"
    for name in expect.get("not_called") or []:
        if name in names:
            return f"不应调用服务 {name}，但调用了"
    return ""


def _form_check(forms: Mapping[str, dict[str, Any]]) -> Callable[[str, Mapping[str, Any]], dict[str, Any]]:
    from app.workflow.cases import CaseFailure

    def check(form_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
        schema = forms.get(form_id)
        if schema is None:
            raise CaseFailure(f"表单 {form_id} 不存在")
        return form_service.validate(schema, data)
    return check


def run_case(defn: Definition, ends: set[str], case: Case, forms: Mapping[str, dict[str, Any]],
             calendar: WorkCalendar, deadline: float) -> CaseResult:
    """Run one case; never raises for anything the case or the diagram does."""
    from app.workflow.cases import CaseFailure
    from app.workflow.cases import CaseRun

    problems = case_problems(case.content)
    if problems:
        return CaseResult(case.key, case.name, False, "用例格式不正确：" + "；".join(problems[:3]))
    runner = CaseRun(defn, case.content, start_form=definitions.start_form_id(defn),
                     check_form=_form_check(forms), functions=script_functions(calendar),
                     is_workday=calendar.is_workday, deadline=deadline)
    try:
        trace = runner.run()
    except CaseFailure as exc:
        return CaseResult(case.key, case.name, False, str(exc), list(runner.trace.path))
    except WorkflowError as exc:
        return CaseResult(case.key, case.name, False, exc.message, list(runner.trace.path))
    except Exception as exc:  # noqa: BLE001 - an administrator's diagram may fail in any way
        return CaseResult(case.key, case.name, False, f"流程执行出错：{type(exc).__name__}：{exc}",
                          list(runner.trace.path))
    detail = _compare(case.content["expect"], trace, ends)
    return CaseResult(case.key, case.name, not detail, detail, list(trace.path),
                      sorted(f"{s}->{t}" for s, t in trace.flows))


def run(process_id: str, xml: str, forms: Mapping[str, dict[str, Any]], cases: list[Case], *,
        progress: Callable[[int, int], None] | None = None,
        seconds: float = RUN_SECONDS, calendar: WorkCalendar | None = None) -> Report:
    """Run ``cases`` against exactly this diagram and these forms (a draft's or a version's)."""
    from app.workflow import load_definition  # the engine: loaded by the first run, not by a page
    from app.workflow.cases import shape

    try:
        defn = load_definition(xml, process_id)
        diagram = shape(xml, process_id)
    except WorkflowError as exc:
        return Report(process_id, [CaseResult(c.key, c.name, False, exc.message) for c in cases],
                      [])
    calendar = calendar or chinesecalendar_calendar()
    deadline = time.monotonic() + seconds
    results: list[CaseResult] = []
    visited: set[str] = set()
    taken: set[tuple[str, str]] = set()
    for n, case in enumerate(cases, start=1):
        if time.monotonic() > deadline:
            results.append(CaseResult(case.key, case.name, False,
                                      f"运行超过时限（{int(seconds)} 秒），未运行"))
        else:
            result = run_case(defn, diagram.end_events, case, forms, calendar, deadline)
            results.append(result)
            visited |= set(result.path)
            taken |= {tuple(f.split("->", 1)) for f in result.flows}  # type: ignore[misc]
        if progress is not None:
            progress(n, len(cases))
    uncovered = sorted(set(diagram.nodes) - visited) + sorted(
        diagram.flows[p] for p in set(diagram.flows) - taken)
    return Report(process_id, results, uncovered)


def run_published(process_id: str, base: Path = CASES_DIR) -> Report:
    """Run the process's case files against its published version."""
    version = definitions.published(process_id)
    forms = {**definitions.all_forms(), **dict(version.forms)}
    found = {c.key: c for c in load(process_id, base)}
    for key, content in (version.cases or {}).items():  # cases edited in the editor
        found[key] = Case(key, content)
    return run(process_id, version.bpmn_xml, forms, [found[k] for k in sorted(found)],
               calendar=work_calendar.current())


def run_files(process_id: str, base: Path = CASES_DIR) -> Report:
    """Run the process's case files against the shipped bpmn/ and forms/ (no database)."""
    xml = (resources.bpmn_dir() / f"{process_id}.bpmn").read_text(encoding="utf-8")
    return run(process_id, xml, definitions.all_forms(), load(process_id, base))
