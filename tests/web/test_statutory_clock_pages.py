"""The statutory clock as officers and physicians see it (行政许可法 第三十二条、第四十二条)."""

from __future__ import annotations

import io
import re
from datetime import date

import time_machine
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.models import ProcessInstance
from tests.conftest import WebClient
from tests.factories import PDF
from tests.factories import World


def _form(world: World) -> dict[str, object]:
    return {
        "institution_id": str(world.hospital_id), "department_id": str(world.department_id),
        "practice_scopes": ["11"], "contact_mobile": "15175070658",
        "declare_health": "on", "declare_no_bar": "on",
        "application_form": (io.BytesIO(PDF), "申请审核表.pdf"),
        "employment_proof": (io.BytesIO(PDF + b"2"), "聘用证明.pdf"),
    }


def _open_task(app: Flask) -> HumanTask:
    with app.app_context():
        db.session.expire_all()
        task = db.session.scalar(select(HumanTask).where(HumanTask.status == "open"))
        assert task is not None
        db.session.expunge(task)
        return task


def submitted_and_confirmed(web: WebClient, world: World, app: Flask) -> HumanTask:
    """The physician applies, the institution confirms: 卫健委受理 is open."""
    web.login("doctor01")
    web.get("/physician/apply/registration")
    resp = web.post("/physician/apply/registration", _form(world),
                    content_type="multipart/form-data")
    assert resp.status_code == 302
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    task = _open_task(app)
    assert staff.post(f"/inbox/tasks/{task.id}/complete",
                      {"decision": "confirm"}).status_code == 302
    task = _open_task(app)
    assert task.task_spec_id == "commission_accept"
    return task


def test_inbox_and_task_page_show_the_same_due_day(web: WebClient, web_world: World,
                                                   app: Flask) -> None:
    # one due date everywhere — the last working day, not the moment after it
    with time_machine.travel(date(2026, 11, 27).isoformat() + "T10:00:00+08:00", tick=False):
        task = submitted_and_confirmed(web, web_world, app)
        officer = WebClient(app.test_client())
        officer.login("weijian01")
        inbox = officer.get("/inbox/").get_data(as_text=True)
        page = officer.get(f"/inbox/tasks/{task.id}").get_data(as_text=True)
    with app.app_context():
        inst = db.session.scalar(select(ProcessInstance))
        assert inst is not None and inst.due_on == date(2026, 12, 25)
    assert "2026年12月25日" in inbox and "2026年12月25日" in page
    assert "2026-12-26" not in inbox
    row = re.search(r"<tr[^>]*>.*?卫健委受理.*?</tr>", inbox, re.S)
    assert row is not None and "2026年12月25日" in row.group(0)
