"""A runaway step (issue 12 §5): diagram text that passes 校验 but runs long stops at the
evaluation deadline, rolls back completely, is shown to the person as 流程脚本运行超时/结果过大
and to the administrator as the instance's failed step; meanwhile other people's requests
are answered (a parallel sign-in)."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.models import ProcessDefinition
from app.models import ProcessInstance
from app.models.base import utcnow
from app.services.backoffice import definitions
from app.services.backoffice import instances
from app.services.engine import processes
from app.services.errors import DomainError
from app.workflow.budget import EVAL_SECONDS
from app.workflow.budget import LIMIT_MESSAGE
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import application_payload
from tests.factories import submit_registration
from tests.factories import user

ROOT = Path(__file__).resolve().parents[2]
BASE = (ROOT / "bpmn" / "registration.bpmn").read_text("utf-8")
# each line walks a 100,000-item list twice (the comparison's weight check): allowed piece by
# piece, many seconds in all
RUNAWAY = "x = [1] * 1000&#10;x = x * 99&#10;" + "b = x == x&#10;" * 1500 + "clock = start_clock(today())"
LATENCY_FILE = ROOT / "docs" / "security.md"


def _publish(script: str) -> None:
    """Version 2 of 注册 whose clock_start script is ``script``; it passes 校验."""
    xml = BASE.replace("clock = start_clock(today())", script, 1)
    assert xml != BASE
    row = definitions.published("registration")
    defn, problems = definitions.check(xml, definitions.all_forms(), "registration")
    assert defn is not None, problems  # the static checks cannot tell: the run-time limits must
    db.session.add(ProcessDefinition(
        process_id="registration", version=row.version + 1, name=defn.name, bpmn_xml=xml,
        forms=dict(row.forms), spec_json=defn.spec_json,
        sha256=hashlib.sha256(xml.encode()).hexdigest(), published_at=utcnow(), author="test"))
    db.session.commit()


def _publish_runaway(app: Flask) -> None:
    with app.app_context():
        _publish(RUNAWAY)
        db.session.remove()


GUARDED = {  # a step building a large value: refused by the guards, before memory grows
    "percent_format_via_variable": 'f = "%0" + str(len(decision)) + "000000d"&#10;y = f % 1',
    "round_negative_digits": "y = round(1, -100000000)",
    "sum_lists": 'a = "x" * 1000&#10;a = [a] * 40&#10;b = sum([a, a], a)',
    "calendar_5000_years_via_variable": "t = today()&#10;far = str(int(t[:4]) + 5000) + t[4:]&#10;"
                                        "c = resume_clock(pause_clock(start_clock(t), t), far)",
}


@pytest.mark.parametrize("shape", sorted(GUARDED))
def test_a_step_that_builds_too_much_rolls_back_and_marks_the_instance_failed(
        world: World, shape: str) -> None:
    # issue 12 §5; 行政许可法 第三十二条 (the application's handling is not changed by a failed step)
    _publish(GUARDED[shape] + "&#10;clock = start_clock(today())")
    iid = processes.start_application(user(world.doctor_id), "registration",
                                      application_payload(world, world.doctor_id)).instance_id
    task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid,
                                                     HumanTask.status == "open"))
    assert task is not None and task.task_spec_id == "institution_confirm"
    with pytest.raises(DomainError, match=LIMIT_MESSAGE):
        processes.complete_task(user(world.staff_id), task.id, {"decision": "confirm",
                                                               "paper_held": True})
    db.session.expire_all()
    inst = db.session.get(ProcessInstance, iid)
    assert inst is not None and inst.error and LIMIT_MESSAGE in inst.error
    assert [r.id for r in instances.search(state="failed").rows] == [iid]  # 流程实例: 步骤失败
    reopened = db.session.get(HumanTask, task.id)
    assert reopened is not None and reopened.status == "open" and inst.received_on is None
    # the administrator retries once the cause is dealt with: the mark clears, the task waits
    processes.retry(user(world.admin_id), iid)
    db.session.expire_all()
    assert instances.search(state="failed").rows == []
    assert [t.task_spec_id for t in db.session.scalars(select(HumanTask).where(
        HumanTask.instance_id == iid, HumanTask.status == "open"))] == ["institution_confirm"]


def test_a_runaway_step_stops_rolls_back_and_others_are_answered_meanwhile(
        app: Flask, web_world: World) -> None:
    # issue 12 §5; 行政许可法 第三十二条 (the application's handling is not changed by a failed step)
    _publish_runaway(app)
    task_id = submit_registration(app, web_world, "doctor01")
    institution, doctor, admin = (WebClient(app.test_client()) for _ in range(3))
    institution.login("jigou01")
    institution.get(f"/inbox/tasks/{task_id}")
    result: dict[str, Any] = {}

    def confirm() -> None:
        started = time.monotonic()
        resp = institution.post(f"/inbox/tasks/{task_id}/complete",
                                {"decision": "confirm", "paper_held": "on"}, follow_redirects=True)
        result["seconds"] = time.monotonic() - started
        result["status"] = resp.status_code
        result["page"] = resp.get_data(as_text=True)

    runaway = threading.Thread(target=confirm, name="runaway-step")
    doctor.get("/login")
    runaway.start()
    time.sleep(0.2)  # the step is evaluating the script now (it holds SQLite's writer lock)
    sent_while_running = runaway.is_alive()
    started = time.monotonic()
    signed_in = doctor.post("/login", {"username": "doctor01", "password": "Passw0rd1"})
    latency = time.monotonic() - started
    runaway.join(timeout=60)
    print(f"parallel sign-in answered in {latency * 1000:.0f} ms while the runaway step ran; "
          f"the runaway request took {result.get('seconds', 0):.2f} s")
    # sent while the runaway step ran, answered with a sign-in, not "database is locked"
    assert sent_while_running
    assert signed_in.status_code == 302 and "/login" not in signed_in.headers["Location"]

    assert not runaway.is_alive()
    assert result["status"] == 400 and "无法完成操作" in result["page"]  # the person is told why
    assert LIMIT_MESSAGE in result["page"] and "申请未作任何更改" in result["page"]
    assert "Traceback" not in result["page"]
    assert result["seconds"] >= EVAL_SECONDS * 0.9  # stopped by the deadline, not by a guard
    with app.app_context():
        task = db.session.get(HumanTask, task_id)
        assert task is not None and task.status == "open"  # rolled back: still to be confirmed
        inst = db.session.get(ProcessInstance, task.instance_id)
        assert inst is not None and inst.error and LIMIT_MESSAGE in inst.error
        assert "超过时间限制" in inst.error  # the deadline stopped it (checked on every line)
        assert db.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == inst.id, HumanTask.task_spec_id == "commission_accept")).all() == []
        instance_id = inst.id
        db.session.remove()
    admin.login("admin01")
    page = admin.get(f"/admin/instances/{instance_id}").get_data(as_text=True)
    assert "失败的步骤" in page and LIMIT_MESSAGE in page and "重试" in page
