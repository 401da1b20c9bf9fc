"""Deadlines for administrator text: checked between tasks and inside long calls.

An engine step runs under :func:`deadline` (``STEP_SECONDS``); every evaluation of
diagram text runs under a shorter one (``EVAL_SECONDS``) and, while it runs, under a
trace hook (:func:`traced`) that checks the deadline on every Python line, so a loop in
an allowed function stops too. Long functions (the working-day calendar) call
:func:`check` themselves. Exceeding a limit raises :class:`LimitExceeded` with
``LIMIT_MESSAGE``, which the services treat as a failed step (rolled back, the instance
marked failed for the administrator).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import FrameType
from typing import Any

from app.workflow.errors import WorkflowError

LIMIT_MESSAGE = "流程脚本运行超时/结果过大"
STEP_SECONDS = 3.0  # one engine step (the database writer waits at most about this long)
EVAL_SECONDS = 2.0  # one script, condition, timer or service parameter

_deadline: ContextVar[float | None] = ContextVar("medreg_deadline", default=None)


class LimitExceeded(WorkflowError):
    """Administrator text ran too long or built too large a value."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(f"{LIMIT_MESSAGE}（{detail}）" if detail else LIMIT_MESSAGE)


def check() -> None:
    """Raise :class:`LimitExceeded` if the current deadline has passed."""
    due = _deadline.get()
    if due is not None and time.monotonic() > due:
        raise LimitExceeded("超过时间限制")


def remaining() -> float | None:
    """Seconds left before the current deadline (None: no deadline)."""
    due = _deadline.get()
    return None if due is None else due - time.monotonic()


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Run the block under a deadline ``seconds`` from now (an earlier one stays)."""
    due = time.monotonic() + seconds
    outer = _deadline.get()
    token = _deadline.set(due if outer is None else min(due, outer))
    try:
        yield
    finally:
        _deadline.reset(token)


def _local(frame: FrameType, event: str, arg: Any) -> Any:
    check()
    return _local


def _global(frame: FrameType, event: str, arg: Any) -> Any:
    check()
    return _local


@contextmanager
def traced() -> Iterator[None]:
    """Check the deadline on every Python call and line run inside the block.

    When another tracer is installed (a debugger, coverage) it is left alone: the
    explicit :func:`check` calls in long functions still apply."""
    if sys.gettrace() is not None:
        yield
        return
    sys.settrace(_global)
    try:
        yield
    finally:
        sys.settrace(None)
