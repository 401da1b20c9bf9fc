"""The scheduler process: ``python -m app.sweeper`` (or ``flask --app app scheduler run``).

``python -m app.sweeper`` builds the slim :func:`app.create_scheduler_app` — no web layer —
so the process holds only what the timer sweep needs (docs/performance.md, Memory): the sweep
runs in the main thread (no APScheduler, no thread pool), and the engine (SpiffWorkflow, lxml,
RestrictedPython) is loaded only when a timer is due or a day rule has a case to start.
"""

from __future__ import annotations

import signal
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
    """Sweep every ``MEDREG_SWEEP_SECONDS`` in this thread until SIGINT/SIGTERM; a sweep under
    way finishes before the process ends."""
    from app.services.platform import scheduler as sched

    stopping = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    every = float(app.config["MEDREG_SWEEP_SECONDS"])
    click.echo("定时器调度已启动（Ctrl+C 退出）")
    while not stopping.is_set():
        started = time.monotonic()
        sched.sweep(app)
        stopping.wait(max(0.0, every - (time.monotonic() - started)))


def main() -> None:
    """Entry point of the scheduler process (configuration from the environment)."""
    from app import create_scheduler_app

    run(create_scheduler_app())


if __name__ == "__main__":
    main()
