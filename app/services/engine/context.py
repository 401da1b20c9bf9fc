"""The context one engine step runs in (shared by processes and operations)."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

from app.models import HumanTask
from app.models import ProcessInstance
from app.models import User


@dataclass
class StepContext:
    """The instance being stepped, who caused the step, and when."""

    instance: ProcessInstance
    actor: User | None
    now: datetime
    upload_dir: str = ""
    notes: list[str] = field(default_factory=list)
    open_tasks: list[HumanTask] | None = None  # read with the instance lock (saves a query)
