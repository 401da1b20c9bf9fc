"""医师执业注册信息查询 and online verification: public fields only, signed QR links."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
import time_machine
from flask import Flask

from app.extensions import db
from app.models import Registration
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import user

CERT = "110140100007777"


def _registered(app: Flask, world: World) -> tuple[str, str, str]:
    with app.app_context():
        doctor = user(world.doctor_id)
        db.session.add(Registration(qualification_id=doctor.qualification_id, level="执业医师",
                                    category="1", scopes=["11"], place_region="140000",
                                    institution_id=world.hospital_id,
                                    authority_id=world.authority_id, status="ACTIVE",
                                    cert_no=CERT))
        db.session.commit()
        return doctor.display_name, doctor.id_number or "", doctor.mobile or ""


def test_search_shows_public_fields_only(web: WebClient, web_world: World, app: Flask) -> None:
    # 医师法 第二十一条 (R-1): the public may query physicians' registration; no ID number is shown
    name, id_number, mobile = _registered(app, web_world)
    web.get("/public/register")
    resp = web.post("/public/register", {"name": name})
    assert resp.status_code == 422 and "请输入姓名并选择省份或执业机构" in resp.get_data(as_text=True)
    for query in ({"cert_no": CERT}, {"name": name, "province": "14"},
                  {"name": name, "institution": "山西大学医院"}):
        text = web.post("/public/register", query).get_data(as_text=True)
        assert name in text and "山西大学医院" in text and "内科专业" in text and CERT in text
        assert id_number not in text and mobile not in text
    text = web.post("/public/register", {"name": name, "province": "53"}).get_data(as_text=True)
    assert "未查询到符合条件的医师执业注册信息" in text


def test_the_search_needs_the_captcha(web: WebClient, web_world: World,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDREG_CAPTCHA", "on")
    web.get("/public/register")
    resp = web.post("/public/register", {"cert_no": CERT, "captcha": "XXXX"})
    assert resp.status_code == 422 and "验证码不正确" in resp.get_data(as_text=True)


def test_certificate_qr_link_verifies_online(web: WebClient, web_world: World, app: Flask) -> None:
    name, _id, _m = _registered(app, web_world)
    with app.app_context():
        reg_id = db.session.query(Registration.id).scalar()
    web.login("doctor01")
    assert f"/public/certificates/{reg_id}" in web.get("/physician/practice").get_data(as_text=True)
    page = web.get(f"/public/certificates/{reg_id}").get_data(as_text=True)
    assert "<svg" in page
    link = re.search(r'<a class="verify" href="([^"]+)"', page)
    assert link, "the page links to the verification"
    path = link.group(1).split("localhost", 1)[-1]
    anonymous = WebClient(app.test_client())
    ok = anonymous.get(path)
    assert ok.status_code == 200 and "证书真实有效" in ok.get_data(as_text=True)
    bad = anonymous.get(path[:-3] + "abc")
    assert bad.status_code == 404 and "链接无效" in bad.get_data(as_text=True)
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=25), tick=False):
        assert anonymous.get(path).status_code == 404
    other = WebClient(app.test_client())
    other.login("doctor02")
    assert other.get(f"/public/certificates/{reg_id}").status_code == 404


@pytest.mark.parametrize("province", ["%", "_", "1%", "_4", "%%", "99", "1", "140000", "山西省"])
def test_an_unknown_province_is_refused_next_to_the_field(web: WebClient, web_world: World, app: Flask,
                                                            province: str) -> None:
    name, _id, _m = _registered(app, web_world)
    web.get("/public/register")
    resp = web.post("/public/register", {"name": name, "province": province})
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    field = text[text.index('id="field-province"'):text.index('id="field-institution"')]
    assert "请从列表中选择执业地点（省）" in field
    assert "查询结果" not in text and CERT not in text


@pytest.mark.parametrize("name", ["%", "_", "%%", "___", "宋%", "_宏强", "%宏%"])
def test_percent_and_underscore_in_a_name_are_plain_characters(web: WebClient, web_world: World,
                                                               app: Flask, name: str) -> None:
    _registered(app, web_world)
    web.get("/public/register")
    for query in ({"name": name, "province": "14"},
                  {"name": name, "institution": "山西大学医院"}):
        text = web.post("/public/register", query).get_data(as_text=True)
        assert "未查询到符合条件的医师执业注册信息" in text and CERT not in text


def test_the_institution_is_typed_not_listed(web: WebClient, web_world: World, app: Flask) -> None:
    # 医师法 第二十一条: the query by name and institution; at national volume (a million
    # institutions) the page offers no list of them: the institution's name is typed (issue 14)
    name, _id, _m = _registered(app, web_world)
    page = web.get("/public/register").get_data(as_text=True)
    assert 'name="institution"' in page and f"<option value=\"{web_world.hospital_id}\"" not in page
    found = web.post("/public/register", {"name": name, "institution": " 山西大学医院 "}).get_data(as_text=True)
    assert CERT in found
    other = web.post("/public/register", {"name": name, "institution": "山西大学"}).get_data(as_text=True)
    assert "未查询到符合条件的医师执业注册信息" in other and CERT not in other
