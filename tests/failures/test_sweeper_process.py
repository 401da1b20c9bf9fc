"""The scheduler process ``python -m app.sweeper`` (docs/performance.md, Memory; issue 14 goal 3):
it loads the engine when a timer is due, and once nothing was fired for
MEDREG_SWEEPER_IDLE_SECONDS it replaces itself (same pid) and so gives the engine's memory back.
Timers fire exactly once; SIGTERM ends it after its sweep."""

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


def test_the_scheduler_process_gives_the_engine_back_when_idle(
        app: Flask, world: World, tmp_path: Path) -> None:
    dues = add_timer_instances([utcnow() + timedelta(seconds=4 + i / 10) for i in range(10)])
    db.session.remove()
    logfile = tmp_path / "sweeper.log"
    log = logfile.open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "app.sweeper"], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT,
                            env=_env(app, MEDREG_SWEEP_SECONDS="0.2", MEDREG_SWEEPER_IDLE_SECONDS="1.5"))
    try:
        wait_until(lambda: _left(dues) == 0, "the sweeper firing every due timer", timeout=120,
                   interval=0.2, processes=[proc])
        wait_until(lambda: "重新启动以释放内存" in logfile.read_text("utf-8"),
                   "the idle sweeper replacing itself", timeout=30, interval=0.2, processes=[proc])
        wait_until(lambda: logfile.read_text("utf-8").count("定时器调度已启动") == 2,
                   "the fresh sweeper started", timeout=30, interval=0.2, processes=[proc])
        time.sleep(1.0)  # sweeps of the fresh process, with nothing due
        assert proc.poll() is None and not _maps_engine(proc.pid)  # same pid, no engine
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
    assert proc.returncode == 0
    assert _reminders(dues) == {iid: 1 for iid in dues}  # each timer fired once
    assert audit.verify() == []


def test_an_idle_sweeper_never_loads_the_engine_and_stops_on_sigterm(
        app: Flask, world: World, tmp_path: Path) -> None:
    logfile = tmp_path / "sweeper.log"
    log = logfile.open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "app.sweeper"], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT,
                            env=_env(app, MEDREG_SWEEP_SECONDS="0.2", MEDREG_SWEEPER_IDLE_SECONDS="600"))
    try:
        wait_until(lambda: "定时器调度已启动" in logfile.read_text("utf-8"), "the sweeper started",
                   timeout=60, interval=0.2, processes=[proc])
        time.sleep(2.0)  # sweeps with nothing due (the test world has no timers and no day-rule cases)
        assert proc.poll() is None and not _maps_engine(proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


def test_the_whole_app_scheduler_keeps_running_as_it_is(app: Flask, world: World, tmp_path: Path) -> None:
    """``flask --app app scheduler run`` loads the engine with the web layer at start: replacing
    itself would give nothing back, so it never does."""
    logfile = tmp_path / "scheduler.log"
    log = logfile.open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "scheduler", "run"], cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT,
                            env=_env(app, MEDREG_SWEEP_SECONDS="0.2", MEDREG_SWEEPER_IDLE_SECONDS="0.5"))
    try:
        wait_until(lambda: "定时器调度已启动" in logfile.read_text("utf-8"), "the scheduler started",
                   timeout=60, interval=0.2, processes=[proc])
        time.sleep(3.0)  # six times the idle time
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    text = logfile.read_text("utf-8")
    assert text.count("定时器调度已启动") == 1 and "重新启动以释放内存" not in text
