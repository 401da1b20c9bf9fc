"""A small driver for the diagrams, in the spirit of SpiffWorkflow's BpmnWorkflowTestCase.

It runs a process through :class:`app.workflow.Runtime` exactly as the services do
(restricted scripts, clock functions, a service handler), but records service calls
instead of touching the database, validates every form submission against the form
the task names, and after every step stores and restores the workflow to prove the
state survives a round trip.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.util.task import TaskState

from app.services.applications.forms import validate
from app.services.engine.clock import script_functions
from app.services.engine.workdays import chinesecalendar_calendar
from app.workflow import Definition
from app.workflow import Runtime
from app.workflow import TaskView
from app.workflow import load_definition
from app.workflow.xmlsafe import parse_xml

ROOT = Path(__file__).resolve().parents[1]
# The process editor runs these scenarios against a draft copied into MEDREG_SCENARIO_DIR.
SOURCE = Path(os.environ.get("MEDREG_SCENARIO_DIR") or ROOT)
BPMN_DIR = SOURCE / "bpmn"
FORMS_DIR = SOURCE / "forms"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
FLOW_NODE_TAGS = ("startEvent", "endEvent", "userTask", "serviceTask", "scriptTask",
                  "exclusiveGateway", "boundaryEvent")

ATTACHMENT = {"sha256": "0123456789abcdef" * 4, "name": "a.pdf", "size": 10,
              "mime": "application/pdf"}
APPLICATION = {
    "institution_id": 1,
    "department_id": 2,
    "practice_category": "1",
    "practice_scopes": ["11"],
    "contact_mobile": "15175070658",
    "declare_health": True,
    "declare_no_bar": True,
    "employment_proof": ATTACHMENT,
}


@lru_cache
def definition(process_id: str) -> Definition:
    return load_definition((BPMN_DIR / f"{process_id}.bpmn").read_bytes(), process_id)


@lru_cache
def form(form_id: str) -> dict[str, Any]:
    return json.loads((FORMS_DIR / f"{form_id}.json").read_text(encoding="utf-8"))


def _process_xml(process_id: str) -> Any:
    root = parse_xml((BPMN_DIR / f"{process_id}.bpmn").read_bytes())
    process = root.find(f"{{{BPMN_NS}}}process[@id='{process_id}']")
    assert process is not None, process_id
    return process


def flow_node_ids(process_id: str) -> set[str]:
    """The ids of the flow nodes of a process, read straight from the XML."""
    process = _process_xml(process_id)
    return {el.get("id") for tag in FLOW_NODE_TAGS for el in process.iter(f"{{{BPMN_NS}}}{tag}")}


def sequence_flows(process_id: str) -> dict[tuple[str, str], str]:
    """(sourceRef, targetRef) -> id of every sequence flow of a process."""
    process = _process_xml(process_id)
    return {(el.get("sourceRef"), el.get("targetRef")): el.get("id")
            for el in process.iter(f"{{{BPMN_NS}}}sequenceFlow")}


@dataclass(frozen=True)
class ServiceCall:
    name: str
    params: dict[str, Any]


class Driver:
    """Start, complete, message and fire timers; round-trip the state after each step."""

    def __init__(self, process_id: str = "registration",
                 start_form: str = "registration_apply") -> None:
        self.process_id = process_id
        self.definition = definition(process_id)
        self.start_form = start_form
        self.functions = script_functions(chinesecalendar_calendar())
        self.calls: list[ServiceCall] = []
        self.visited: set[str] = set()  # flow nodes completed at some point
        self.flows: set[tuple[str, str]] = set()  # (source, target) of sequence flows taken
        self.rt: Runtime | None = None

    # -- the fake service handler -------------------------------------------------

    def _service(self, name: str, params: dict[str, Any], context: dict[str, Any]) -> Any:
        self.calls.append(ServiceCall(name, dict(params)))
        return {"ok": True}

    def called(self, name: str) -> list[dict[str, Any]]:
        """The params of each call of service operation ``name``, in order."""
        return [c.params for c in self.calls if c.name == name]

    # -- steps -------------------------------------------------------------------------

    def start(self, data: Mapping[str, Any]) -> None:
        clean = validate(form(self.start_form), data)
        self.rt = Runtime.start(self.definition, clean, functions=self.functions,
                                services=self._service)
        self._after_step()

    def ready(self) -> list[str]:
        """The spec ids of the ready user tasks (sorted)."""
        return [t.spec_id for t in self.runtime.ready_tasks()]

    def task(self, spec_id: str) -> TaskView:
        matches = [t for t in self.runtime.ready_tasks() if t.spec_id == spec_id]
        assert len(matches) == 1, f"expected one ready {spec_id}, ready: {self.ready()}"
        return matches[0]

    def complete(self, spec_id: str, as_lane: str, data: Mapping[str, Any]) -> None:
        """Complete the one ready ``spec_id`` as ``as_lane`` with data its form accepts.

        :raise InvalidInput: the form refuses ``data``; the engine is not touched.
        """
        task = self.task(spec_id)
        assert task.lane == as_lane, f"{spec_id} is in lane {task.lane}, not {as_lane}"
        clean = validate(form(task.form_id), data)
        self.runtime.complete(task.id, clean)
        self._after_step()

    def message(self, name: str, payload: Mapping[str, Any] | None = None) -> None:
        assert name in self.runtime.waiting_messages(), f"nobody waits for {name}"
        self.runtime.send_message(name, payload)
        self._after_step()

    def fire_timers(self) -> None:
        self.runtime.fire_timers()
        self._after_step()

    # -- state ---------------------------------------------------------------------------

    @property
    def runtime(self) -> Runtime:
        assert self.rt is not None, "start() first"
        return self.rt

    @property
    def data(self) -> dict[str, Any]:
        return self.runtime.latest_data()

    @property
    def completed(self) -> bool:
        return self.runtime.completed

    def _after_step(self) -> None:
        self._visit()
        self.runtime.compact()  # as the services do before storing
        self._round_trip()

    def _visit(self) -> None:
        for task in self.runtime.workflow.get_tasks(state=TaskState.COMPLETED):
            bpmn_id = getattr(task.task_spec, "bpmn_id", None)
            if bpmn_id is None:
                continue  # engine-internal specs (boundary split/join, end join)
            self.visited.add(bpmn_id)
            if isinstance(task.task_spec, BoundaryEvent):
                continue  # attached to its activity, it has no incoming sequence flow
            source = task.parent
            while source is not None and getattr(source.task_spec, "bpmn_id", None) is None:
                source = source.parent
            if source is not None:
                self.flows.add((source.task_spec.bpmn_id, bpmn_id))

    def _round_trip(self) -> None:
        dump = self.runtime.dump()
        ready = self.runtime.ready_tasks()
        restored = Runtime.restore(self.definition, dump, functions=self.functions,
                                   services=self._service)
        assert restored.dump() == dump
        assert restored.ready_tasks() == ready
        assert restored.completed == self.runtime.completed
        self.rt = restored


@pytest.fixture
def driver() -> Driver:
    return Driver()
