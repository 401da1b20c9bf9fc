"""Moving a waiting workflow onto a newer version of its diagram, where the spec allows it.

A stored state names its tasks by spec name only. A migration restores it onto the new
version's spec when every task the instance has reached (finished, waiting or ready) exists
there with the same incoming and outgoing connections; the predicted part of the tree is
dropped and predicted again from the new spec, so changes further ahead take effect when the
instance gets there. Anything else is refused with the elements that stand in the way.
"""

from __future__ import annotations

import json
from typing import Any

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.util.task import TaskState

from app.workflow.engine import _PINNED
from app.workflow.engine import _STATE_SERIALIZER
from app.workflow.engine import SERIALIZER_VERSION
from app.workflow.engine import Definition
from app.workflow.engine import Runtime
from app.workflow.engine import _restore_specs
from app.workflow.engine import unpack
from app.workflow.errors import WorkflowError


def _label(ts: Any) -> str:
    return str(getattr(ts, "bpmn_name", None) or getattr(ts, "bpmn_id", None) or ts.name)


def _links(ts: Any) -> tuple[list[str], list[str]]:
    return sorted(t.name for t in ts.inputs), sorted(t.name for t in ts.outputs)


def _drop_predicted(tasks: dict[str, dict[str, Any]]) -> None:
    predicted = {tid for tid, t in tasks.items() if t["state"] & TaskState.PREDICTED_MASK}
    for tid in predicted:
        del tasks[tid]
    for t in tasks.values():
        t["children"] = [c for c in t["children"] if c not in predicted]


def obstacles(state_json: str, old: Definition, new: Definition) -> list[str]:
    """Why the workflow cannot move to ``new`` (empty: it can)."""
    dct = json.loads(unpack(state_json))
    if dct.get(BpmnWorkflowSerializer.VERSION_KEY) != SERIALIZER_VERSION:
        return ["流程状态的格式版本不受支持"]
    if dct.get("subprocesses"):
        return ["申请正在子流程中，不能迁移"]
    old_spec, _ = _restore_specs(old.spec_json)
    new_spec, _ = _restore_specs(new.spec_json)
    tasks: dict[str, dict[str, Any]] = dct["tasks"]
    _drop_predicted(tasks)
    found: set[str] = set()
    for t in tasks.values():
        name = t["task_spec"]
        old_ts, new_ts = old_spec.task_specs.get(name), new_spec.task_specs.get(name)
        label = _label(old_ts) if old_ts is not None else name
        if new_ts is None:
            found.add(f"环节“{label}”在新版本中不存在")
        elif old_ts is None or _links(old_ts) != _links(new_ts):
            found.add(f"环节“{label}”的前后连接在新版本中已改变")
    return sorted(found)


def migrate_state(state_json: str, old: Definition, new: Definition) -> str:
    """The state restored onto ``new`` and dumped again; raises :class:`WorkflowError` with
    the reasons when the spec does not allow it."""
    problems = obstacles(state_json, old, new)
    if problems:
        raise WorkflowError("；".join(problems))
    dct = json.loads(unpack(state_json))
    dct.pop(BpmnWorkflowSerializer.VERSION_KEY)
    _drop_predicted(dct["tasks"])
    if dct.get("last_task") not in dct["tasks"]:
        dct["last_task"] = None
    dct[_PINNED] = _restore_specs(new.spec_json)
    wf = _STATE_SERIALIZER.from_dict(dct)
    for task in wf.get_tasks(state=TaskState.DEFINITE_MASK):
        if not task.children:
            task.task_spec._predict(task, mask=TaskState.NOT_FINISHED_MASK)
    return Runtime(new, wf).dump()
