"""The bars of 医师法 第十六条 are time-limited: 吊销 bars 注册 for two years from the decision,
注销 for a failed assessment for one year; the page says until when."""

from __future__ import annotations

from datetime import date

import time_machine
from flask import Flask

from app.extensions import db
from app.models import Penalty
from app.models import Registration
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import user


def _registration(world: World, status: str, **kw: object) -> int:
    reg = Registration(qualification_id=user(world.doctor_id).qualification_id, level="执业医师",
                       category="1", scopes=["11"], place_region="140000",
                       institution_id=world.hospital_id, authority_id=world.authority_id,
                       status=status, cert_no="110140100008888", **kw)
    db.session.add(reg)
    db.session.commit()
    return reg.id


def _apply_page(app: Flask) -> str:
    doctor = WebClient(app.test_client())
    doctor.login("doctor01")
    return str(doctor.get("/physician/apply/registration").get_data(as_text=True))


def test_revocation_bars_registration_for_two_years_from_the_decision(app: Flask,
                                                                     web_world: World) -> None:
    # 医师法 第十六条(三) (吊销: 不满二年不予注册)
    with app.app_context():
        reg_id = _registration(web_world, "REVOKED", status_changed_on=date(2024, 6, 1))
        db.session.add(Penalty(registration_id=reg_id, kind="REVOKED",
                               decided_on=date(2024, 5, 20), document_no="并卫罚〔2024〕3号",
                               reason="出借执业证书"))  # the penalty's date counts
        db.session.commit()
    with time_machine.travel("2026-05-19 10:00 +0800", tick=False):
        page = _apply_page(app)
        assert "您的医师执业证书于2024年5月20日被吊销" in page
        assert "2026年5月20日起方可申请注册" in page and "提交申请" not in page
    with time_machine.travel("2026-05-20 10:00 +0800", tick=False):
        page = _apply_page(app)
        assert "被吊销" not in page and "提交申请" in page  # two years on: not for ever


def test_revocation_without_a_recorded_date_is_checked_with_the_authority(
        app: Flask, web_world: World) -> None:
    # 医师法 第十六条(三): undecidable without the decision date (legacy rows); R-37
    with app.app_context():
        _registration(web_world, "REVOKED")
    assert "吊销决定日期未登记" in _apply_page(app)


def test_cancellation_for_a_failed_assessment_bars_for_one_year(app: Flask,
                                                               web_world: World) -> None:
    # 医师法 第十六条(四) (因考核不合格被注销注册不满一年)
    with app.app_context():
        _registration(web_world, "CANCELLED", status_changed_on=date(2026, 2, 10),
                      status_decided_on=date(2026, 2, 10), status_reason="assessment")
    with time_machine.travel("2027-02-09 10:00 +0800", tick=False):
        page = _apply_page(app)
        assert "于2026年2月10日因定期考核不合格被注销" in page
        assert "2027年2月10日起方可申请注册" in page and "提交申请" not in page
    with time_machine.travel("2027-02-10 10:00 +0800", tick=False):
        assert "提交申请" in _apply_page(app)


def test_cancellation_for_another_reason_does_not_bar(app: Flask, web_world: World) -> None:
    # 医师法 第十六条: only the listed cases bar; 本人申请注销 does not; R-16
    with app.app_context():
        _registration(web_world, "CANCELLED", status_changed_on=date(2026, 2, 10),
                      status_decided_on=date(2026, 2, 10), status_reason="own_request")
    with time_machine.travel("2026-03-01 10:00 +0800", tick=False):
        assert "提交申请" in _apply_page(app)


def test_the_assessment_reason_is_kept_when_the_commission_cancels(world: World) -> None:
    # 医师法 第十六条(四) is decidable because the 注销 keeps its reason code; R-29
    from sqlalchemy import select

    from app.models import HumanTask
    from app.services.applications.types.registration import refusal
    from app.services.engine import processes
    from app.services.engine.clock import today_cst
    reg_id = _registration(world, "ACTIVE")
    iid = processes.start_case(user(world.officer_id), "cancellation_ex_officio", {
        "registration_id": reg_id, "reason": "assessment",
        "event_date": today_cst().isoformat()}).instance_id
    task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid,
                                                     HumanTask.status == "open"))
    processes.complete_task(user(world.officer_id), task.id, {"decision": "approve"})
    db.session.expire_all()
    reg = db.session.get(Registration, reg_id)
    assert (reg.status, reg.status_reason, reg.status_decided_on) == (
        "CANCELLED", "assessment", today_cst())
    assert "因定期考核不合格被注销" in (refusal(user(world.doctor_id)) or "")
