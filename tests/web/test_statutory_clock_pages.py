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
from app.models import OutboxMessage
from app.models import ProcessInstance
from app.services.engine import acceptance
from app.services.engine import processes
from tests.conftest import WebClient
from tests.factories import PDF
from tests.factories import World
from tests.factories import photo_jpeg


def _form(world: World) -> dict[str, object]:
    return {
        "institution_id": str(world.hospital_id), "department_id": str(world.department_id),
        "practice_scopes": ["11"], "contact_mobile": "15175070658",
        "declare_health": "on", "declare_no_bar": "on",
        "employment_proof": (io.BytesIO(PDF + b"2"), "聘用证明.pdf"),
        "photo": (io.BytesIO(photo_jpeg()), "照片.jpg"),
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
                      {"decision": "confirm", "paper_held": "on"}).status_code == 302
    task = _open_task(app)
    assert task.task_spec_id == "commission_accept"
    return task


def test_inbox_and_task_page_show_the_same_due_day(web: WebClient, web_world: World,
                                                   app: Flask) -> None:
    # 行政许可法 第四十二条 — R-10: one due date everywhere: the last working day, not the
    # moment after it
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


def _at(day: str) -> time_machine.travel:
    return time_machine.travel(f"{day}T10:00:00+08:00", tick=False)


def _notices(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(OutboxMessage.body).where(
            OutboxMessage.subject == "受理通知", OutboxMessage.channel == "inbox")))


def test_correction_notice_refused_after_five_working_days(web: WebClient, web_world: World,
                                                           app: Flask) -> None:
    # 行政许可法 第三十二条 — R-6: 补正 only within five (working) days of receipt, otherwise
    # the application is accepted on receipt; R-7: the dated 受理通知 names that day
    with _at("2026-11-27"):  # Friday: the institution confirms, the commission receives it
        task = submitted_and_confirmed(web, web_world, app)
    officer = WebClient(app.test_client())
    with _at("2026-12-07"):  # the 6th working day after receipt (window ended 12-04)
        officer.login("weijian01")
        page = officer.get(f"/inbox/tasks/{task.id}").get_data(as_text=True)
        assert "已超过补正告知期限，自收到申请材料之日起即为受理" in page
        assert 'value="correct"' not in page and 'value="accept"' in page
        assert 'value="reject"' not in page  # deemed accepted: no 不予受理 either
        resp = officer.post(f"/inbox/tasks/{task.id}/complete",
                            {"decision": "correct", "fields": ["contact_mobile"],
                             "note": "请补充材料"})
        text = resp.get_data(as_text=True)
        assert resp.status_code == 422
        assert re.search(r'id="field-decision".*?已超过补正告知期限', text, re.S)
        assert "请补充材料" in text  # input kept
        resp = officer.post(f"/inbox/tasks/{task.id}/complete",
                            {"decision": "reject", "note": "材料不全"})
        assert resp.status_code == 422
        assert "申请已视为受理，不能再不予受理" in resp.get_data(as_text=True)
        assert _open_task(app).task_spec_id == "commission_accept"
        assert officer.post(f"/inbox/tasks/{task.id}/complete",
                            {"decision": "accept"}).status_code == 302
    assert _open_task(app).task_spec_id == "commission_decide"
    notices = _notices(app)
    assert len(notices) == 1
    assert "自收到申请材料之日（2026年11月27日）起即为受理" in notices[0]
    assert "2026年12月25日前作出决定" in notices[0]
    web.login("doctor01")
    assert "审查中" in web.get("/physician/applications/1").get_data(as_text=True)


def test_correction_notice_allowed_on_the_fifth_working_day(web: WebClient, web_world: World,
                                                            app: Flask) -> None:
    # 行政许可法 第三十二条 — R-6: within five working days the 补正 notice is possible
    with _at("2026-11-27"):
        task = submitted_and_confirmed(web, web_world, app)
    officer = WebClient(app.test_client())
    with _at("2026-12-04"):  # 5th working day after receipt
        officer.login("weijian01")
        page = officer.get(f"/inbox/tasks/{task.id}").get_data(as_text=True)
        assert 'value="correct"' in page and "已超过补正告知期限" not in page
        resp = officer.post(f"/inbox/tasks/{task.id}/complete",
                            {"decision": "correct", "fields": ["contact_mobile"],
                             "note": "请补充联系电话"})
        assert resp.status_code == 302
    assert _open_task(app).task_spec_id == "physician_supplement"
    assert _notices(app) == []


def test_acceptance_notice_is_dated_with_the_due_day(web: WebClient, web_world: World,
                                                     app: Flask) -> None:
    # 行政许可法 第三十二条 — R-7: 受理 gives a dated written notice with the decision's due day;
    # 行政许可法 第四十二条 — R-10: the twenty working days run from 受理 (not from receipt)
    with _at("2026-11-27"):
        task = submitted_and_confirmed(web, web_world, app)
    officer = WebClient(app.test_client())
    with _at("2026-11-30"):
        officer.login("weijian01")
        assert officer.post(f"/inbox/tasks/{task.id}/complete",
                            {"decision": "accept"}).status_code == 302
    notices = _notices(app)
    assert len(notices) == 1
    assert "已于2026年11月30日受理" in notices[0] and "2026年12月28日前作出决定" in notices[0]
    with app.app_context():
        inst = db.session.scalar(select(ProcessInstance))
        assert inst is not None and inst.accepted_on == date(2026, 11, 30)
        assert inst.due_on == date(2026, 12, 28)
    with _at("2026-11-30"):
        inbox = officer.get("/inbox/").get_data(as_text=True)
        assert "2026年12月28日" in inbox


def test_deemed_acceptance_is_told_once(web: WebClient, web_world: World, app: Flask) -> None:
    # 行政许可法 第三十二条 —: no 补正 notice in five working days: the applicant is told
    # the application counts as accepted on receipt; the officer's later 受理 sends no second one
    with _at("2026-11-27"):
        task = submitted_and_confirmed(web, web_world, app)
    with _at("2026-12-04"), app.app_context():
        assert acceptance.deem_accepted() == 0  # still inside the window
    with _at("2026-12-07"), app.app_context():
        assert acceptance.deem_accepted() == 1
        assert acceptance.deem_accepted() == 0
    notices = _notices(app)
    assert len(notices) == 1 and "2026年11月27日" in notices[0]
    officer = WebClient(app.test_client())
    with _at("2026-12-08"):
        officer.login("weijian01")
        assert officer.post(f"/inbox/tasks/{task.id}/complete",
                            {"decision": "accept"}).status_code == 302
    assert len(_notices(app)) == 1
    web.login("doctor01")
    detail = web.get("/physician/applications/1").get_data(as_text=True)
    assert "审查中" in detail and "受理日期：2026年11月27日" in detail


def test_admin_home_warns_about_next_year_from_1_october(web: WebClient,
                                                         web_world: World) -> None:
    # 行政许可法 第八十二条 — R-11: a year without holiday data is announced from 1 October
    web.login("admin01")
    with _at("2026-09-30"):
        assert "尚未录入" not in web.get("/admin/").get_data(as_text=True)
    with _at("2026-10-01"):
        text = web.get("/admin/").get_data(as_text=True)
        assert re.search(r"尚未录入.*?2027", text, re.S)


def _accepted(web: WebClient, world: World, app: Flask) -> tuple[WebClient, HumanTask]:
    """Received Friday 2026-11-06, accepted the same day: due 2026-12-04; 审查决定 open."""
    with _at("2026-11-06"):
        task = submitted_and_confirmed(web, world, app)
        officer = WebClient(app.test_client())
        officer.login("weijian01")
        assert officer.post(f"/inbox/tasks/{task.id}/complete",
                            {"decision": "accept"}).status_code == 302
    decide = _open_task(app)
    assert decide.task_spec_id == "commission_decide"
    return officer, decide


def test_extension_is_off_by_default(web: WebClient, web_world: World, app: Flask) -> None:
    # 行政许可法 第四十二条 — R-9: 延期 only where the province allows it (DOMAIN [I]: off)
    officer, decide = _accepted(web, web_world, app)
    with _at("2026-12-01"):
        officer.login("weijian01")  # a new working day, a new session
        page = officer.get(f"/inbox/tasks/{decide.id}").get_data(as_text=True)
        assert "延期十个工作日" not in page
        resp = officer.post(f"/inbox/tasks/{decide.id}/extend",
                            {"reason": "需要核实材料", "approved_by": "王主任"})
        assert resp.status_code == 403
    with app.app_context():
        inst = db.session.scalar(select(ProcessInstance))
        assert inst is not None and inst.due_on == date(2026, 12, 4) and not inst.extended


def test_extension_moves_the_due_day_and_tells_the_applicant(web: WebClient, web_world: World,
                                                             app: Flask) -> None:
    # 行政许可法 第四十二条 — R-9: ten more working days with the head's approval, once; the
    # applicant is told the reason; the 已超期 timer follows the new due day
    officer, decide = _accepted(web, web_world, app)
    app.config["MEDREG_ALLOW_EXTENSION"] = True
    try:
        with _at("2026-12-01"):
            officer.login("weijian01")
            page = officer.get(f"/inbox/tasks/{decide.id}").get_data(as_text=True)
            assert "延期十个工作日" in page and "2026年12月04日" in page
            resp = officer.post(f"/inbox/tasks/{decide.id}/extend",
                                {"reason": "需要核实材料", "approved_by": ""})
            text = resp.get_data(as_text=True)
            assert resp.status_code == 422
            assert re.search(r'id="field-approved_by".*?请填写批准延期的本行政机关负责人', text,
                             re.S)
            assert "需要核实材料" in text
            resp = officer.post(f"/inbox/tasks/{decide.id}/extend",
                                {"reason": "需要向原执业机构核实材料", "approved_by": "王主任"},
                                follow_redirects=True)
            text = resp.get_data(as_text=True)
            assert "已延期，办理期限延至 2026年12月18日" in text
            assert "延期十个工作日" not in text  # once only
            inbox = officer.get("/inbox/").get_data(as_text=True)
            assert "2026年12月18日" in inbox
            web.login("doctor01")
            detail = web.get("/physician/applications/1").get_data(as_text=True)
            assert "（2026年12月18日）（已延期）" in detail
            again = officer.post(f"/inbox/tasks/{decide.id}/extend",
                                 {"reason": "再次延期", "approved_by": "王主任"},
                                 follow_redirects=True)
            assert "该申请已延期一次，不能再次延期" in again.get_data(as_text=True)
    finally:
        app.config["MEDREG_ALLOW_EXTENSION"] = False
    with app.app_context():
        inst = db.session.scalar(select(ProcessInstance))
        assert inst is not None and inst.due_on == date(2026, 12, 18) and inst.extended
        body = db.session.scalar(select(OutboxMessage.body).where(
            OutboxMessage.subject == "延期通知", OutboxMessage.channel == "inbox"))
        assert body is not None and "需要向原执业机构核实材料" in body
        assert "2026年12月18日前作出决定" in body
    with _at("2026-12-07"), app.app_context():
        processes.fire_timers(inst.id)
        db.session.expire_all()
        assert db.session.get(ProcessInstance, inst.id).overdue is False  # type: ignore[union-attr]
    with _at("2026-12-19"), app.app_context():
        assert processes.fire_timers(inst.id) is True
        db.session.expire_all()
        assert db.session.get(ProcessInstance, inst.id).overdue is True  # type: ignore[union-attr]
