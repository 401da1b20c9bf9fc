"""The engine core: the only package that imports SpiffWorkflow.

It parses and validates diagrams, runs workflows with a restricted script
environment and hands plain dataclasses back. It never touches the database.
"""

from __future__ import annotations

from app.workflow.engine import Definition
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
from app.workflow.validate import validate_bpmn

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
