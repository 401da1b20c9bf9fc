"""The scheduler process: ``python -m app.sweeper`` (or ``flask --app app scheduler run``).

``python -m app.sweeper`` builds the slim :func:`app.create_scheduler_app` — no web layer —
so the process holds only what the timer sweep needs (docs/performance.md, Memory). It sweeps
in its main thread (no APScheduler, no thread pool) and never loads the engine itself: when a
timer is due, or the hourly day rules are, it forks a child that fires them (loading
SpiffWorkflow, lxml, RestrictedPython, the forms' jsonschema) and keeps sweeping until nothing
was fired for ``MEDREG_SWEEPER_IDLE_SECONDS``; then the child ends and its memory is given back.
Between busy periods the process only dispatches messages and writes its heartbeat.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from types import FrameType

import click
from flask import Flask
from flask import current_app


@click.group()
def scheduler() -> None:
    """定时器调度。"""


@scheduler.command("run")
def scheduler_run() -> None:
    """Run the timer sweeper in this process until interrupted."""
    run(current_app._get_current_object())  # type: ignore[attr-defined]


def run(app: Flask) -> None:
    """Sweep every ``MEDREG_SWEEP_SECONDS`` until SIGINT/SIGTERM; a sweep under way (the busy
    child's too) finishes before the process ends."""
    from app.services.platform import scheduler as sched

    stopping = threading.Event()
    busy: list[int] = []  # the child firing timers, while it runs

    def _stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()
        for pid in busy:
            _tell(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    every = float(app.config["MEDREG_SWEEP_SECONDS"])
    click.echo("定时器调度已启动（Ctrl+C 退出）")
    while not stopping.is_set():
        started = time.monotonic()
        rules = sched.rules_due()
        if rules or sched.timers_due(app):
            _fire_in_child(app, rules, stopping, busy)
        else:
            sched.sweep(app, day_rules=False, timers=False)  # messages and the heartbeat
        stopping.wait(max(0.0, every - (time.monotonic() - started)))


def _fire_in_child(app: Flask, rules: bool, stopping: threading.Event, busy: list[int]) -> None:
    """Fork the child that fires timers (and runs the day rules when ``rules``); wait for it."""
    pid = os.fork()
    if pid == 0:  # the child: its copy of ``stopping`` is set by the inherited handler
        code = 1
        try:
            _sweep_while_busy(app, rules, stopping)
            code = 0
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)  # never back into the parent's loop
    busy.append(pid)
    if stopping.is_set():  # asked to stop between the fork and now
        _tell(pid, signal.SIGTERM)
    _pid, status = os.waitpid(pid, 0)  # retried after a signal (PEP 475)
    busy.remove(pid)
    if status:
        click.echo(f"定时器子进程异常退出（{status}）", err=True)


def _sweep_while_busy(app: Flask, rules: bool, stopping: threading.Event) -> None:
    """The child: sweep until nothing was fired for ``MEDREG_SWEEPER_IDLE_SECONDS``."""
    from app.extensions import db
    from app.services.platform import scheduler as sched

    with app.app_context():
        db.engine.dispose(close=False)  # the parent's connections stay the parent's
    every = float(app.config["MEDREG_SWEEP_SECONDS"])
    idle = float(app.config["MEDREG_SWEEPER_IDLE_SECONDS"])
    last_fired = time.monotonic()
    first = True
    while not stopping.is_set():
        started = time.monotonic()
        if sched.sweep(app, day_rules=rules if first else None):
            last_fired = started
        first = False
        if started - last_fired >= idle:
            return
        stopping.wait(max(0.0, every - (time.monotonic() - started)))


def _tell(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def main() -> None:
    """Entry point of the scheduler process (configuration from the environment)."""
    from app import create_scheduler_app

    run(create_scheduler_app())


if __name__ == "__main__":
    main()
