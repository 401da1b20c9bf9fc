"""The engine core: the only package that imports SpiffWorkflow.

It parses and validates diagrams, runs workflows with a restricted script
environment and hands plain dataclasses back. It never touches the database.

The names below are loaded on first use (PEP 562), so importing a light submodule
(``app.workflow.budget``, ``app.workflow.errors``) does not load SpiffWorkflow, lxml and
RestrictedPython: the scheduler process loads them only when a timer is due
(docs/performance.md, Memory).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING
from typing import Any

if TYPE_CHECKING:
    from app.workflow.engine import Runtime
    from app.workflow.engine import TaskView
    from app.workflow.engine import load_definition
    from app.workflow.errors import Problem
    from app.workflow.errors import WorkflowError
    from app.workflow.flags import TaskFlags
    from app.workflow.lanes import Lane
    from app.workflow.lanes import Milestone
    from app.workflow.lanes import Outline
    from app.workflow.lanes import outline
    from app.workflow.lanes import with_lane_names
    from app.workflow.spec import Definition
    from app.workflow.validate import validate_bpmn

_HOME = {
    "Definition": "spec", "Runtime": "engine", "TaskView": "engine", "load_definition": "engine",
    "Problem": "errors", "WorkflowError": "errors", "TaskFlags": "flags", "Lane": "lanes",
    "Milestone": "lanes", "Outline": "lanes", "outline": "lanes", "with_lane_names": "lanes",
    "validate_bpmn": "validate",
}

__all__ = [
    "Definition",
    "Lane",
    "Milestone",
    "Outline",
    "Problem",
    "Runtime",
    "TaskFlags",
    "TaskView",
    "WorkflowError",
    "load_definition",
    "outline",
    "validate_bpmn",
    "with_lane_names",
]


def __getattr__(name: str) -> Any:
    """Load ``name`` from its submodule on first access (then it is a plain module attribute)."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
