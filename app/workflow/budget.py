"""Deadlines for administrator text: checked between tasks and inside long calls.

An engine step runs under :func:`step` (``STEP_SECONDS`` for the engine's own work); every
evaluation of diagram text runs under :func:`evaluation`: at most ``EVAL_SECONDS`` each and
``STEP_EVAL_SECONDS`` for all the evaluations of one step together (on SQLite the step holds
the database writer lock, so administrator text may hold it for less than a second), under a
trace hook (:func:`traced`) that checks the deadline on every Python line, so a loop in an
allowed function stops too. Long functions (the working-day calendar) call
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
STEP_SECONDS = 3.0  # one engine step, its own bookkeeping included (at most 1000 tasks)
EVAL_SECONDS = 0.5  # one script, condition, timer or service parameter
STEP_EVAL_SECONDS = 0.8  # all the evaluations of one step together

_deadline: ContextVar[float | None] = ContextVar("medreg_deadline", default=None)
_spent: ContextVar[list[float] | None] = ContextVar("medreg_eval_spent", default=None)


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


@contextmanager
def step(seconds: float = STEP_SECONDS) -> Iterator[None]:
    """One engine step: a deadline, and a fresh account of the time its evaluations spend
    (a step inside a step shares the outer one's)."""
    token = _spent.set([0.0]) if _spent.get() is None else None
    try:
        with deadline(seconds):
            yield
    finally:
        if token is not None:
            _spent.reset(token)


@contextmanager
def evaluation() -> Iterator[None]:
    """One evaluation of administrator text: traced, under ``EVAL_SECONDS`` and what is left
    of the step's ``STEP_EVAL_SECONDS``."""
    spent = _spent.get()
    left = EVAL_SECONDS if spent is None else min(EVAL_SECONDS, STEP_EVAL_SECONDS - spent[0])
    if left <= 0:
        raise LimitExceeded("超过时间限制")
    started = time.monotonic()
    try:
        with deadline(left), traced():
            yield
    finally:
        if spent is not None:
            spent[0] += time.monotonic() - started


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
