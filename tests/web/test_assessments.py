"""定期考核 results entered by the main institution (医师法 第四十二条; 医师执业注册管理办法
第十一条), shown on the physician's 考核信息 page, and the three-year reminder."""

from __future__ import annotations

import io
import re
from datetime import date

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import Assessment
from app.models import OutboxMessage
from app.models import Registration
from app.models import User
from app.services.engine import rules
from tests.conftest import WebClient
from tests.factories import World

CERT = "110140100000777"
OTHER_CERT = "110530100000888"


def _registrations(app: Flask, world: World) -> tuple[int, int]:
    """宋宏强 practises at 山西大学医院, 李明华 at 昆明市第一人民医院."""
    with app.app_context():
        ids = []
        for uid, inst, auth, cert, place in (
                (world.doctor_id, world.hospital_id, world.authority_id, CERT, "140000"),
                (world.doctor2_id, world.other_hospital_id, world.other_authority_id,
                 OTHER_CERT, "530000")):
            u = db.session.get(User, uid)
            assert u is not None
            reg = Registration(qualification_id=u.qualification_id, level="执业医师",
                               category="1", scopes=["11"], place_region=place,
                               institution_id=inst, authority_id=auth, status="ACTIVE",
                               cert_no=cert)
            db.session.add(reg)
            db.session.flush()
            ids.append(reg.id)
        db.session.commit()
        return ids[0], ids[1]


def _client(app: Flask, username: str = "jigou01") -> WebClient:
    client = WebClient(app.test_client())
    client.login(username)
    return client


def test_main_institution_enters_a_result_the_physician_sees(web: WebClient, web_world: World,
                                                             app: Flask) -> None:
    # G-10: 指南 2.1 #18 考核信息
    # 医师执业注册管理办法 第十一条; 医师法 第四十二条 — R-3: the main institution enters 定期考核
    own, _other = _registrations(app, web_world)
    staff = _client(app)
    page = staff.get("/institution/assessments").get_data(as_text=True)
    assert "宋宏强" in page and CERT in page and "李明华" not in page
    resp = staff.post("/institution/assessments", {
        "registration_id": str(own), "cycle": "2022-2024", "body": "太原市卫生健康委员会",
        "procedure": "一般", "result": "不合格", "suspended_from": "2025-03-01",
        "suspended_to": "2025-08-31", "reassessment_result": "合格"}, follow_redirects=True)
    assert resp.status_code == 200 and "定期考核结果已保存" in resp.get_data(as_text=True)
    web.login("doctor01")
    text = web.get("/physician/assessment").get_data(as_text=True)
    row = re.search(r'<table class="grid cards" id="assessments">.*?</table>', text, re.S)
    assert row is not None
    for shown in ("2022-2024", "太原市卫生健康委员会", "一般", "不合格", "2025年03月01日",
                  "2025年08月31日", "合格", "山西大学医院"):
        assert shown in row.group(0)


def test_same_cycle_again_corrects_the_result(web: WebClient, web_world: World,
                                              app: Flask) -> None:
    # 医师执业注册管理办法 第十一条 — R-3: one result per physician and cycle
    own, _other = _registrations(app, web_world)
    staff = _client(app)
    for result in ("未参加", "合格"):
        assert staff.post("/institution/assessments", {
            "registration_id": str(own), "cycle": "2022—2024", "body": "太原市卫生健康委员会",
            "procedure": "简易", "result": result}).status_code == 302
    with app.app_context():
        rows = list(db.session.scalars(select(Assessment)))
        assert [(a.cycle, a.result, a.procedure) for a in rows] == [("2022-2024", "合格", "简易")]


def test_suspension_rules_are_checked_next_to_the_field(web: WebClient, web_world: World,
                                                        app: Flask) -> None:
    # 医师法 第四十二条 — R-28: fail → 暂停执业 three to six months → 再次考核
    own, _other = _registrations(app, web_world)
    staff = _client(app)
    resp = staff.post("/institution/assessments", {
        "registration_id": str(own), "cycle": "2022-2024", "body": "太原市卫生健康委员会",
        "result": "不合格", "suspended_from": "2025-03-01", "suspended_to": "2025-04-30"})
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert re.search(r'id="field-suspended_to".*?暂停执业期限为三个月至六个月', text, re.S)
    assert 'value="2025-04-30"' in text and 'value="不合格" checked' in text
    resp = staff.post("/institution/assessments", {
        "registration_id": str(own), "cycle": "2022-2023-1", "body": "",
        "result": "合格", "reassessment_result": "合格"})
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert re.search(r'id="field-cycle".*?考核周期应为起止年份', text, re.S)
    assert re.search(r'id="field-body".*?请填写考核机构', text, re.S)
    assert re.search(r'id="field-reassessment_result".*?仅考核不合格时填写', text, re.S)
    with app.app_context():
        assert db.session.scalar(select(Assessment.id)) is None


def test_only_the_main_institution_may_enter(web: WebClient, web_world: World,
                                             app: Flask) -> None:
    # 医师执业注册管理办法 第十一条 — R-3: others get 404 (institution) or 403 (other roles)
    own, other = _registrations(app, web_world)
    staff = _client(app)
    values = {"cycle": "2022-2024", "body": "太原市卫生健康委员会", "result": "合格"}
    resp = staff.post("/institution/assessments", {"registration_id": str(other), **values})
    assert resp.status_code == 404
    kunming = _client(app, "jigou02")
    assert kunming.post("/institution/assessments",
                        {"registration_id": str(own), **values}).status_code == 404
    web.login("doctor01")
    assert web.get("/institution/assessments").status_code == 403
    assert web.post("/institution/assessments",
                    {"registration_id": str(own), **values}).status_code == 403
    officer = _client(app, "weijian01")
    assert officer.get("/institution/assessments").status_code == 403
    with app.app_context():
        assert db.session.scalar(select(Assessment.id)) is None
    assert "暂无考核信息" in web.get("/physician/assessment").get_data(as_text=True)


def test_csv_import_reports_each_bad_row(web: WebClient, web_world: World, app: Flask) -> None:
    # 医师执业注册管理办法 第十一条 — R-3: CSV import, same checks, per-row error report
    _registrations(app, web_world)
    staff = _client(app)
    template = staff.get("/institution/assessments/template.csv").get_data(as_text=True)
    assert template.lstrip("\ufeff").startswith("执业证书编码,姓名,考核周期,考核机构")
    body = ("执业证书编码,姓名,考核周期,考核机构,考核程序,考核结果,暂停执业开始日期,"
            "暂停执业结束日期,再次考核结果\n"
            f"{CERT},宋宏强,2022-2024,太原市卫生健康委员会,一般,合格,,,\n"
            f"{OTHER_CERT},李明华,2022-2024,昆明市卫生健康委员会,一般,合格,,,\n"
            f"{CERT},宋宏强,2019-2020,太原市卫生健康委员会,一般,不合格,2021-01-01,2021-12-31,\n"
            f"{CERT},张三,2016-2017,太原市卫生健康委员会,一般,良好,,,\n")
    resp = staff.post("/institution/assessments/import",
                      {"file": (io.BytesIO(body.encode("gb18030")), "考核.csv")},
                      content_type="multipart/form-data")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "共 4 行，成功 1 行，失败 3 行" in text
    table = re.search(r'id="import-errors">.*?</table>', text, re.S)
    assert table is not None
    errors = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>",
                        table.group(0))
    assert ("3", "执业证书编码", f"本机构没有执业证书编码为 {OTHER_CERT} 的在册医师") in errors
    assert ("4", "暂停执业结束日期", "暂停执业期限为三个月至六个月") in errors
    assert ("5", "姓名", "姓名与执业证书编码不一致") in errors
    assert ("5", "考核结果", "请选择考核结果：合格、不合格或未参加") in errors
    link = re.search(r'href="(/institution/assessments/import/\d+/errors\.csv)"', text)
    assert link is not None
    report = staff.get(link.group(1)).get_data(as_text=True)
    assert "行号,列,问题" in report and "姓名与执业证书编码不一致" in report
    assert _client(app, "jigou02").get(link.group(1)).status_code == 404
    web.login("doctor01")
    mine = web.get("/physician/assessment").get_data(as_text=True)
    assert "2022-2024" in mine and "2019-2020" not in mine
    assert "暂无考核信息" in _client(app, "doctor02").get("/physician/assessment").get_data(
        as_text=True)


def test_reminder_only_when_the_cycle_has_no_pass(web: WebClient, web_world: World,
                                                  app: Flask) -> None:
    # 医师法 第四十二条 — R-28: the 3-year reminder goes to physicians whose assessment is due
    own, other = _registrations(app, web_world)
    with app.app_context():
        for uid in (web_world.doctor_id, web_world.doctor2_id):
            u = db.session.get(User, uid)
            assert u is not None
            u.activated = True
        db.session.commit()
    staff = _client(app)
    assert staff.post("/institution/assessments", {
        "registration_id": str(own), "cycle": "2025-2027", "body": "太原市卫生健康委员会",
        "result": "不合格", "suspended_from": "2026-01-01",
        "suspended_to": "2026-06-30"}).status_code == 302
    kunming = _client(app, "jigou02")
    assert kunming.post("/institution/assessments", {
        "registration_id": str(other), "cycle": "2025-2027", "body": "昆明市卫生健康委员会",
        "result": "合格"}).status_code == 302
    with app.app_context():
        assert rules.assessment_cycle(date(2027, 8, 1)) == (2025, 2027)
        assert rules.remind_assessments(date(2027, 8, 1)) == 1  # failed, not yet re-assessed
        to = list(db.session.scalars(select(OutboxMessage.recipient_user_id).where(
            OutboxMessage.subject == "定期考核提醒")))
        assert to == [web_world.doctor_id]
    assert staff.post("/institution/assessments", {
        "registration_id": str(own), "cycle": "2025-2027", "body": "太原市卫生健康委员会",
        "result": "不合格", "suspended_from": "2026-01-01", "suspended_to": "2026-06-30",
        "reassessment_result": "合格"}).status_code == 302
    with app.app_context():
        db.session.execute(OutboxMessage.__table__.delete())
        db.session.commit()
        assert rules.remind_assessments(date(2027, 8, 2)) == 0  # passed the re-assessment
