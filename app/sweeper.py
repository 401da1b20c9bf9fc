"""The scheduler process: ``python -m app.sweeper`` (or ``flask --app app scheduler run``).

``python -m app.sweeper`` builds the slim :func:`app.create_scheduler_app` — no web layer —
so the process holds only what the timer sweep needs (docs/performance.md, Memory). It sweeps
in its main thread (no APScheduler, no thread pool) and loads the engine (SpiffWorkflow, lxml,
RestrictedPython, the forms' jsonschema) only when a timer is due or a day rule has a case to
start. Once the engine is loaded and nothing was fired for ``MEDREG_SWEEPER_IDLE_SECONDS``,
the process replaces itself (``exec``, same pid, the day rules' hour kept) with a fresh one,
which gives the engine's memory back.
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


RULES_AT_ENV = "MEDREG_SWEEPER_RULES_AT"  # the day rules' last run, across the exec
ENGINE_MODULE = "app.services.engine.processes"


def run(app: Flask) -> None:
    """Sweep every ``MEDREG_SWEEP_SECONDS`` until SIGINT/SIGTERM (a sweep under way finishes);
    replace the process when the engine has been idle for ``MEDREG_SWEEPER_IDLE_SECONDS``."""
    from app.services.platform import scheduler as sched

    stopping = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    rules_at = os.environ.pop(RULES_AT_ENV, None)
    if rules_at:
        sched.rules_ran(float(rules_at))
    every = float(app.config["MEDREG_SWEEP_SECONDS"])
    idle = float(app.config["MEDREG_SWEEPER_IDLE_SECONDS"])
    # the whole app (``flask scheduler run``) holds the engine from the start: nothing to give back
    slim = ENGINE_MODULE not in sys.modules
    click.echo("定时器调度已启动（Ctrl+C 退出）")
    last_fired = time.monotonic()
    while not stopping.is_set():
        started = time.monotonic()
        if sched.sweep(app):
            last_fired = started
        if (slim and ENGINE_MODULE in sys.modules and started - last_fired >= idle
                and not stopping.is_set()):
            _replace_self(app, sched.rules_ran_at())
        stopping.wait(max(0.0, every - (time.monotonic() - started)))


def _replace_self(app: Flask, rules_at: float | None) -> None:
    """Start this command afresh in this process (``exec``): the engine's memory goes back."""
    from app.extensions import db

    with app.app_context():
        db.engine.dispose()  # the database sees the connections end
    if rules_at is not None:
        os.environ[RULES_AT_ENV] = repr(rules_at)
    click.echo("定时器调度空闲，重新启动以释放内存")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])  # noqa: S606 - this command again


def main() -> None:
    """Entry point of the scheduler process (configuration from the environment)."""
    from app import create_scheduler_app

    run(create_scheduler_app())


if __name__ == "__main__":
    main()
