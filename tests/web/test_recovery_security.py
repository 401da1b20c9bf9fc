"""找回您的登录账户 and 安全设置."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.models import OutboxMessage
from app.models import User
from tests.conftest import WebClient
from tests.factories import World

MOBILE = "15175070658"  # doctor01's verified phone in the test world


def _last_code(app: Flask, target: str) -> str:
    with app.app_context():
        body = db.session.scalar(select(OutboxMessage.body).where(
            OutboxMessage.recipient == target).order_by(OutboxMessage.id.desc()))
    m = re.search(r"\d{6}", body or "")
    assert m, "no code was sent"
    return m.group(0)


def test_recover_by_phone_does_not_reveal_accounts(web: WebClient, web_world: World,
                                                   app: Flask) -> None:
    web.get("/account/recover/mobile")
    known = web.post("/account/recover/mobile", {"action": "send", "target": MOBILE})
    unknown = web.post("/account/recover/mobile", {"action": "send", "target": "13800000000"})
    k, u = known.get_data(as_text=True), unknown.get_data(as_text=True)
    assert "如果该手机号已通过验证，校验码已发送" in k and "如果该手机号已通过验证，校验码已发送" in u
    assert known.status_code == unknown.status_code == 200
    with app.app_context():
        assert not db.session.scalar(select(OutboxMessage.id).where(
            OutboxMessage.recipient == "13800000000"))
    resp = web.post("/account/recover/mobile", {"action": "reset", "target": "13800000000",
                                                "code": "123456", "password": "Newpass1",
                                                "confirm": "Newpass1"})
    assert "校验码不正确或已失效" in resp.get_data(as_text=True)
    code = _last_code(app, MOBILE)
    resp = web.post("/account/recover/mobile", {"action": "reset", "target": MOBILE, "code": code,
                                                "password": "Newpass1", "confirm": "Newpass1"})
    assert "您的登录用户名是" in resp.get_data(as_text=True) and "doctor01" in resp.get_data(as_text=True)
    assert web.login("doctor01", "Newpass1").status_code == 302


def _by_identity(web: WebClient, **fields: str):  # type: ignore[no-untyped-def]
    web.get("/account/recover/identity")
    return web.post("/account/recover/identity", {"password": "Newpass2", "confirm": "Newpass2",
                                                  **fields})


NO_MATCH = "您输入的信息与我们的记录不符"


# 指南 FAQ 找回您的登录账户 #12 (R-20): "如果您的手机号和邮箱都未验证可通过账户注册时填写的个人信息找回
# 登录账户！" — refused while a phone or e-mail is verified (then the phone/e-mail way is open)
def test_recover_by_personal_information_only_without_a_verified_contact(
        web: WebClient, web_world: World, app: Flask) -> None:
    # G-21: 指南 FAQ 找回 #12 通过个人信息找回
    with app.app_context():
        doctor = db.session.get(User, web_world.doctor_id)
        name, rid, cert = doctor.display_name, doctor.id_number, doctor.qualification.cert_no
        assert doctor.mobile_verified
    mine = {"name": name, "id_number": rid, "mobile": MOBILE, "cert_no": cert}
    resp = _by_identity(web, **mine)
    assert NO_MATCH in resp.get_data(as_text=True)
    assert web.login("doctor01", "Newpass2").status_code == 401
    with app.app_context():
        doctor = db.session.get(User, web_world.doctor_id)
        doctor.mobile_verified = False
        doctor.email_verified = True
        db.session.commit()
    assert NO_MATCH in _by_identity(web, **mine).get_data(as_text=True)
    with app.app_context():
        db.session.get(User, web_world.doctor_id).email_verified = False
        db.session.commit()
    # neither verified: wrong certificate, wrong phone, unknown person get the same answer
    wrong = _by_identity(web, **{**mine, "cert_no": cert[:-1] + "9"})
    phone = _by_identity(web, **{**mine, "mobile": "13800000000"})
    nobody = _by_identity(web, name="无此人", id_number="11010519491231002X", mobile=MOBILE,
                          cert_no=cert)
    assert wrong.status_code == phone.status_code == nobody.status_code
    for resp in (wrong, phone, nobody):
        assert NO_MATCH in resp.get_data(as_text=True)
    ok = _by_identity(web, **{**mine, "id_number": rid.lower()})
    assert "您的登录用户名是" in ok.get_data(as_text=True) and "doctor01" in ok.get_data(as_text=True)
    assert web.login("doctor01", "Newpass2").status_code == 302


# 指南 FAQ 找回您的登录账户 #12: an account the records did not match (no 资格证书编码 to
# give) recovers with its name, ID number and the phone it signed up with
def test_an_unmatched_account_recovers_by_personal_information(web: WebClient, app: Flask,
                                                               clean_db: None) -> None:
    rid = "11010519491231002X"
    web.get("/account/register")
    web.post("/account/register", {"name": "阿依古丽•买买提", "id_number": rid})
    web.get("/account/register/account")
    resp = web.post("/account/register/account", {
        "mobile": "13912345678", "email": "ayi@example.cn", "username": "ayiguli01",
        "password": "Abc12345", "confirm": "Abc12345"})
    assert resp.status_code == 302
    web.post("/logout")
    other = WebClient(app.test_client())
    with_cert = _by_identity(other, name="阿依古丽·买买提", id_number=rid, mobile="13912345678",
                             cert_no="201214110123456789012")
    assert NO_MATCH in with_cert.get_data(as_text=True)
    ok = _by_identity(other, name="阿依古丽·买买提", id_number=rid, mobile="13912345678")
    assert "ayiguli01" in ok.get_data(as_text=True)
    resp = other.login("ayiguli01", "Newpass2")
    assert resp.status_code == 302
    page = other.get(resp.headers["Location"]).get_data(as_text=True)
    assert "未查询到医师资格信息！" in page  # back on the activation page, still to be matched


# limits per identity: five wrong tries close the path for the ID, whichever account
def test_personal_information_recovery_is_limited_per_identity(web: WebClient, app: Flask,
                                                               clean_db: None) -> None:
    rid = "11010519491231002X"
    web.get("/account/register")
    web.post("/account/register", {"name": "李四", "id_number": rid})
    web.get("/account/register/account")
    web.post("/account/register/account", {
        "mobile": "13912345678", "email": "lisi@example.cn", "username": "lisi0001",
        "password": "Abc12345", "confirm": "Abc12345"})
    web.post("/logout")
    for i in range(5):
        resp = _by_identity(WebClient(app.test_client()), name="李四", id_number=rid,
                            mobile=f"1391234560{i}")
        assert NO_MATCH in resp.get_data(as_text=True)
    resp = _by_identity(WebClient(app.test_client()), name="李四", id_number=rid,
                        mobile="13912345678")
    assert "错误次数过多" in resp.get_data(as_text=True)
    assert WebClient(app.test_client()).login("lisi0001", "Newpass2").status_code == 401


def test_security_page_masks_and_changes_the_phone(web: WebClient, web_world: World,
                                                   app: Flask) -> None:
    web.login("doctor01")
    text = web.get("/account/security").get_data(as_text=True)
    assert "已校验手机：151****0658" in text and MOBILE not in text
    web.get("/account/security/mobile")
    resp = web.post("/account/security/mobile", {"action": "send", "target": "1391234"})
    assert "请输入11位手机号码" in resp.get_data(as_text=True)
    web.post("/account/security/mobile", {"action": "send", "target": "13912345678"})
    resp = web.post("/account/security/mobile", {"action": "confirm", "target": "13912345678",
                                                 "code": "000000"})
    assert "校验码不正确" in resp.get_data(as_text=True)
    code = _last_code(app, "13912345678")
    resp = web.post("/account/security/mobile", {"action": "confirm", "target": "13912345678",
                                                 "code": code})
    assert resp.status_code == 302
    with app.app_context():
        user = db.session.get(User, web_world.doctor_id)
        assert user.mobile == "13912345678" and user.mobile_verified
        assert db.session.scalar(select(AuditEvent.id).where(
            AuditEvent.action == "account.mobile_change"))
        warned = db.session.scalar(select(OutboxMessage.body).where(
            OutboxMessage.recipient == MOBILE, OutboxMessage.subject == "账户安全提醒"))
        assert warned and "更换" in warned  # the old number is told


def test_change_password_needs_the_old_one(web: WebClient, web_world: World, app: Flask) -> None:
    web.login("doctor01")
    web.get("/account/security/password")
    resp = web.post("/account/security/password", {"old": "wrong1", "password": "Newpass3",
                                                   "confirm": "Newpass3"})
    assert "原密码不正确" in resp.get_data(as_text=True)
    resp = web.post("/account/security/password", {"old": "Passw0rd1", "password": "short",
                                                   "confirm": "short"})
    assert "6至16位" in resp.get_data(as_text=True)
    resp = web.post("/account/security/password", {"old": "Passw0rd1", "password": "Newpass3",
                                                   "confirm": "Newpass3"})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.id).where(
            AuditEvent.action == "account.password_change"))
    web.post("/logout")
    assert web.login("doctor01", "Passw0rd1").status_code == 401
    assert web.login("doctor01", "Newpass3").status_code == 302
