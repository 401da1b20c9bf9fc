"""Definitions and runtimes: the composition root of parser, serializer and scripts."""

from __future__ import annotations

import base64
import json
import uuid
import zlib
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from functools import lru_cache
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from app.workflow import budget
from app.workflow import lanes
from app.workflow.errors import Problem
from app.workflow.errors import WorkflowError
from app.workflow.scripts import RestrictedEnvironment
from app.workflow.scripts import ServiceHandler
from app.workflow.spec import SERIALIZER_VERSION as SERIALIZER_VERSION  # defined here before
from app.workflow.spec import Definition as Definition
from app.workflow.spec import TaskFacts
from app.workflow.spec import UserTaskSpec as UserTaskSpec
from app.workflow.spec import user_task
from app.workflow.spec import user_tasks
from app.workflow.xmlsafe import parse_xml

_PACKED = "zlib:"  # an older stored form (before migration 0029 the column type compresses)
MAX_STEP_TASKS = 1000
MAX_STEP_SECONDS = budget.STEP_SECONDS  # checked between tasks and inside every evaluation
_PINNED = "__pinned_specs__"


class _PinnedSpecConverter(BpmnWorkflowConverter):  # type: ignore[misc]
    """Stores workflows without their spec and restores them onto the definition's
    already-built spec objects (a spec is stored once per definition version)."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct: dict[str, Any] = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> BpmnWorkflow:
        spec, subs = dct.pop(_PINNED)
        workflow = self.target_class(spec, subs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], uuid.UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(uuid.UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_SERIALIZER = BpmnWorkflowSerializer(
    BpmnWorkflowSerializer.configure(dict(SPIFF_CONFIG), DefaultRegistry())
)
_STATE_CONFIG = dict(SPIFF_CONFIG)
_STATE_CONFIG[BpmnWorkflow] = _PinnedSpecConverter
_STATE_SERIALIZER = BpmnWorkflowSerializer(
    BpmnWorkflowSerializer.configure(_STATE_CONFIG, DefaultRegistry())
)
_TIMER_TYPES = {
    "TimeDateEventDefinition",
    "DurationTimerEventDefinition",
    "CycleTimerEventDefinition",
}


@dataclass(frozen=True)
class TaskView:
    """A ready user task as the services see it."""

    id: str
    spec_id: str
    title: str
    lane: str | None
    form_id: str
    status: str | None
    data: Mapping[str, Any]


def task_properties(ts: Any) -> dict[str, str]:
    """The task's spiffworkflow:properties (name -> value)."""
    return dict((getattr(ts, "extensions", None) or {}).get("properties", {}) or {})


def _task_facts(ts: Any) -> TaskFacts:
    return TaskFacts(ts.bpmn_id, ts.bpmn_name, ts.lane, task_properties(ts))


def _user_task_spec(ts: Any) -> UserTaskSpec:
    return user_task(_task_facts(ts))


def parse_specs(xml: bytes | str, process_id: str | None = None) -> tuple[Any, dict[str, Any]]:
    """Parse a diagram safely and return (spec, subprocess specs)."""
    # the parser is loaded by the first diagram parsed (publishing, checking, a test case run):
    # a step restores its specs from the stored version without it
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

    root = parse_xml(xml)
    parser = SpiffBpmnParser()
    try:
        parser.add_bpmn_xml(root.getroottree(), filename=f"{process_id or 'upload'}.bpmn")
        ids = parser.get_process_ids()
        pid = process_id or (ids[0] if ids else None)
        if pid is None:
            raise WorkflowError("流程图中没有可执行的流程")
        spec = parser.get_spec(pid)
        subs = parser.get_subprocess_specs(pid)
        lanes.apply_keys(root, [spec, *subs.values()])
    except SpiffWorkflowException as exc:
        eid = getattr(exc, "id", "") or ""
        raise WorkflowError(f"流程图无法解析：{exc}", [Problem(eid, str(exc))]) from exc
    except KeyError as exc:
        raise WorkflowError(f"流程图中没有流程 {process_id}") from exc
    return spec, subs


def load_definition(xml: bytes | str, process_id: str | None = None) -> Definition:
    """Parse a diagram into a :class:`Definition` (no script checks: see validate)."""
    spec, subs = parse_specs(xml, process_id)
    tasks = user_tasks(_task_facts(ts) for s in [spec, *subs.values()] for ts in s.task_specs.values()
                       if getattr(ts, "manual", False))
    spec_dict = {
        "spec": _SERIALIZER.to_dict(spec),
        "subprocess_specs": {k: _SERIALIZER.to_dict(v) for k, v in subs.items()},
    }
    return Definition(
        process_id=spec.name,
        name=spec.description or spec.name,
        spec_json=json.dumps(spec_dict, ensure_ascii=False),
        user_tasks=tasks,
    )


@lru_cache(maxsize=64)
def _restore_specs(spec_json: str) -> tuple[Any, dict[str, Any]]:
    dct = json.loads(spec_json)
    spec = _SERIALIZER.registry.restore(dct["spec"])
    subs = {k: _SERIALIZER.registry.restore(v) for k, v in dct["subprocess_specs"].items()}
    return spec, subs


class _Engine(PythonScriptEngine):  # type: ignore[misc]
    """Script engine that reports service errors correctly (3.2.0's has a NameError)."""

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        try:
            return self.environment.call_service(task.data, **kwargs)
        except SpiffWorkflowException:
            raise
        except Exception as exc:
            from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException

            raise WorkflowTaskException(str(exc), task=task, exception=exc) from exc


def unpack(stored: str) -> str:
    """The state JSON of a state written before migration 0029 (finished ones were packed:
    zlib, then base64), or of one read from today's compressed column (plain JSON)."""
    if stored.startswith(_PACKED):
        return zlib.decompress(base64.b64decode(stored[len(_PACKED):])).decode("utf-8")
    return stored


def _wrap(exc: Exception) -> WorkflowError:
    """Our own error where SpiffWorkflow wrapped one (perhaps more than once), else a new one."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [getattr(exc, "exception", None), exc.__cause__, exc.__context__]
    while todo:
        cause = todo.pop(0)
        if cause is None or any(cause is s for s in seen):
            continue
        if isinstance(cause, WorkflowError):
            return cause
        seen.append(cause)
        todo += [getattr(cause, "exception", None), cause.__cause__, cause.__context__]
    return WorkflowError(f"流程执行出错：{exc}")


class Runtime:
    """One running workflow: start or restore, step, and dump it again."""

    def __init__(self, definition: Definition, workflow: BpmnWorkflow) -> None:
        self.definition = definition
        self.workflow = workflow

    @staticmethod
    def _engine(functions: Mapping[str, Callable[..., Any]] | None,
                services: ServiceHandler | None) -> _Engine:
        return _Engine(environment=RestrictedEnvironment(functions, services))

    @classmethod
    def start(cls, definition: Definition, data: Mapping[str, Any] | None = None, *,
              functions: Mapping[str, Callable[..., Any]] | None = None,
              services: ServiceHandler | None = None) -> Runtime:
        """Create a workflow, put ``data`` on its start and run to the first wait."""
        spec, subs = _restore_specs(definition.spec_json)
        wf = BpmnWorkflow(spec, subs, script_engine=cls._engine(functions, services))
        if data:
            start = wf.get_tasks(state=TaskState.READY)
            for task in start:
                task.set_data(**dict(data))
        rt = cls(definition, wf)
        rt.run()
        return rt

    @classmethod
    def restore(cls, definition: Definition, state_json: str, *,
                functions: Mapping[str, Callable[..., Any]] | None = None,
                services: ServiceHandler | None = None) -> Runtime:
        """Rebuild a workflow from a state this system wrote (format 1.5 only; packed or not)."""
        dct = json.loads(unpack(state_json))
        if dct.pop(BpmnWorkflowSerializer.VERSION_KEY, None) != SERIALIZER_VERSION:
            raise WorkflowError("流程状态的格式版本不受支持")
        dct[_PINNED] = _restore_specs(definition.spec_json)
        wf = _STATE_SERIALIZER.from_dict(dct)
        wf.script_engine = cls._engine(functions, services)
        return cls(definition, wf)

    def dump(self) -> str:
        """The workflow state as JSON, without the spec (stored with the definition)."""
        dct = _STATE_SERIALIZER.to_dict(self.workflow)
        dct[BpmnWorkflowSerializer.VERSION_KEY] = SERIALIZER_VERSION
        return json.dumps(dct, ensure_ascii=False, cls=_STATE_SERIALIZER._encoder_cls)

    def run(self) -> None:
        """Run engine steps until the workflow waits for people or timers, within
        ``MAX_STEP_TASKS`` automatic tasks and ``MAX_STEP_SECONDS`` (a diagram that loops
        without waiting stops with a clear error and nothing is saved)."""
        done = 0

        def guard(_task: Any) -> None:
            nonlocal done
            done += 1
            left = budget.remaining()
            if done > MAX_STEP_TASKS or (left is not None and left < 0):
                raise budget.LimitExceeded(f"流程步骤超过限制：{MAX_STEP_TASKS} 个自动环节或 "
                                           f"{MAX_STEP_SECONDS:g} 秒，可能存在无限循环，已停止")

        try:
            with budget.step(MAX_STEP_SECONDS):
                self.workflow.do_engine_steps(did_complete_task=guard)
        except WorkflowError:
            raise
        except (SpiffWorkflowException, Exception) as exc:
            raise _wrap(exc) from exc

    def fire_timers(self) -> None:
        """Fire due timers: ``refresh_timers()`` then ``do_engine_steps()``."""
        with budget.step(MAX_STEP_SECONDS):  # timer expressions are administrator text
            try:
                self.workflow.refresh_timers()
            except (SpiffWorkflowException, Exception) as exc:
                raise _wrap(exc) from exc
            self.run()

    @property
    def completed(self) -> bool:
        return bool(self.workflow.is_completed())

    def compact(self) -> int:
        """Splice finished history out of the task tree; returns the tasks removed.

        SpiffWorkflow keeps every task it ever ran, so each round of a correction loop makes
        the tree (and the stored state, and every later step) bigger. Our history lives in
        the human-task read model and the audit log, so a finished task on the path to the
        unfinished ones is dropped when its only live child is finished too: that child is
        hung on the dropped task's parent, and the finished side branches go with it.
        Unfinished tasks keep their ancestors up to the step they came from (joins, data
        inheritance and the step history look there).
        """
        wf = self.workflow
        if wf.subprocesses:
            return 0
        if self.completed:
            return self._trim_finished()
        done = TaskState.FINISHED_MASK
        live: dict[uuid.UUID, bool] = {}
        order, stack = [], [wf.task_tree]
        while stack:  # iterative: a tree of a long loop is deep
            task = stack.pop()
            order.append(task)
            stack.extend(task.children)
        protected: set[uuid.UUID] = set()
        for task in reversed(order):
            live[task.id] = not task.has_state(done) or any(live[c] for c in task._children)
            if not task.has_state(done):  # keep its ancestors up to the step it came from
                up = task.parent
                while up is not None and up.id not in protected:
                    protected.add(up.id)
                    if getattr(up.task_spec, "bpmn_id", None) is not None:
                        break
                    up = up.parent
        removed = 0
        parent = wf.task_tree
        while True:
            live_children = [c for c in parent.children if live[c.id]]
            if len(live_children) != 1:
                if wf.last_task is not None and wf.last_task.id not in wf.tasks:
                    wf.last_task = None
                return removed
            node = live_children[0]
            nxt = [c for c in node.children if live[c.id]]
            if not (node.state == TaskState.COMPLETED and len(nxt) == 1 and node.id not in protected
                    and nxt[0].state == TaskState.COMPLETED):
                parent = node
                continue
            child = nxt[0]
            for dead in [c for c in node.children if c is not child]:
                removed += self._drop(dead)
            parent._children[parent._children.index(node.id)] = child.id
            child._parent = parent.id
            del wf.tasks[node.id]
            removed += 1

    def _trim_finished(self) -> int:
        """A finished workflow keeps only its first task and its end data (``workflow.data``):
        nothing steps it again, and its path is in the read model and the audit log. It still
        restores, reads as completed and gives :meth:`latest_data` (issue 14: bytes per
        completed instance)."""
        wf, removed = self.workflow, 0
        for child in list(wf.task_tree.children):
            removed += self._drop(child)
        wf.task_tree._children = []
        if wf.last_task is not None and wf.last_task.id not in wf.tasks:
            wf.last_task = None
        return removed

    def _drop(self, task: Any) -> int:
        stack, n = [task], 0
        while stack:
            t = stack.pop()
            stack.extend(t.children)
            self.workflow.tasks.pop(t.id, None)
            n += 1
        return n

    def cancel(self) -> None:
        """Cancel every unfinished task (an administrator terminates the instance)."""
        try:
            self.workflow.cancel()
        except (SpiffWorkflowException, Exception) as exc:
            raise _wrap(exc) from exc

    def ready_tasks(self) -> list[TaskView]:
        """The ready user tasks, in a stable order."""
        out = []
        for task in self.workflow.get_tasks(state=TaskState.READY, manual=True):
            info = _user_task_spec(task.task_spec)
            out.append(TaskView(str(task.id), info.spec_id, info.title, info.lane,
                                info.form_id, info.status, dict(task.data)))
        return sorted(out, key=lambda t: (t.spec_id, t.id))

    def complete(self, task_id: str, data: Mapping[str, Any]) -> TaskView:
        """Complete a READY user task with validated form data and run on."""
        try:
            task = self.workflow.get_task_from_id(uuid.UUID(task_id))
        except (ValueError, SpiffWorkflowException) as exc:
            raise WorkflowError("该任务已被处理") from exc
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise WorkflowError("该任务已被处理")
        info = _user_task_spec(task.task_spec)
        view = TaskView(task_id, info.spec_id, info.title, info.lane, info.form_id,
                        info.status, dict(data))
        task.set_data(**dict(data))
        with budget.step(MAX_STEP_SECONDS):  # the task's post-script and the steps after it
            try:
                task.run()
            except (SpiffWorkflowException, Exception) as exc:
                raise _wrap(exc) from exc
            self.run()
        return view

    def waiting_messages(self) -> set[str]:
        """Names of the messages some waiting task would catch now."""
        names = set()
        for task in self.workflow.get_tasks(state=TaskState.WAITING):
            ev = getattr(task.task_spec, "event_definition", None)
            if isinstance(ev, MessageEventDefinition):
                names.add(ev.name)
        return names

    def send_message(self, name: str, payload: Mapping[str, Any] | None = None) -> None:
        """Deliver a message (e.g. ``withdraw``) to the task that waits for it."""
        for task in self.workflow.get_tasks(state=TaskState.WAITING):
            ev = getattr(task.task_spec, "event_definition", None)
            if isinstance(ev, MessageEventDefinition) and ev.name == name:
                with budget.step(MAX_STEP_SECONDS):
                    try:
                        self.workflow.send_event(BpmnEvent(ev, payload=dict(payload or {})))
                    except WorkflowException as exc:
                        raise _wrap(exc) from exc
                    self.run()
                return
        raise WorkflowError("当前状态不能执行此操作")

    def next_timer_at(self) -> datetime | None:
        """The earliest due time of the timers the workflow waits on (UTC)."""
        due: list[datetime] = []
        for ev in self.workflow.waiting_events():
            if ev.event_type not in _TIMER_TYPES or ev.value is None:
                continue
            try:
                value = TimerEventDefinition.parse_time_or_duration(str(ev.value))
            except Exception:  # noqa: S112 - an unparsable value never fires; skip it
                continue
            if isinstance(value, datetime):
                due.append(value.astimezone(UTC))
        return min(due) if due else None

    def rewrite_data(self, key: str,
                     change: Callable[[dict[str, Any]], dict[str, Any]]) -> int:
        """Replace the dict ``data[key]`` of every unfinished task by ``change(old)``; timers
        waiting on one of the old dict's text values (e.g. ``clock["overdue_at"]``) wait on
        the new value under the same name. Returns how many tasks changed."""
        changed = 0
        moved: dict[str, str] = {}
        for task in self.workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK):
            old = task.data.get(key)
            if not isinstance(old, dict):
                continue
            new = change(dict(old))
            for name, value in old.items():
                if isinstance(value, str) and isinstance(new.get(name), str):
                    moved[value] = str(new[name])
            if new != old:
                task.data[key] = new
                changed += 1
        for task in self.workflow.get_tasks(state=TaskState.WAITING):
            value = task.internal_data.get("event_value")
            if isinstance(value, str) and moved.get(value, value) != value:
                task.internal_data["event_value"] = moved[value]
                changed += 1
        return changed

    def latest_data(self) -> dict[str, Any]:
        """Business data of the workflow: its end data, or that of the newest task."""
        if self.completed and self.workflow.data:
            return dict(self.workflow.data)
        tasks = self.workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)
        best = tasks[-1] if tasks else self.workflow.last_task
        return dict(best.data) if best is not None else {}
