"""Errors raised by the engine core."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One reason a diagram is refused: the element it concerns and why."""

    element_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.element_id}: {self.message}" if self.element_id else self.message


class WorkflowError(Exception):
    """A diagram was refused or a workflow step failed.

    ``problems`` lists the elements at fault (empty for a runtime failure).
    """

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []
