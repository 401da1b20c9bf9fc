"""备案 for a departure: the institution reports 调离、退休、退职、被辞退或开除 within 30 days and
the registration becomes 备案 (not 注销); late reports are flagged; 备案满二年 still applies; a
physician in 备案 may register at a new institution."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

import time_machine
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.models import MultiFiling
from app.models import ProcessInstance
from app.models import Registration
from app.models import User
from app.services.engine import processes
from app.services.engine import rules
from app.services.engine.clock import today_cst
from app.services.inbox import tasks
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import application_payload
from tests.factories import user


def _doctor_registration(world: World) -> int:
    """doctor01 practises at the world's hospital and is filed at the Kunming one."""
    qual_id = user(world.doctor_id).qualification_id
    reg = Registration(qualification_id=qual_id, level="执业医师", category="1", scopes=["11"],
                       place_region="140000", institution_id=world.hospital_id,
                       authority_id=world.authority_id, status="ACTIVE", cert_no="110140100007777",
                       approved_on=date(2020, 1, 1))
    db.session.add(reg)
    db.session.flush()
    db.session.add(MultiFiling(registration_id=reg.id, institution_id=world.other_hospital_id,
                               scopes=["11"], valid_from=date(2020, 1, 1),
                               valid_to=date(2099, 1, 1), authority_id=world.other_authority_id,
                               filed_on=date(2020, 1, 1), status="ACTIVE"))
    db.session.commit()
    return reg.id


def _open_task(iid: int) -> HumanTask:
    task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid,
                                                     HumanTask.status == "open"))
    assert task is not None
    return task


def _approve_report(world: World, iid: int) -> None:
    officer = user(world.officer_id)
    processes.complete_task(officer, _open_task(iid).id, {"decision": "accept"})
    processes.complete_task(officer, _open_task(iid).id, {"decision": "approve"})
    db.session.expire_all()


def _report_departure(world: World, reg_id: int, event: date) -> int:
    return processes.start_case(user(world.staff_id), "cancellation_report", {
        "registration_id": reg_id, "reason": "left", "event_date": event.isoformat(),
        "note": "退休"}).instance_id


def test_retirement_reported_late_is_flagged_and_becomes_filed(app: Flask,
                                                               web_world: World) -> None:
    # 医师执业注册管理办法 第十九条 (备案, 30 days)
    event = today_cst() - timedelta(days=45)
    with app.app_context():
        reg_id = _doctor_registration(web_world)
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    resp = staff.post("/inbox/cancel", {"registration_id": str(reg_id), "reason": "left",
                                        "event_date": event.isoformat(), "note": "退休"})
    assert resp.status_code == 302  # a late report is accepted...
    officer = WebClient(app.test_client())
    officer.login("weijian01")
    with app.app_context():
        iid = db.session.scalar(select(ProcessInstance.id))
        task_id = _open_task(iid).id
    page = officer.get(f"/inbox/tasks/{task_id}").get_data(as_text=True)
    assert "逾期报告 15 天" in page  # ...but flagged for the commission
    board = officer.get("/inbox/dashboard").get_data(as_text=True)
    assert "逾期报告 15 天" in board and "宋宏强" in board
    with app.app_context():
        _approve_report(web_world, iid)
        reg = db.session.get(Registration, reg_id)
        assert reg.status == "FILED"  # 备案, not 注销
        assert reg.status_changed_on == event and reg.status_decided_on == today_cst()
        assert [f.status for f in reg.filings] == ["CANCELLED"]
        assert dashboard_late(web_world) == []  # decided: no longer on the dashboard
    doctor = WebClient(app.test_client())
    doctor.login("doctor01")
    practice = doctor.get("/physician/practice").get_data(as_text=True)
    assert "110140100007777" in practice and "备案" in practice and "注销" not in practice


def dashboard_late(world: World) -> list[object]:
    from app.services.inbox import dashboard
    return list(dashboard.late_reports(user(world.officer_id)))


def test_a_report_in_time_is_not_flagged_and_death_still_cancels(app: Flask,
                                                                 web_world: World) -> None:
    # 医师法 第十七条 (注销 reported within 30 days); R-4
    with app.app_context():
        reg_id = _doctor_registration(web_world)
        iid = _report_departure(web_world, reg_id, today_cst() - timedelta(days=30))
        view = tasks.application_view(user(web_world.officer_id), iid)
        assert view.late_report_days == 0 and dashboard_late(web_world) == []
        processes.complete_task(user(web_world.officer_id), _open_task(iid).id,
                                {"decision": "reject", "note": "重复报告"})
        iid = processes.start_case(user(web_world.staff_id), "cancellation_report", {
            "registration_id": reg_id, "reason": "death",
            "event_date": today_cst().isoformat()}).instance_id
        _approve_report(web_world, iid)
        reg = db.session.get(Registration, reg_id)
        assert (reg.status, reg.status_reason) == ("CANCELLED", "death")


def test_two_years_in_filing_after_a_departure_raise_a_cancellation(app: Flask,
                                                                   web_world: World) -> None:
    # 医师执业注册管理办法 第十九条 (备案满二年 -> 注销); R-34
    with app.app_context():
        reg_id = _doctor_registration(web_world)
        event = today_cst() - timedelta(days=10)
        _approve_report(web_world, _report_departure(web_world, reg_id, event))
        assert db.session.get(Registration, reg_id).status == "FILED"
    later = datetime.now(UTC) + timedelta(days=2 * 365 - 12)
    with time_machine.travel(later, tick=False), app.app_context():
        assert rules.raise_long_filed() == 0  # not yet two years since the event
    with time_machine.travel(later + timedelta(days=5), tick=False), app.app_context():
        assert rules.raise_long_filed() == 1
        rows = tasks.inbox(user(web_world.officer_id))
        assert [(r.business_type, r.physician_name) for r in rows] == [("依职权注销", "宋宏强")]
        processes.complete_task(user(web_world.officer_id), rows[0].task_id,
                                {"decision": "approve"})
        db.session.expire_all()
        reg = db.session.get(Registration, reg_id)
        assert (reg.status, reg.status_reason) == ("CANCELLED", "filed_two_years")


def test_a_filed_physician_registers_at_a_new_institution(app: Flask, web_world: World) -> None:
    # 医师执业注册管理办法 第十九条 / DOMAIN §4.1 type 1 (注册 allowed from 备案); R-33
    with app.app_context():
        reg_id = _doctor_registration(web_world)
        _approve_report(web_world, _report_departure(web_world, reg_id, today_cst()))
    doctor = WebClient(app.test_client())
    doctor.login("doctor01")
    apply_list = doctor.get("/physician/apply").get_data(as_text=True)
    assert "注册" in apply_list
    with app.app_context():
        doc = db.session.get(User, web_world.doctor_id)
        other_dept = web_world.other_department_id
        payload = application_payload(web_world, doc.id, institution_id=web_world.other_hospital_id,
                                      department_id=other_dept)
        iid = processes.start_application(doc, "registration", payload).instance_id
        for who, decision in ((web_world.other_staff_id, "confirm"),
                              (web_world.other_officer_id, "accept"),
                              (web_world.other_officer_id, "approve")):
            processes.complete_task(user(who), _open_task(iid).id,
                                    {"decision": decision, "paper_held": True} if decision == "confirm"
                                    else {"decision": decision})
        db.session.expire_all()
        assert db.session.get(Registration, reg_id).status == "FILED"
    practice = doctor.get("/physician/practice").get_data(as_text=True)
    assert "昆明市第一人民医院" in practice and "有效" in practice and "备案" in practice
