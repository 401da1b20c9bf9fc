"""Runs one process test case (plain data) through :class:`Runtime`, as the services do.

A case starts the process with data, then completes user tasks, delivers messages and lets
timers fire, in order. After every step the workflow is stored and restored (the state must
survive a round trip) and the flow nodes and sequence flows taken are recorded. Time is
virtual: ``today()`` answers the case's clock, which starts at the real present and moves
forward only when a step lets a timer fire or advances it by working days; a timer fires
when the case's clock has reached it, never because real time passed.

The checks of the expected end are the caller's (it knows the business meaning of the
service calls); this module only drives the engine and reports what happened. The format
of a case is ``CASE_SCHEMA``; callers validate with it before running.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.util.task import TaskState

from app.workflow.engine import Definition
from app.workflow.engine import Runtime
from app.workflow.errors import WorkflowError
from app.workflow.xmlsafe import parse_xml

CST = ZoneInfo("Asia/Shanghai")
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
FLOW_NODE_TAGS = ("startEvent", "endEvent", "userTask", "serviceTask", "scriptTask",
                  "exclusiveGateway", "parallelGateway", "inclusiveGateway", "boundaryEvent",
                  "intermediateCatchEvent", "intermediateThrowEvent", "manualTask", "task",
                  "callActivity", "subProcess", "receiveTask", "sendTask", "businessRuleTask",
                  "eventBasedGateway")
_FIRED = "2000-01-01T00:00:00+00:00"  # an event value in the past: the timer fires now
MAX_CASE_SECONDS = 30.0

_DATA = {"type": "object"}
_IDS = {"type": "array", "items": {"type": "string"}}
CASE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "流程测试用例",
    "type": "object",
    "required": ["name", "start", "expect"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 100},
        "description": {"type": "string"},
        "rules": _IDS,  # the articles and review rows the case shows, e.g. "R-5"
        "start": {"type": "object", "additionalProperties": False,
                  "properties": {"form": {"type": "string"}, "data": _DATA}},
        "services": {"type": "object", "additionalProperties": _DATA},
        "steps": {"type": "array", "items": {"oneOf": [
            {"type": "object", "required": ["task", "lane"], "additionalProperties": False,
             "properties": {"task": {"type": "string"}, "lane": {"type": "string"},
                            "data": _DATA, "ready": _IDS, "status": {"type": "string"}}},
            {"type": "object", "required": ["message"], "additionalProperties": False,
             "properties": {"message": {"type": "string"}, "data": _DATA, "ready": _IDS}},
            {"type": "object", "required": ["timer"], "additionalProperties": False,
             "properties": {"timer": {"type": "string"}, "ready": _IDS}},
            {"type": "object", "required": ["advance_days"], "additionalProperties": False,
             "properties": {"advance_days": {"type": "integer", "minimum": 1, "maximum": 400},
                            "ready": _IDS}},
        ]}},
        "expect": {"type": "object", "additionalProperties": False, "properties": {
            "end": {"type": "string"},
            "ready": _IDS,
            "business_status": {"type": "string"},
            "called": _IDS,
            "not_called": _IDS,
        }},
    },
}

FormCheck = Callable[[str, Mapping[str, Any]], dict[str, Any]]


class CaseFailure(Exception):
    """The case went differently from what it says (message in Chinese)."""


@dataclass(frozen=True)
class Shape:
    """The flow nodes (id → tag) and sequence flows ((source, target) → id) of a process."""

    nodes: dict[str, str]
    flows: dict[tuple[str, str], str]

    @property
    def end_events(self) -> set[str]:
        return {n for n, tag in self.nodes.items() if tag == "endEvent"}


def shape(xml: bytes | str, process_id: str) -> Shape:
    """Read the flow nodes and sequence flows of ``process_id`` straight from the XML."""
    root = parse_xml(xml)
    process = root.find(f"{{{BPMN_NS}}}process[@id='{process_id}']")
    if process is None:
        raise WorkflowError(f"流程图中没有流程 {process_id}")
    nodes = {str(el.get("id")): tag for tag in FLOW_NODE_TAGS
             for el in process.iter(f"{{{BPMN_NS}}}{tag}")}
    flows = {(str(el.get("sourceRef")), str(el.get("targetRef"))): str(el.get("id"))
             for el in process.iter(f"{{{BPMN_NS}}}sequenceFlow")}
    return Shape(nodes, flows)


@dataclass(frozen=True)
class Call:
    """One service operation a service task called, with its parameters."""

    name: str
    params: dict[str, Any]


@dataclass
class Trace:
    """What a case did: the path (flow nodes in order), the flows, calls and where it ended."""

    path: list[str] = field(default_factory=list)
    flows: set[tuple[str, str]] = field(default_factory=set)
    calls: list[Call] = field(default_factory=list)
    ready: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    completed: bool = False
    today: str = ""


class CaseRun:
    """Drives one case; :meth:`run` returns the trace or raises :class:`CaseFailure`."""

    def __init__(self, definition: Definition, case: Mapping[str, Any], *, start_form: str,
                 check_form: FormCheck, functions: Mapping[str, Callable[..., Any]],
                 is_workday: Callable[[date], bool] | None = None,
                 now: datetime | None = None, deadline: float | None = None) -> None:
        self.definition = definition
        self.case = case
        self.start_form = start_form
        self.check_form = check_form
        self.now = (now or datetime.now(UTC)).astimezone(UTC)
        self.functions = {**functions, "today": self._today}
        self.is_workday = is_workday or (lambda day: day.weekday() < 5)
        self.results: Mapping[str, Any] = case.get("services") or {}
        self.deadline = deadline if deadline is not None else time.monotonic() + MAX_CASE_SECONDS
        self.trace = Trace()
        self._seen: set[Any] = set()
        self.rt: Runtime | None = None

    def _today(self) -> str:
        return self.now.astimezone(CST).date().isoformat()

    def _service(self, name: str, params: dict[str, Any], context: dict[str, Any]) -> Any:
        self.trace.calls.append(Call(name, dict(params)))
        return self.results.get(name, {"ok": True})

    # -- steps ---------------------------------------------------------------------------

    def run(self) -> Trace:
        start = self.case.get("start") or {}
        form_id = str(start.get("form") or self.start_form)
        data = self._valid(form_id, start.get("data") or {}, "开始")
        self.rt = Runtime.start(self.definition, data, functions=self.functions,
                                services=self._service)
        self._after_step()
        for n, step in enumerate(self.case.get("steps") or [], start=1):
            if time.monotonic() > self.deadline:
                raise CaseFailure(f"第 {n} 步：用例运行超时")
            self._step(n, step)
            self._after_step()
            expected = step.get("ready")
            if expected is not None and sorted(expected) != self._ready():
                raise CaseFailure(f"第 {n} 步之后应待办 {_names(expected)}，实际待办 "
                                  f"{_names(self._ready())}")
        self.trace.ready = self._ready()
        self.trace.completed = self.runtime.completed
        self.trace.statuses = [t.status or t.title for t in self.runtime.ready_tasks()]
        self.trace.today = self._today()
        return self.trace

    def _step(self, n: int, step: Mapping[str, Any]) -> None:
        try:
            if "task" in step:
                self._complete(n, step)
            elif "message" in step:
                name = str(step["message"])
                if name not in self.runtime.waiting_messages():
                    raise CaseFailure(f"第 {n} 步：没有环节在等待消息 {name}")
                self.runtime.send_message(name, step.get("data") or {})
            elif "timer" in step:
                self._fire(n, str(step["timer"]))
            else:
                self._advance(int(step["advance_days"]))
        except WorkflowError as exc:
            raise CaseFailure(f"第 {n} 步：{exc.message}") from exc

    def _complete(self, n: int, step: Mapping[str, Any]) -> None:
        spec_id, lane = str(step["task"]), str(step["lane"])
        matches = [t for t in self.runtime.ready_tasks() if t.spec_id == spec_id]
        if len(matches) != 1:
            raise CaseFailure(f"第 {n} 步：环节 {spec_id} 不是待办（待办：{_names(self._ready())}）")
        task = matches[0]
        if task.lane != lane:
            raise CaseFailure(f"第 {n} 步：环节 {spec_id} 属于泳道 {task.lane}，不是 {lane}")
        status = step.get("status")
        if status is not None and (task.status or task.title) != status:
            raise CaseFailure(f"第 {n} 步：环节 {spec_id} 的状态应为“{status}”，实际为"
                              f"“{task.status or task.title}”")
        data = self._valid(task.form_id, step.get("data") or {}, f"第 {n} 步")
        self.runtime.complete(task.id, data)

    def _valid(self, form_id: str, data: Mapping[str, Any], where: str) -> dict[str, Any]:
        try:
            return self.check_form(form_id, data)
        except CaseFailure:
            raise
        except Exception as exc:  # the form refuses the data: say which fields
            errors = getattr(exc, "errors", None) or {}
            detail = "；".join(f"{k}：{v}" for k, v in sorted(errors.items())) or str(exc)
            raise CaseFailure(f"{where}：表单 {form_id} 不接受所填数据（{detail}）") from exc

    def _timers(self) -> list[tuple[str, datetime | None, Any]]:
        out = []
        for task in self.runtime.workflow.get_tasks(state=TaskState.WAITING):
            ev = getattr(task.task_spec, "event_definition", None)
            if not isinstance(ev, TimerEventDefinition):
                continue
            value = task.internal_data.get("event_value")
            due: datetime | None = None
            if isinstance(value, str) and value != _FIRED:
                try:
                    parsed = TimerEventDefinition.parse_time_or_duration(value)
                except Exception:  # noqa: BLE001 - an unparsable value never fires
                    parsed = None
                if isinstance(parsed, datetime):
                    due = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
            out.append((str(getattr(task.task_spec, "bpmn_id", "")), due, task))
        return out

    def _fire(self, n: int, timer_id: str) -> None:
        mine = [due for tid, due, _task in self._timers() if tid == timer_id]
        if not mine or mine[0] is None:
            raise CaseFailure(f"第 {n} 步：定时器 {timer_id} 没有在等待（等待中的定时器："
                              f"{_names(sorted({t for t, _d, _k in self._timers()}))}）")
        self.now = max(self.now, mine[0] + timedelta(minutes=1))
        self._fire_due()

    def _advance(self, days: int) -> None:
        day = self.now.astimezone(CST).date()
        left = days
        while left > 0:
            day += timedelta(days=1)
            if self.is_workday(day):
                left -= 1
        moved = datetime.combine(day, self.now.astimezone(CST).timetz()).astimezone(UTC)
        self.now = max(self.now, moved)
        self._fire_due()

    def _fire_due(self) -> None:
        for _tid, due, task in self._timers():
            if due is not None and due <= self.now:
                task.internal_data["event_value"] = _FIRED
        self.runtime.fire_timers()

    # -- state ----------------------------------------------------------------------------

    @property
    def runtime(self) -> Runtime:
        assert self.rt is not None
        return self.rt

    def _ready(self) -> list[str]:
        return sorted(t.spec_id for t in self.runtime.ready_tasks())

    def _after_step(self) -> None:
        self._visit()
        self.runtime.compact()
        self._round_trip()

    def _visit(self) -> None:
        done = [t for t in self.runtime.workflow.get_tasks(state=TaskState.COMPLETED)
                if t.id not in self._seen]
        for task in sorted(done, key=lambda t: t.last_state_change):
            self._seen.add(task.id)
            bpmn_id = getattr(task.task_spec, "bpmn_id", None)
            if bpmn_id is None:
                continue  # engine-internal specs (boundary split/join, end join)
            self.trace.path.append(str(bpmn_id))
            if isinstance(task.task_spec, BoundaryEvent):
                continue  # attached to its activity: no incoming sequence flow
            source = task.parent
            while source is not None and getattr(source.task_spec, "bpmn_id", None) is None:
                source = source.parent
            if source is not None:
                self.trace.flows.add((str(source.task_spec.bpmn_id), str(bpmn_id)))

    def _round_trip(self) -> None:
        dump = self.runtime.dump()
        ready = self.runtime.ready_tasks()
        restored = Runtime.restore(self.definition, dump, functions=self.functions,
                                   services=self._service)
        if restored.dump() != dump or restored.ready_tasks() != ready \
                or restored.completed != self.runtime.completed:
            raise CaseFailure("流程状态存储后再读取与原状态不一致")
        self.rt = restored


def _names(ids: Any) -> str:
    items = list(ids)
    return "、".join(str(i) for i in items) if items else "无"
