"""The scheduler process ``python -m app.sweeper`` (docs/performance.md, Memory; issue 14 goal 3):
it fires due timers in a child it forks, the child ends once nothing was fired for
MEDREG_SWEEPER_IDLE_SECONDS, and the long-lived process never loads the engine. Timers fire
exactly once; SIGTERM while the child is busy ends both after their sweep."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import func
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.models import ProcessInstance
from app.models.base import utcnow
from app.services.platform import audit
from bench.timers import add_timer_instances
from tests.factories import World
from tests.failures.test_failures import _env
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
ENGINE_LIBRARY = "lxml/etree"  # a shared object SpiffWorkflow's parser maps when it is loaded


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in out.split()]


def _maps_engine(pid: int) -> bool:
    return ENGINE_LIBRARY in Path(f"/proc/{pid}/maps").read_text()


def _left(dues: dict[int, object]) -> int:
    left = db.session.scalar(select(func.count()).select_from(ProcessInstance).where(
        ProcessInstance.id.in_(dues), ProcessInstance.next_timer_at.is_not(None)))
    db.session.rollback()  # never keep a transaction open while it works (SQLite)
    return int(left or 0)


def _reminders(dues: dict[int, object]) -> dict[int, int]:
    rows = db.session.execute(
        select(AuditEvent.object_id, func.count()).where(AuditEvent.action == "task.reminder")
        .group_by(AuditEvent.object_id)).all()
    return {int(k): v for k, v in rows if int(k) in dues}


def test_the_scheduler_process_fires_in_a_child_and_gives_the_engine_back(
        app: Flask, world: World, tmp_path: Path) -> None:
    dues = add_timer_instances([utcnow() + timedelta(seconds=4 + i / 10) for i in range(10)])
    db.session.remove()
    log = (tmp_path / "sweeper.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "app.sweeper"], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT,
                            env=_env(app, MEDREG_SWEEP_SECONDS="0.2", MEDREG_SWEEPER_IDLE_SECONDS="1.5"))
    try:
        wait_until(lambda: _left(dues) == 0, "the child firing every due timer", timeout=120,
                   interval=0.2, processes=[proc])
        assert not _maps_engine(proc.pid)  # the engine was loaded by the child only
        wait_until(lambda: _children(proc.pid) == [], "the child ending once idle", timeout=30,
                   interval=0.2, processes=[proc])
        time.sleep(1.0)  # idle sweeps of the process itself
        assert proc.poll() is None and not _maps_engine(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
    assert proc.returncode == 0
    assert _reminders(dues) == {iid: 1 for iid in dues}  # each timer fired once
    assert audit.verify() == []


def test_sigterm_while_the_child_is_busy_ends_both(app: Flask, world: World, tmp_path: Path) -> None:
    dues = add_timer_instances([utcnow() + timedelta(seconds=3)])
    db.session.remove()
    log = (tmp_path / "sweeper.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "app.sweeper"], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT,
                            env=_env(app, MEDREG_SWEEP_SECONDS="0.2", MEDREG_SWEEPER_IDLE_SECONDS="600"))
    try:
        wait_until(lambda: _left(dues) == 0, "the child firing the due timer", timeout=120,
                   interval=0.2, processes=[proc])
        children = _children(proc.pid)
        assert len(children) == 1  # idle for less than ten minutes: the child is still there
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        wait_until(lambda: not Path(f"/proc/{children[0]}").exists(), "the child ending too",
                   timeout=10, interval=0.1)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    assert _reminders(dues) == {iid: 1 for iid in dues}
