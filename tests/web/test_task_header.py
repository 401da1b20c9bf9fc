"""The task page's header names the institution as what it is: the current 执业机构 for a
注销 (issue 13 item 9: it said 拟执业机构), 拟执业机构 for a new registration."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.models import TaskStatus
from app.services.engine import processes
from app.services.engine.clock import today_cst
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import active_registration
from tests.factories import application_payload
from tests.factories import stored_pdf
from tests.factories import user
from tests.statements import selects_of


def _header_of_task(app: Flask, iid: int) -> str:
    with app.app_context():
        task_id = db.session.scalar(select(HumanTask.id).where(
            HumanTask.instance_id == iid, HumanTask.status == TaskStatus.OPEN))
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    html = staff.get(f"/inbox/tasks/{task_id}").get_data(as_text=True)
    m = re.search(r"<h1>.*?</p>", html, re.S)
    assert m, html
    return m.group(0)


def test_a_cancellation_names_the_current_institution(app: Flask, web_world: World) -> None:
    # 医师法 第十七条, 医师执业注册管理办法 第十八条: 注销 is of the registration held at the
    # current 执业机构 (issue 13 item 9)
    with app.app_context():
        reg = active_registration(web_world)
        iid = processes.start_application(user(web_world.doctor_id), "cancellation", {
            "registration_id": reg.id, "reason": "own_request",
            "event_date": today_cst().isoformat(), "declare_true": True}).instance_id
    header = _header_of_task(app, iid)
    assert "注销" in header and "执业机构：山西大学医院" in header and "拟执业机构" not in header


def test_a_new_registration_names_the_proposed_institution(app: Flask, web_world: World) -> None:
    with app.app_context():
        iid = processes.start_application(
            user(web_world.doctor_id), "registration",
            application_payload(web_world, web_world.doctor_id)).instance_id
    assert "拟执业机构：山西大学医院" in _header_of_task(app, iid)


def test_a_change_to_another_institution_names_both_from_the_task_statement(
        app: Flask, web_world: World) -> None:
    # 医师执业注册管理办法 第十九条 (变更执业机构): the header names the current 执业机构 and the
    # 拟执业机构 it goes to; both come with the task in one statement (issue 14 goal 1, fifth
    # round: the target institution was a statement of its own)
    with app.app_context():
        reg = active_registration(web_world, cert_no="110140100000777")
        iid = processes.start_application(user(web_world.doctor_id), "change", {
            "registration_id": reg.id, "institution_id": web_world.other_hospital_id,
            "department_id": web_world.other_department_id, "practice_scopes": ["12"],
            "reason": "工作需要", "employment_proof": stored_pdf(web_world, "聘.pdf"),
            "training_proof": stored_pdf(web_world, "培训.pdf"), "declare_true": True}).instance_id
        task = db.session.scalar(select(HumanTask).where(
            HumanTask.instance_id == iid, HumanTask.status == TaskStatus.OPEN))
        assert task is not None
        login = "jigou01" if task.scope_id == web_world.hospital_id else "jigou02"
        task_id = task.id
    staff = WebClient(app.test_client())
    staff.login(login)
    selects, html = selects_of(app, lambda: staff.get(f"/inbox/tasks/{task_id}").get_data(as_text=True))
    header = re.search(r"<h1>.*?</p>", html, re.S)
    assert header, html
    assert "执业机构：山西大学医院" in header.group(0)
    assert "拟执业机构：昆明市第一人民医院" in header.group(0)
    assert not [s for s in selects if s.lstrip().startswith("SELECT institution.")], "\n".join(selects)
