"""Failure suites: a database error in the middle of a step, two scheduler processes on one
database, and a worker killed with SIGKILL while submissions are in flight."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text

from app.extensions import db
from app.models import AuditEvent
from app.models import HumanTask
from app.models import OutboxMessage
from app.models import ProcessInstance
from app.models import Role
from app.models.base import utcnow
from app.services.backoffice import definitions
from app.services.engine import processes
from app.services.platform import audit
from app.workflow import Runtime
from bench.timers import add_timer_instances
from tests.conftest import WebClient
from tests.factories import CONFIRMED
from tests.factories import World
from tests.factories import application_payload
from tests.factories import make_qualification
from tests.factories import make_user
from tests.factories import user
from tests.waiting import listening_socket
from tests.waiting import wait_for_http
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def _snapshot(iid: int) -> tuple[Any, ...]:
    db.session.expire_all()
    inst = db.session.get(ProcessInstance, iid)
    assert inst is not None
    tasks = db.session.execute(select(HumanTask.id, HumanTask.status, HumanTask.claimed_by_id)
                               .where(HumanTask.instance_id == iid).order_by(HumanTask.id)).all()
    counts = tuple(db.session.scalar(select(func.count()).select_from(t)) for t in (AuditEvent, OutboxMessage))
    return (inst.workflow_json, inst.lock_version, inst.business_status, inst.due_on, inst.next_timer_at,
            tuple(tasks), counts)


def _consistent(iid: int) -> None:
    """The read model says what the workflow says: its ready user tasks are the open tasks."""
    inst = db.session.get(ProcessInstance, iid)
    assert inst is not None
    rt = Runtime.restore(definitions.version_by_id(inst.definition_id).definition, inst.workflow_json)
    ready = {t.id for t in rt.ready_tasks()}
    open_rows = set(db.session.scalars(select(HumanTask.task_guid).where(
        HumanTask.instance_id == iid, HumanTask.status == "open")))
    assert ready == open_rows, (iid, ready, open_rows)


def test_a_database_error_in_the_middle_of_a_step_leaves_nothing_half_written(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    iid = processes.start_application(user(world.doctor_id), "registration",
                                      application_payload(world, world.doctor_id)).instance_id
    task = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == iid, HumanTask.status == "open"))
    before = _snapshot(iid)
    real = audit.record

    def failing_record(*args: Any, **kwargs: Any) -> Any:
        # by now the step has flushed the new workflow state and the human tasks
        db.session.execute(text("INSERT INTO no_such_table VALUES (1)"))
        return real(*args, **kwargs)

    monkeypatch.setattr(audit, "record", failing_record)
    with pytest.raises(Exception, match="no_such_table"):
        processes.complete_task(user(world.staff_id), task, CONFIRMED)
    db.session.rollback()
    assert _snapshot(iid) == before
    monkeypatch.setattr(audit, "record", real)
    processes.complete_task(user(world.staff_id), task, CONFIRMED)  # and it still works
    _consistent(iid)
    assert audit.verify() == []


def test_the_person_sees_a_plain_error_page_and_nothing_changed(
        app: Flask, web: WebClient, web_world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    with app.app_context():
        iid = processes.start_application(user(web_world.doctor_id), "registration",
                                          application_payload(web_world, web_world.doctor_id)).instance_id
        task = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == iid,
                                                            HumanTask.status == "open"))
        db.session.remove()
    real = audit.record

    def failing_record(*args: Any, **kwargs: Any) -> Any:
        db.session.execute(text("INSERT INTO no_such_table VALUES (1)"))
        return real(*args, **kwargs)

    web.login("jigou01")
    web.get(f"/inbox/tasks/{task}")
    with app.app_context():
        before = _snapshot(iid)
        db.session.remove()
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # as in production
    monkeypatch.setattr(audit, "record", failing_record)
    resp = web.post(f"/inbox/tasks/{task}/complete", {"decision": "confirm", "paper_held": "on"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 500
    assert "系统繁忙" in body and "您填写的内容未被保存" in body
    assert "Traceback" not in body and "no_such_table" not in body
    with app.app_context():
        assert _snapshot(iid) == before
        db.session.remove()


def _env(app: Flask, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDREG_", "DATABASE_URL"))}
    env.update({"MEDREG_ENV": "development",
                "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "test-secret",
                "MEDREG_SCHEDULER": "off", "MEDREG_MAIL_BACKEND": "log", "MEDREG_CAPTCHA": "off",
                "MEDREG_FAST_HASH": "on", "MEDREG_UPLOAD_DIR": app.config["MEDREG_UPLOAD_DIR"], **extra})
    return env


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def test_two_scheduler_processes_fire_every_due_timer_exactly_once(app: Flask, world: World,
                                                                   tmp_path: Path) -> None:
    now = utcnow()
    dues = add_timer_instances([now + timedelta(seconds=1 + (i % 40) / 10) for i in range(60)])
    db.session.remove()
    env = _env(app, MEDREG_SWEEP_SECONDS="0.2")
    logs = [(tmp_path / f"scheduler{i}.log").open("wb") for i in range(2)]
    procs = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "scheduler", "run"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT) for log in logs]
    try:
        def all_fired() -> bool:
            left = db.session.scalar(select(func.count()).select_from(ProcessInstance).where(
                ProcessInstance.id.in_(dues), ProcessInstance.next_timer_at.is_not(None)))
            db.session.rollback()  # never keep a transaction open while they work (SQLite)
            return not left

        wait_until(all_fired, "the two schedulers fire every due timer", timeout=120,
                   interval=0.3, processes=procs)
        time.sleep(1.0)  # more sweeps, which must find nothing left to fire
    finally:
        _stop(procs)
        for log in logs:
            log.close()
    fired = dict(db.session.execute(
        select(AuditEvent.object_id, func.count()).where(AuditEvent.action == "task.reminder")
        .group_by(AuditEvent.object_id)).all())
    assert {int(k): v for k, v in fired.items()} == {iid: 1 for iid in dues}
    errors = db.session.scalar(select(func.count()).select_from(ProcessInstance).where(
        ProcessInstance.error.is_not(None)))
    assert errors == 0
    for iid in dues:
        _consistent(iid)
    assert audit.verify() == []


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in out.split()]


def test_killing_a_worker_loses_no_acknowledged_submission(app: Flask, world: World) -> None:
    ids = []
    for i in range(24):
        q = make_qualification(f"压测{i}", 300 + i)
        doctor = make_user(f"kill{i:03d}", Role.PHYSICIAN, f"压测{i}", qualification_id=q.id,
                           id_number=q.id_number)
        db.session.commit()
        ids.append(processes.start_application(doctor, "registration",
                                               application_payload(world, doctor.id)).instance_id)
    tasks = dict(db.session.execute(select(HumanTask.instance_id, HumanTask.id).where(
        HumanTask.instance_id.in_(ids), HumanTask.status == "open")).all())
    db.session.remove()
    with listening_socket() as listener:  # gunicorn inherits it: no port to race for
        base = f"http://127.0.0.1:{listener.getsockname()[1]}"
        master = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"fd://{listener.fileno()}",
             "--timeout", "30", "app:create_app()"], cwd=ROOT, env=_env(app), pass_fds=(listener.fileno(),),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_http(base + "/login", "gunicorn serving the sign-in page", processes=[master])

        def session() -> tuple[requests.Session, str]:
            s = requests.Session()
            token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(base + "/login").text).group(1)
            s.post(base + "/login", data={"csrf_token": token, "username": "jigou01", "password": "Passw0rd1"})
            page = s.get(base + "/inbox/").text
            return s, re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

        sessions = [session() for _ in range(4)]  # staff at four desks, signed in once

        def confirm(job: tuple[int, int]) -> tuple[int, int | None]:
            n, iid = job
            s, token = sessions[n % len(sessions)]
            if n == 8:
                os.kill(_children(master.pid)[0], signal.SIGKILL)  # in the middle of the run
            try:
                r = s.post(f"{base}/inbox/tasks/{tasks[iid]}/complete", allow_redirects=False,
                           data={"csrf_token": token, "decision": "confirm", "paper_held": "on"}, timeout=30)
                done = r.status_code == 302 and r.headers["Location"].endswith("/inbox/")
                return iid, 302 if done else r.status_code
            except requests.RequestException:
                return iid, None

        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(confirm, enumerate(ids)))
    finally:
        master.send_signal(signal.SIGTERM)
        try:
            master.wait(timeout=60)
        except subprocess.TimeoutExpired:
            master.kill()
            master.wait()
    acknowledged = [iid for iid, status in results if status == 302]
    assert len(acknowledged) >= len(ids) // 2, results  # most got through despite the kill
    for iid, _status in results:
        _consistent(iid)
    for iid in acknowledged:
        task = db.session.get(HumanTask, tasks[iid])
        assert task is not None and task.status == "completed", (iid, results)
    assert audit.verify() == []
