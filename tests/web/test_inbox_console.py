"""The institution's inbox: filters and sorting, internal comments, bulk confirmation with an
audit entry per item."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.models import HumanTask
from app.models import ProcessInstance
from app.services.engine import processes
from tests.conftest import WebClient
from tests.factories import CONFIRMED
from tests.factories import World
from tests.factories import application_payload
from tests.factories import user


def _applications(app: Flask, world: World) -> tuple[int, int]:
    with app.app_context():
        a = processes.start_application(user(world.doctor_id), "registration",
                                        application_payload(world, world.doctor_id)).instance_id
        b = processes.start_application(user(world.doctor2_id), "registration",
                                        application_payload(world, world.doctor2_id)).instance_id
        db.session.remove()
        return a, b


def _task(app: Flask, iid: int) -> int:
    with app.app_context():
        tid = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == iid,
                                                           HumanTask.status == "open"))
        db.session.remove()
        assert tid is not None
        return tid


def _rows(html: str) -> list[str]:
    return re.findall(r"<tr class=\"[^\"]*\">\s*(?:<td>.*?</td>)?\s*<td>(\d+)</td>", html, re.S)


def test_filters_and_sorting(app: Flask, web: WebClient, web_world: World) -> None:
    a, b = _applications(app, web_world)
    web.login("jigou01")
    assert _rows(web.get("/inbox/?sort=name").get_data(as_text=True)) == [str(a), str(b)]  # 宋 U+5B8B < 李 U+674E
    assert _rows(web.get("/inbox/?name=宋宏").get_data(as_text=True)) == [str(a)]
    assert _rows(web.get("/inbox/?process_id=cancellation").get_data(as_text=True)) == []
    assert "暂无符合条件的待办任务" in web.get("/inbox/?due=overdue").get_data(as_text=True)
    web.post(f"/inbox/tasks/{_task(app, a)}/claim")
    assert _rows(web.get("/inbox/?claim=mine").get_data(as_text=True)) == [str(a)]
    assert _rows(web.get("/inbox/?claim=unclaimed&step=institution_confirm").get_data(as_text=True)) == [str(b)]


def test_comments_stay_inside_the_institution(app: Flask, web: WebClient, web_world: World) -> None:
    a, _b = _applications(app, web_world)
    task = _task(app, a)
    web.login("jigou01")
    empty = web.post(f"/inbox/applications/{a}/comments", {"comment": " ", "task_id": str(task)},
                     follow_redirects=True)
    assert "请填写备注内容" in empty.get_data(as_text=True)
    page = web.post(f"/inbox/applications/{a}/comments",
                    {"comment": "聘用合同原件已核对", "task_id": str(task)}, follow_redirects=True)
    assert "聘用合同原件已核对" in page.get_data(as_text=True)
    other = WebClient(app.test_client())
    other.login("jigou02")
    assert other.post(f"/inbox/applications/{a}/comments", {"comment": "x"}).status_code == 404
    with app.app_context():  # the commission will see the task later, never this note
        processes.complete_task(user(web_world.staff_id), task, CONFIRMED)
        officer_task = db.session.scalar(select(HumanTask.id).where(
            HumanTask.instance_id == a, HumanTask.status == "open"))
        db.session.remove()
    officer = WebClient(app.test_client())
    officer.login("weijian01")
    assert "聘用合同原件已核对" not in officer.get(f"/inbox/tasks/{officer_task}").get_data(as_text=True)
    doctor = WebClient(app.test_client())
    doctor.login("doctor01")
    assert "聘用合同原件已核对" not in doctor.get(f"/physician/applications/{a}").get_data(as_text=True)


def test_bulk_confirmation_audits_each_item_and_reports_failures(app: Flask, web: WebClient,
                                                                  web_world: World) -> None:
    a, b = _applications(app, web_world)
    ta, tb = _task(app, a), _task(app, b)
    with app.app_context():  # a colleague handled b meanwhile
        processes.complete_task(user(web_world.staff_id), tb, {"decision": "refuse", "note": "材料不全"})
        db.session.remove()
    web.login("jigou01")
    resp = web.post("/inbox/bulk-confirm",
                    {"task_id": [str(ta), str(tb), "999999"], "paper_held": "on"},
                    follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert f"已确认 1 项：申请编号 {a}" in html
    assert f"任务 {tb} 未能确认：该任务已被处理" in html
    assert "任务 999999 未能确认：任务不存在或不属于本单位" in html
    with app.app_context():
        assert db.session.get(ProcessInstance, a).business_status == "待卫健委受理"
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "task.institution_confirm")).all()
        bulk = [e for e in events if e.detail.get("via") == "bulk"]
        assert [(e.object_id, e.actor_name, e.detail["decision"]) for e in bulk] == [(str(a), "jigou01", "confirm")]
        db.session.remove()
    outsider = WebClient(app.test_client())
    outsider.login("jigou02")
    refused = outsider.post("/inbox/bulk-confirm", {"task_id": [str(ta)]}, follow_redirects=True)
    assert f"任务 {ta} 未能确认：任务不存在或不属于本单位" in refused.get_data(as_text=True)
    officer = WebClient(app.test_client())
    officer.login("weijian01")
    assert officer.post("/inbox/bulk-confirm", {"task_id": [str(ta)]}).status_code == 403


FORGED_CURSORS = ["2026-01-01T00:00:00|5", "2026-01-01T00:00:00+00:00|²", "2026-01-01T00:00:00+00:00|٣",
                  "2026-01-01T00:00:00+00:00|" + "9" * 30, "2026-01-01T00:00:00+00:00|-1",
                  "0001-01-01T00:00:00+01:00|1", "9999-12-31T23:59:59-01:00|1", "2026-02-30T00:00:00|1",
                  "|", "||", "a|b|c", "\x00|1", "1|2026-01-01T00:00:00+00:00", "2026-01-01|5"]


def test_a_forged_page_cursor_shows_the_first_page(app: Flask, web: WebClient, web_world: World) -> None:
    a, b = _applications(app, web_world)
    web.login("jigou01")
    for sort in ("due", "arrived"):
        for cursor in FORGED_CURSORS:
            resp = web.client.get("/inbox/", query_string={"sort": sort, "after": cursor})
            assert resp.status_code == 200, (sort, cursor)
            assert sorted(_rows(resp.get_data(as_text=True))) == sorted([str(a), str(b)]), (sort, cursor)
