"""Penalties on record: the registration's commission records 暂停执业 and 吊销 from its console;
the status follows, a suspension ends by itself, and nobody else may record."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

import time_machine
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.models import MultiFiling
from app.models import Penalty
from app.models import Registration
from app.services.engine import rules
from app.services.engine.clock import today_cst
from app.services.records import imports
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import user

CERT = "110140100006666"


def _registration(world: World) -> int:
    reg = Registration(qualification_id=user(world.doctor_id).qualification_id, level="执业医师",
                       category="1", scopes=["11"], place_region="140000",
                       institution_id=world.hospital_id, authority_id=world.authority_id,
                       status="ACTIVE", cert_no=CERT, approved_on=date(2020, 1, 1))
    db.session.add(reg)
    db.session.flush()
    db.session.add(MultiFiling(registration_id=reg.id, institution_id=world.other_hospital_id,
                               scopes=["11"], valid_from=date(2020, 1, 1),
                               valid_to=date(2099, 1, 1), authority_id=world.other_authority_id,
                               filed_on=date(2020, 1, 1), status="ACTIVE"))
    db.session.commit()
    return reg.id


def _officer(app: Flask, username: str = "weijian01") -> WebClient:
    client = WebClient(app.test_client())
    client.login(username)
    return client


def test_commission_records_a_suspension_which_ends_by_itself(app: Flask,
                                                             web_world: World) -> None:
    # 医师法 第五十五条 (暂停执业); DOMAIN §3.8 暂停执业 / 有效
    with app.app_context():
        reg_id = _registration(web_world)
    officer = _officer(app)
    assert 'href="/inbox/penalties"' in officer.get("/inbox/").get_data(as_text=True)  # menu
    found = officer.get(f"/inbox/penalties?cert_no={CERT}")
    assert found.status_code == 302
    url = f"/inbox/registrations/{reg_id}/penalties"
    assert found.headers["Location"].endswith(url)
    page = officer.get(url).get_data(as_text=True)
    assert "宋宏强" in page and "暂无行政处罚记录" in page and "有效" in page
    decided = today_cst() - timedelta(days=3)
    ends = today_cst() + timedelta(days=30)
    bad = officer.post(url, {"kind": "SUSPENDED", "decided_on": decided.isoformat(),
                             "document_no": "并卫罚〔2026〕12号", "reason": "违反诊疗规范"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "请填写暂停执业截止日期" in text
    assert "并卫罚〔2026〕12号" in text and "违反诊疗规范" in text  # input kept
    ok = officer.post(url, {"kind": "SUSPENDED", "decided_on": decided.isoformat(),
                            "document_no": "并卫罚〔2026〕12号", "reason": "违反诊疗规范",
                            "ends_on": ends.isoformat()}, follow_redirects=True)
    text = ok.get_data(as_text=True)
    assert "行政处罚决定已记录" in text and "暂停执业" in text and "并卫罚〔2026〕12号" in text
    with app.app_context():
        reg = db.session.get(Registration, reg_id)
        assert (reg.status, reg.status_changed_on, reg.status_decided_on) == (
            "SUSPENDED", decided, decided)
        assert db.session.scalar(select(AuditEvent.action).where(
            AuditEvent.action == "registration.penalty.suspended")) is not None
        assert rules.end_suspensions(ends) == 0  # the end date itself is still suspended
    doctor = WebClient(app.test_client())
    doctor.login("doctor01")
    assert "暂停执业" in doctor.get("/physician/practice").get_data(as_text=True)
    with time_machine.travel(datetime.now(UTC) + timedelta(days=32), tick=False), \
            app.app_context():
        assert rules.end_suspensions() == 1
        reg = db.session.get(Registration, reg_id)
        assert (reg.status, reg.status_changed_on) == ("ACTIVE", ends + timedelta(days=1))
        assert rules.end_suspensions() == 0
    practice = doctor.get("/physician/practice").get_data(as_text=True)
    assert "有效" in practice and "暂停执业" not in practice


def test_commission_records_a_revocation(app: Flask, web_world: World) -> None:
    # 医师法 第五十五条 (吊销医师执业证书); DOMAIN §3.8 吊销
    with app.app_context():
        reg_id = _registration(web_world)
    officer = _officer(app)
    url = f"/inbox/registrations/{reg_id}/penalties"
    future = officer.post(url, {"kind": "REVOKED", "decided_on": "2099-01-01",
                                "document_no": "并卫罚〔2026〕13号", "reason": "出借执业证书"})
    assert future.status_code == 422 and "决定日期不能晚于今天" in future.get_data(as_text=True)
    decided = today_cst() - timedelta(days=1)
    resp = officer.post(url, {"kind": "REVOKED", "decided_on": decided.isoformat(),
                              "document_no": "并卫罚〔2026〕13号", "reason": "出借执业证书"})
    assert resp.status_code == 302
    with app.app_context():
        reg = db.session.get(Registration, reg_id)
        assert (reg.status, reg.status_decided_on) == ("REVOKED", decided)
        assert [f.status for f in reg.filings] == ["CANCELLED"]
    again = officer.post(url, {"kind": "SUSPENDED", "decided_on": decided.isoformat(),
                               "document_no": "并卫罚〔2026〕14号", "reason": "再次处罚",
                               "ends_on": "2099-01-01"})
    assert again.status_code == 422 and "当前为“吊销”状态" in again.get_data(as_text=True)


def test_only_the_registrations_commission_may_record(app: Flask, web_world: World) -> None:
    # 医师法 第五十五条: the 卫生健康主管部门 that approved the registration decides; R-33 (scope)
    with app.app_context():
        reg_id = _registration(web_world)
    url = f"/inbox/registrations/{reg_id}/penalties"
    form = {"kind": "REVOKED", "decided_on": today_cst().isoformat(),
            "document_no": "滇卫罚〔2026〕1号", "reason": "越权"}
    other = _officer(app, "weijian02")
    assert other.get(url).status_code == 404
    assert other.post(url, form).status_code == 404
    lookup = other.get(f"/inbox/penalties?cert_no={CERT}")
    assert lookup.status_code == 422 and "未找到本辖区" in lookup.get_data(as_text=True)
    for username in ("jigou01", "doctor01", "admin01"):
        client = WebClient(app.test_client())
        client.login(username)
        assert client.get(url).status_code == 403
        assert client.post(url, form).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(Penalty.id)) is None
        assert db.session.get(Registration, reg_id).status == "ACTIVE"


def test_the_registration_import_carries_the_status_dates(world: World) -> None:
    # 医师法 第十六条 (bars count from the decision date): the import keeps the dates; R-16
    _registration(world)
    qual_no = user(world.doctor_id).qualification.cert_no
    job_id = imports.create(user(world.admin_id), "registrations", "r.csv", (
        "执业证书编码,资格证书编码,执业范围,执业地点区划代码,主要执业机构登记号,注册机关区划代码,"
        "状态,状态日期,状态决定日期,状态事由\n"
        f"{CERT},{qual_no},11,140000,R-140-1,140100,注销,2025-03-01,2025-03-05,assessment\n"
        f"110140100006667,{qual_no},11,140000,R-140-1,140100,吊销,,2024-01-02,无此事由\n").encode())
    job = imports.get(job_id)
    while job.status != "done":
        job = imports.step(user(world.admin_id), job_id)
    assert (job.imported, job.failed) == (1, 1)
    assert job.errors[0][1] == "状态事由"
    reg = db.session.scalar(select(Registration).where(Registration.cert_no == CERT))
    assert (reg.status, reg.status_changed_on, reg.status_decided_on, reg.status_reason) == (
        "CANCELLED", date(2025, 3, 1), date(2025, 3, 5), "assessment")
