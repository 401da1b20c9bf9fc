"""Every back-office route (read from the URL map, so a new route is covered the day it is
added) × every role that is not entitled to world A's data: the answer is a sign-in redirect,
403 or 404, or the outsider's own page without world A's data — and nothing of world A changes.

World A: 山西大学医院 (jigou01, 机构管理员), 太原市卫健委 (weijian01), its physician 宋宏强 with an
application waiting at the institution, an internal comment, a department, an import job."""

from __future__ import annotations

import re
from itertools import product
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func
from sqlalchemy import select

from app.extensions import db
from app.models import ActivationCode
from app.models import Department
from app.models import HumanTask
from app.models import ImportJob
from app.models import ProcessDefinition
from app.models import ProcessDraft
from app.models import ProcessInstance
from app.models import Registration
from app.models import Role
from app.models import TaskComment
from app.models import User
from app.services.engine import processes
from app.services.inbox import comments
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import application_payload
from tests.factories import make_qualification
from tests.factories import user

BACK_OFFICE = ("/admin", "/institution", "/inbox")
SECRETS = ("宋宏强", "冯十二", "110140100008888", "内部备注机密", "R-140-1-A科")
# who may see world A's data through each part (they are not tested here)
ENTITLED = {"/admin": {"admin01"}, "/institution": {"jigou01"}, "/inbox": {"jigou01", "weijian01"}}
# outsiders who have pages of their own in a part (answers may be 200, without world A's data)
OWN_PAGES = {"/admin": set(), "/institution": {"jigou02"}, "/inbox": {"jigou02", "weijian02"}}
PEOPLE = ["jigou01", "jigou02", "weijian01", "weijian02", "doctor01", "doctor02", "admin01", None]


def _world_a(app: Flask, world: World) -> dict[str, Any]:
    with app.app_context():
        for uid in (world.staff_id, world.other_staff_id):
            staff = db.session.get(User, uid)
            assert staff is not None
            staff.org_admin = True
        db.session.commit()
        iid = processes.start_application(user(world.doctor_id), "registration",
                                          application_payload(world, world.doctor_id)).instance_id
        task = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == iid,
                                                            HumanTask.status == "open"))
        comments.add(user(world.staff_id), iid, "内部备注机密：聘用合同待核")
        reg = Registration(qualification_id=make_qualification("冯十二", 44).id, level="执业医师",
                           category="1", scopes=["11"], place_region="140000",
                           institution_id=world.hospital_id, authority_id=world.authority_id,
                           status="ACTIVE", cert_no="110140100008888")
        dept = Department(institution_id=world.hospital_id, code="A1", name="R-140-1-A科",
                          subject_code="0300")
        db.session.add_all([reg, dept])
        db.session.flush()
        job = ImportJob(kind="institutions", filename="a.csv", content="登记号\n", total=1,
                        errors=[[2, "机构名称", "宋宏强"]], created_by_id=world.admin_id)
        db.session.add(job)
        db.session.commit()
        ids = {"instance_id": iid, "task_id": task, "registration_id": reg.id, "user_id": world.staff_id,
               "department_id": dept.id, "job_id": job.id, "process_id": "registration", "version": 1,
               "field": "employment_proof", "case_key": "approved"}
        db.session.remove()
        return ids


def _urls(app: Flask, ids: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(part, method, url) of every back-office route, every choice of an ``any()`` argument."""
    out = []
    for rule in app.url_map.iter_rules():
        part = next((p for p in BACK_OFFICE if rule.rule.startswith(p)), None)
        if part is None:
            continue
        names, choices = [], []
        for name in sorted(rule.arguments):
            names.append(name)
            conv = rule._converters[name]
            if hasattr(conv, "items"):  # AnyConverter
                choices.append(sorted(conv.items))
            elif name == "kind":
                choices.append(["main", "institutions"])
            else:
                choices.append([ids[name]])
        for combo in product(*choices):
            url = rule.rule
            for name, value in zip(names, combo, strict=True):
                url = re.sub(r"<(?:[^:<>]+:)?" + name + r">", str(value), url)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                out.append((part, method, url))
    return out


def _state(app: Flask, ids: dict[str, Any]) -> tuple[Any, ...]:
    with app.app_context():
        task = db.session.get(HumanTask, ids["task_id"])
        inst = db.session.get(ProcessInstance, ids["instance_id"])
        staff = db.session.get(User, ids["user_id"])
        dept = db.session.get(Department, ids["department_id"])
        job = db.session.get(ImportJob, ids["job_id"])
        assert task and inst and staff and dept and job
        state = (task.status, task.claimed_by_id, inst.suspended, inst.completed_at, inst.lock_version,
                 staff.active, staff.password_hash, staff.org_admin, dept.active, dept.name,
                 job.processed, job.status,
                 db.session.scalar(select(func.count()).select_from(TaskComment)),
                 db.session.scalar(select(func.count()).select_from(ActivationCode)),
                 db.session.scalar(select(func.count()).select_from(ProcessDefinition)),
                 db.session.scalar(select(func.count()).select_from(ProcessDraft)),
                 db.session.scalar(select(func.count()).select_from(User).where(
                     (User.institution_id == staff.institution_id) | (User.role != Role.INSTITUTION))))
        db.session.remove()
        return state


@pytest.mark.parametrize("who", PEOPLE)
def test_outsiders_get_no_data_from_any_back_office_route(app: Flask, web_world: World,
                                                          who: str | None) -> None:
    ids = _world_a(app, web_world)
    before = _state(app, ids)
    client = WebClient(app.test_client())
    if who:
        client.login(who)
    else:
        client.get("/login")
    checked = 0
    form = {"decision": "confirm", "paper_held": "on", "reason": "x", "comment": "x", "task_id": str(ids["task_id"]),
            "username": "intruder1", "display_name": "入侵者", "role": "admin", "code": "Z9",
            "name": "入侵科", "subject_code": "0300", "department_id": str(ids["department_id"]),
            "note": "x", "kind": "institutions"}
    for part, method, url in _urls(app, ids):
        if who in ENTITLED[part]:
            continue
        resp = client.get(url) if method == "GET" else client.post(url, form)
        body = resp.get_data(as_text=True)
        resp.close()
        checked += 1
        where = (who, method, url, resp.status_code)
        if who is None:
            assert resp.status_code == 302 and "/login" in resp.headers["Location"], where
        elif who in OWN_PAGES[part]:
            assert resp.status_code in (200, 302, 403, 404, 422), where
            if resp.status_code == 302:
                assert "/login" not in resp.headers["Location"], where
        else:
            assert resp.status_code in (403, 404), where
        for secret in SECRETS:
            if who == "doctor01" and secret == "宋宏强":
                continue  # his own name, in the page header
            assert secret not in body, (*where, secret)
    assert checked >= 20 and len(_urls(app, ids)) > 60
    assert _state(app, ids) == before  # nothing of world A changed
