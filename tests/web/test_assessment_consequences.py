"""定期考核 consequences run from the results the main institution enters (医师法 第四十二条、
第十七条第四项; 医师执业注册管理办法 第十八条): 不合格 → 暂停执业 for the entered period →
有效 again after a passed re-assessment; a failed re-assessment or two missed cycles raise a
依职权注销 case the commission decides."""

from __future__ import annotations

import re
from datetime import date

import time_machine
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.models import Penalty
from app.models import Registration
from app.models import User
from app.services.engine import assessment_rules
from app.services.engine import rules
from tests.conftest import WebClient
from tests.factories import World

CERT = "110140100000777"
OTHER_CERT = "110530100000888"


def _registration(app: Flask, world: World, uid: int | None = None, cert: str = CERT,
                  approved: date = date(2020, 1, 1), other: bool = False) -> int:
    with app.app_context():
        u = db.session.get(User, uid or world.doctor_id)
        assert u is not None
        reg = Registration(
            qualification_id=u.qualification_id, level="执业医师", category="1", scopes=["11"],
            place_region="530000" if other else "140000",
            institution_id=world.other_hospital_id if other else world.hospital_id,
            authority_id=world.other_authority_id if other else world.authority_id,
            status="ACTIVE", cert_no=cert, approved_on=approved)
        db.session.add(reg)
        db.session.commit()
        return reg.id


def _client(app: Flask, username: str) -> WebClient:
    client = WebClient(app.test_client())
    client.login(username)
    return client


def _enter(app: Flask, reg_id: int, username: str = "jigou01", **values: str) -> None:
    """The main institution enters a result on its 定期考核 page."""
    resp = _client(app, username).post("/institution/assessments", {
        "registration_id": str(reg_id), "body": "太原市卫生健康委员会", "procedure": "一般",
        **values}, follow_redirects=True)
    assert resp.status_code == 200 and "定期考核结果已保存" in resp.get_data(as_text=True)


def _practice(app: Flask) -> str:
    """The physician's 执业信息 page."""
    return str(_client(app, "doctor01").get("/physician/practice").get_data(as_text=True))


def _status(app: Flask, reg_id: int) -> tuple[str, str | None]:
    with app.app_context():
        reg = db.session.get(Registration, reg_id)
        assert reg is not None
        return str(reg.status), reg.status_reason


FAILED = {"cycle": "2025-2027", "result": "不合格", "suspended_from": "2027-03-01",
          "suspended_to": "2027-08-31"}


def test_a_fail_suspends_for_the_period_and_a_passed_reassessment_restores(
        app: Flask, web_world: World) -> None:
    # 医师法 第四十二条 (考核不合格 → 暂停执业活动三个月至六个月 → 再次考核合格，允许继续执业); R-28
    reg_id = _registration(app, web_world)
    with time_machine.travel("2027-02-01 10:00 +0800", tick=False):
        _enter(app, reg_id, **FAILED)
        with app.app_context():
            assert assessment_rules.suspend_failed() == 0  # the period has not begun
        assert "有效" in _practice(app)
    with time_machine.travel("2027-03-01 09:00 +0800", tick=False):
        with app.app_context():
            assert assessment_rules.suspend_failed() == 1
            assert assessment_rules.suspend_failed() == 0  # once per assessment
        page = _practice(app)
        assert "（<span class=\"status\">暂停执业</span>）" in page
        assert "定期考核不合格，暂停执业活动 2027年3月1日 至 2027年8月31日" in page
        # the commission sees it among the registration's penalties
        officer = _client(app, "weijian01")
        text = officer.get(f"/inbox/registrations/{reg_id}/penalties").get_data(as_text=True)
        assert "定期考核（2025-2027）" in text
    with time_machine.travel("2027-03-02 10:00 +0800", tick=False):
        corrected = dict(FAILED, suspended_to="2027-06-30")  # the institution corrects the end
        _enter(app, reg_id, **corrected)
        with app.app_context():
            assert assessment_rules.suspend_failed() == 0
            penalty = db.session.scalar(select(Penalty))
            assert penalty is not None and penalty.ends_on == date(2027, 6, 30)
        _enter(app, reg_id, **FAILED)
        with app.app_context():
            assessment_rules.suspend_failed()
    with time_machine.travel("2027-09-05 10:00 +0800", tick=False):
        with app.app_context():
            assert rules.end_suspensions() == 0  # period over, but no re-assessment yet
        assert _status(app, reg_id) == ("SUSPENDED", None)
        _enter(app, reg_id, reassessment_result="合格", **FAILED)
        with app.app_context():
            assert rules.end_suspensions() == 1
            reg = db.session.get(Registration, reg_id)
            assert reg is not None and reg.status_changed_on == date(2027, 9, 5)
        page = _practice(app)
        assert "（<span class=\"status\">有效</span>）" in page and "暂停执业" not in page


def test_a_late_entry_with_a_passed_reassessment_changes_no_status(app: Flask,
                                                                   web_world: World) -> None:
    # 医师法 第四十二条: the period is over and the re-assessment passed: recorded, stays 有效; R-28
    reg_id = _registration(app, web_world)
    with time_machine.travel("2027-10-01 10:00 +0800", tick=False):
        _enter(app, reg_id, reassessment_result="合格", **FAILED)
        with app.app_context():
            assert assessment_rules.suspend_failed() == 0
            penalty = db.session.scalar(select(Penalty))
            assert penalty is not None and penalty.ended_on == date(2027, 9, 1)
        assert _status(app, reg_id) == ("ACTIVE", None)


def test_a_failed_reassessment_raises_an_ex_officio_cancellation(app: Flask,
                                                                 web_world: World) -> None:
    # 医师法 第十七条第四项 (考核不合格，暂停执业活动期满，再次考核仍不合格 → 注销);
    # 医师法 第十六条第四项 (因考核不合格被注销注册不满一年 不予注册)
    reg_id = _registration(app, web_world)
    with time_machine.travel("2027-03-01 09:00 +0800", tick=False):
        _enter(app, reg_id, **FAILED)
        with app.app_context():
            assert assessment_rules.suspend_failed() == 1
    with time_machine.travel("2027-09-10 10:00 +0800", tick=False):
        _enter(app, reg_id, reassessment_result="不合格", **FAILED)
        with app.app_context():
            assert rules.end_suspensions() == 0  # stays 暂停执业
            assert assessment_rules.raise_failed_reassessments() == 1
            assert assessment_rules.raise_failed_reassessments() == 0  # already under way
            task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.status == "open"))
        officer = _client(app, "weijian01")
        inbox = officer.get("/inbox/").get_data(as_text=True)
        assert "依职权注销" in inbox and "宋宏强" in inbox
        page = officer.get(f"/inbox/tasks/{task_id}").get_data(as_text=True)
        assert "定期考核不合格，再次考核仍不合格" in page
        assert "2025-2027周期定期考核不合格，暂停执业活动期满再次考核仍不合格" in page
        assert officer.post(f"/inbox/tasks/{task_id}/complete",
                            {"decision": "approve"}).status_code == 302
        assert _status(app, reg_id) == ("CANCELLED", "assessment")
        with app.app_context():
            assert assessment_rules.raise_failed_reassessments() == 0  # not held any more
        page = _practice(app)
        assert "（<span class=\"status\">注销</span>）" in page
        assert "事由：定期考核不合格，再次考核仍不合格" in page
        apply = _client(app, "doctor01").get("/physician/apply/registration").get_data(
            as_text=True)
        assert "于2027年9月10日因定期考核不合格被注销" in apply
        assert "2028年9月10日起方可申请注册" in apply and "提交申请" not in apply
    # registered again after the bar: the old assessment raises nothing on the new registration
    again = _registration(app, web_world, cert="110140100000999", approved=date(2028, 9, 20))
    with time_machine.travel("2028-09-21 10:00 +0800", tick=False), app.app_context():
        assert assessment_rules.suspend_failed() == 0
        assert assessment_rules.raise_failed_reassessments() == 0
    assert _status(app, again) == ("ACTIVE", None)


def _open_task(app: Flask) -> int:
    with app.app_context():
        task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.status == "open"))
        assert task_id is not None
        return task_id


def test_two_missed_cycles_raise_a_case_once(app: Flask, web_world: World) -> None:
    # 医师执业注册管理办法 第十八条 (连续两个考核周期未参加医师定期考核 → 注销); DOMAIN §3.3; R-28
    missing = _registration(app, web_world)
    took_part = _registration(app, web_world, web_world.doctor2_id, OTHER_CERT, other=True)
    with time_machine.travel("2025-03-01 10:00 +0800", tick=False):
        _enter(app, missing, cycle="2022-2024", result="未参加")
        _enter(app, took_part, "jigou02", cycle="2022-2024", result="未参加")
    with time_machine.travel("2027-12-01 10:00 +0800", tick=False):
        _enter(app, took_part, "jigou02", cycle="2025-2027", result="不合格")
    with time_machine.travel("2027-12-31 10:00 +0800", tick=False), app.app_context():
        assert assessment_rules.raise_missed_cycles() == 0  # 2025-2027 not yet over
    with time_machine.travel("2028-01-02 10:00 +0800", tick=False):
        with app.app_context():
            assert assessment_rules.raise_missed_cycles() == 1  # not the one who took part
            assert assessment_rules.raise_missed_cycles() == 0  # under way
        officer = _client(app, "weijian01")
        task_id = _open_task(app)
        page = officer.get(f"/inbox/tasks/{task_id}").get_data(as_text=True)
        assert "宋宏强" in page and "连续两个考核周期未参加定期考核" in page
        assert "2022-2024、2025-2027两个考核周期均未参加医师定期考核" in page
        resp = officer.post(f"/inbox/tasks/{task_id}/complete",
                            {"decision": "refuse", "note": "该医师已参加补考，待机构补录"})
        assert resp.status_code == 302
        with app.app_context():
            assert assessment_rules.raise_missed_cycles() == 0  # decided: not raised again
        assert _status(app, missing) == ("ACTIVE", None)
        assert "（<span class=\"status\">有效</span>）" in _practice(app)


def test_missed_cycles_count_only_while_registered(app: Flask, web_world: World) -> None:
    # 医师执业注册管理办法 第十八条: a cycle before the registration is not missed; R-28
    _registration(app, web_world, approved=date(2023, 5, 1))
    with time_machine.travel("2028-01-02 10:00 +0800", tick=False), app.app_context():
        assert assessment_rules.raise_missed_cycles() == 0
    with time_machine.travel("2031-01-02 10:00 +0800", tick=False), app.app_context():
        # 2025-2027 and 2028-2030 missed, both while registered
        assert assessment_rules.raise_missed_cycles() == 1


def test_cycles_before_the_configured_year_are_not_counted(app: Flask,
                                                          web_world: World) -> None:
    # 医师执业注册管理办法 第十八条; R-28: a province whose 2022-2024 results were never entered
    _registration(app, web_world)
    app.config["MEDREG_MISSED_CYCLES_FROM"] = 2025
    try:
        with time_machine.travel("2028-01-02 10:00 +0800", tick=False), app.app_context():
            assert assessment_rules.raise_missed_cycles() == 0
        with time_machine.travel("2031-01-02 10:00 +0800", tick=False), app.app_context():
            assert assessment_rules.raise_missed_cycles() == 1  # 2025-2027 and 2028-2030
    finally:
        app.config["MEDREG_MISSED_CYCLES_FROM"] = None


def test_the_inbox_row_names_the_physician(app: Flask, web_world: World) -> None:
    # 医师法 第十七条: the commission's inbox shows the case it must decide; R-28
    reg_id = _registration(app, web_world)
    with time_machine.travel("2028-01-02 10:00 +0800", tick=False):
        with app.app_context():
            assert assessment_rules.raise_missed_cycles() == 1
        inbox = _client(app, "weijian01").get("/inbox/").get_data(as_text=True)
        row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*宋宏强(?:(?!</tr>).)*</tr>", inbox, re.S)
        assert row is not None and "依职权注销" in row.group(0)
    assert _status(app, reg_id) == ("ACTIVE", None)
