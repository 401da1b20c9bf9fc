"""What a page needs of a definition, without SpiffWorkflow.

A definition version is stored with its specs serialized (``spec_json``, written once by
:func:`app.workflow.engine.load_definition`). Its name and user tasks (title, lane, form,
status, flags) are read back from that JSON here, so listing tasks, opening one or naming the
business types does not load SpiffWorkflow, lxml and RestrictedPython; a process loads them
when it runs a step (docs/performance.md, Memory, third round).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from typing import Any

from app.workflow import flags
from app.workflow.flags import TaskFlags

SERIALIZER_VERSION = "1.5"


@dataclass(frozen=True)
class UserTaskSpec:
    """What the diagram says about one user task."""

    spec_id: str
    title: str
    lane: str | None
    form_id: str
    status: str | None
    flags: TaskFlags = TaskFlags()  # medreg: properties (批量确认, 医师可撤回, 补正时锁定的字段)


@dataclass(frozen=True)
class Definition:
    """A parsed, checked diagram. ``spec_json`` is stored once per version."""

    process_id: str
    name: str
    spec_json: str
    user_tasks: Mapping[str, UserTaskSpec] = field(default_factory=dict)

    @property
    def form_ids(self) -> set[str]:
        return {t.form_id for t in self.user_tasks.values()}


@dataclass(frozen=True)
class TaskFacts:
    """The attributes of a user task spec that :func:`user_tasks` reads (from a parsed spec
    object or from its serialized dict)."""

    bpmn_id: str
    bpmn_name: str | None
    lane: str | None
    properties: Mapping[str, str]


def user_task(t: TaskFacts) -> UserTaskSpec:
    """One user task as the diagram states it."""
    props = t.properties
    return UserTaskSpec(spec_id=t.bpmn_id, title=t.bpmn_name or t.bpmn_id, lane=t.lane,
                        form_id=props.get("form") or t.bpmn_id, status=props.get("status"),
                        flags=flags.read(props))


def user_tasks(tasks: Iterable[TaskFacts]) -> dict[str, UserTaskSpec]:
    """The user tasks of a diagram; a version from before the flags (none of its tasks sets
    one) gets what the code used to say for it."""
    out: dict[str, UserTaskSpec] = {}
    flagged = False
    for t in tasks:
        out[t.bpmn_id] = user_task(t)
        flagged = flagged or flags.has_any(t.properties)
    if not flagged:
        out = {k: replace(t, flags=flags.LEGACY.get(k, t.flags)) for k, t in out.items()}
    return out


def stored_definition(spec_json: str) -> Definition:
    """The definition of a stored version, read from its serialized specs (the same name and
    user tasks as parsing its diagram gives)."""
    dct = json.loads(spec_json)
    specs: list[dict[str, Any]] = [dct["spec"], *dct["subprocess_specs"].values()]
    facts = [TaskFacts(ts["bpmn_id"], ts.get("bpmn_name"), ts.get("lane"),
                       dict((ts.get("extensions") or {}).get("properties") or {}))
             for spec in specs for ts in spec["task_specs"].values() if ts.get("manual")]
    spec = dct["spec"]
    return Definition(process_id=spec["name"], name=spec.get("description") or spec["name"],
                      spec_json=spec_json, user_tasks=user_tasks(facts))
