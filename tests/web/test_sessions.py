"""Sessions that end when they should and cookies that hold nothing (issue 10, items 3–5)."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import time_machine
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMessage
from tests.conftest import WebClient
from tests.factories import PASSWORD
from tests.factories import World

T0 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
PHONE = "15175070658"  # doctor01's verified phone


def _signed_in(app: Flask, username: str = "doctor01", password: str = PASSWORD) -> WebClient:
    client = WebClient(app.test_client())
    assert client.login(username, password).status_code == 302
    return client


def _copy(app: Flask, original: WebClient) -> WebClient:
    """A stranger's browser with a copy of the session cookie."""
    thief = WebClient(app.test_client())
    cookie = original.client.get_cookie("session")
    assert cookie is not None
    thief.client.set_cookie("session", cookie.value)
    thief.token = original.token
    return thief


def _in(client: WebClient, url: str = "/physician/") -> bool:
    resp = client.client.get(url)
    return resp.status_code == 200


def _last_code(app: Flask, target: str) -> str:
    with app.app_context():
        body = db.session.scalar(select(OutboxMessage.body).where(
            OutboxMessage.recipient == target).order_by(OutboxMessage.id.desc()).limit(1))
        db.session.remove()
    m = re.search(r"(?<!\d)\d{6}(?!\d)", body or "")
    assert m, body
    return m.group(0)


# ---- 3. sessions are revoked ------------------------------------------------------------

def test_a_copied_cookie_stops_working_after_sign_out(app: Flask, web_world: World) -> None:
    owner = _signed_in(app)
    thief = _copy(app, owner)
    assert _in(thief)
    owner.post("/logout")
    assert not _in(owner)
    resp = thief.client.get("/physician/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_a_password_change_ends_every_other_session(app: Flask, web_world: World) -> None:
    owner, other_desk = _signed_in(app), _signed_in(app)
    thief = _copy(app, owner)
    owner.get("/account/security/password")
    resp = owner.post("/account/security/password", {"old": PASSWORD, "password": "Newpass99",
                                                     "confirm": "Newpass99"})
    assert resp.status_code == 302
    assert _in(owner)  # the person who changed it stays signed in
    assert not _in(other_desk) and not _in(thief)
    # the thief cannot sign in with the old password either
    assert WebClient(app.test_client()).login("doctor01", PASSWORD).status_code == 401


def test_changing_the_phone_asks_for_the_password_again_after_five_minutes(
        app: Flask, web_world: World) -> None:
    with time_machine.travel(T0, tick=False) as traveller:
        owner = _signed_in(app)
        thief = _copy(app, owner)
        traveller.shift(timedelta(minutes=6))
        # the stranger with a copied cookie meets 确认密码, not the phone form
        resp = thief.client.get("/account/security/mobile")
        assert resp.status_code == 302 and "/account/security/reauth" in resp.headers["Location"]
        thief.get("/account/security/reauth")
        resp = thief.post("/account/security/reauth?next=/account/security/mobile",
                          {"password": "guess123"})
        assert resp.status_code == 422 and "密码不正确" in resp.get_data(as_text=True)
        resp = thief.post("/account/security/mobile", {"action": "send", "target": "13800000001"})
        assert resp.status_code == 302 and "reauth" in resp.headers["Location"]
        with app.app_context():
            assert db.session.scalar(select(OutboxMessage.id).where(
                OutboxMessage.recipient == "13800000001")) is None
            db.session.remove()
        # the owner, who knows the password, changes the phone; the thief's copy ends
        owner.get("/account/security/reauth")
        resp = owner.post("/account/security/reauth?next=/account/security/mobile",
                          {"password": PASSWORD})
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/account/security/mobile")
        owner.get("/account/security/mobile")
        owner.post("/account/security/mobile", {"action": "send", "target": "13800000002"})
        resp = owner.post("/account/security/mobile", {"action": "confirm", "target": "13800000002",
                                                       "code": _last_code(app, "13800000002")})
        assert resp.status_code == 302
        assert _in(owner) and not _in(thief)
        page = owner.get("/account/security").get_data(as_text=True)
        assert "138****0002" in page


def test_recovery_disabling_and_unlock_end_every_session(app: Flask, web_world: World) -> None:
    doctor = _signed_in(app)
    admin = _signed_in(app, "admin01")
    admin.get("/admin/users")
    admin.post(f"/admin/users/{web_world.doctor_id}/unlock", {})
    assert not _in(doctor)
    doctor = _signed_in(app)
    admin.post(f"/admin/users/{web_world.doctor_id}/disable", {})
    assert not _in(doctor)
    admin.post(f"/admin/users/{web_world.doctor_id}/enable", {})
    doctor = _signed_in(app)
    stranger = WebClient(app.test_client())
    stranger.get("/account/recover/mobile")
    stranger.post("/account/recover/mobile", {"action": "send", "target": PHONE})
    resp = stranger.post("/account/recover/mobile", {
        "action": "reset", "target": PHONE, "code": _last_code(app, PHONE),
        "password": "Recover77", "confirm": "Recover77"})
    assert resp.status_code == 200 and "doctor01" in resp.get_data(as_text=True)
    assert not _in(doctor)


# ---- 4. nothing personal or secret in the cookie -----------------------------------------

def _readable(app: Flask, client: WebClient) -> object:
    """What anyone holding the cookie could read from it with Flask's cookie format."""
    cookie = client.client.get_cookie("session")
    assert cookie is not None
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    try:
        return serializer.loads(cookie.value)
    except Exception:  # noqa: BLE001 - anything but a readable payload
        return None


def test_sign_up_step_one_keeps_the_id_number_on_the_server(app: Flask, web_world: World) -> None:
    visitor = WebClient(app.test_client())
    visitor.get("/account/register")
    resp = visitor.post("/account/register", {"name": "张三丰", "id_number": "11010519491231002X"})
    assert resp.status_code == 302
    page = visitor.get("/account/register/account").get_data(as_text=True)
    assert "张三丰" in page  # the server remembers step 1
    cookie = visitor.client.get_cookie("session")
    assert cookie is not None and re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie.value)
    assert _readable(app, visitor) is None
    assert "11010519491231002X" not in cookie.value


def test_an_initial_password_is_shown_once_even_to_a_replayed_cookie(app: Flask,
                                                                     web_world: World) -> None:
    admin = _signed_in(app, "admin01")
    admin.get("/admin/users")
    resp = admin.post("/admin/users", {"role": "institution", "username": "newstaff1",
                                       "display_name": "新同事", "org_code": "R-140-1"})
    assert resp.status_code == 302
    replay = _copy(app, admin)
    page = admin.get(resp.headers["Location"]).get_data(as_text=True)
    shown = re.search(r"\b(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{12}\b", page)
    assert "newstaff1" in page and shown
    again = replay.client.get(resp.headers["Location"])
    assert again.status_code == 302 and shown.group(0) not in again.get_data(as_text=True)
    assert _readable(app, admin) is None


# ---- 5. no enumeration, no lock-out of others ---------------------------------------------

def _answer(resp: object) -> tuple[int, str]:
    text = resp.get_data(as_text=True)  # type: ignore[attr-defined]
    m = re.search(r'class="error form-error"[^>]*>([^<]*)<', text)
    return resp.status_code, m.group(1) if m else ""  # type: ignore[attr-defined]


def test_six_wrong_passwords_answer_the_same_for_real_and_unknown_accounts(
        app: Flask, web_world: World) -> None:
    with time_machine.travel(T0, tick=False):
        for login in ("doctor01", "nosuchuser", "110000200001010001"):
            answers = {_answer(WebClient(app.test_client()).login(login, "wrong1")) for _ in range(6)}
            assert answers == {(401, "用户名或密码错误")}, (login, answers)


def test_a_stranger_cannot_lock_the_owner_out(app: Flask, web_world: World) -> None:
    with time_machine.travel(T0, tick=False) as traveller:
        for _ in range(12):
            WebClient(app.test_client()).login("doctor01", "wrong1")
        # password tries of this account now wait; the owner signs in with a code at once
        owner = WebClient(app.test_client())
        owner.get("/login/sms")
        resp = owner.post("/login/sms", {"action": "send", "target": PHONE})
        assert resp.status_code == 200 and "校验码已发送" in resp.get_data(as_text=True)
        resp = owner.post("/login/sms", {"action": "login", "target": PHONE,
                                         "code": _last_code(app, PHONE)})
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/physician/")
        assert _in(owner)
        # and the password works again right away after that
        assert WebClient(app.test_client()).login("doctor01").status_code == 302
        # the waits are bounded: 15 minutes after a stranger's burst, the password works
        for _ in range(12):
            WebClient(app.test_client()).login("doctor01", "wrong1")
        traveller.shift(timedelta(minutes=15, seconds=1))
        assert WebClient(app.test_client()).login("doctor01").status_code == 302


def test_the_owner_is_told_about_repeated_failures(app: Flask, web_world: World) -> None:
    for _ in range(5):
        WebClient(app.test_client()).login("doctor01", "wrong1")
    with app.app_context():
        bodies = db.session.scalars(select(OutboxMessage.body).where(
            OutboxMessage.recipient == PHONE)).all()
        db.session.remove()
    assert any("连续多次密码错误" in b for b in bodies)


def test_sms_sign_in_answers_the_same_for_unknown_numbers(app: Flask, web_world: World) -> None:
    visitor = WebClient(app.test_client())
    visitor.get("/login/sms")
    known = visitor.post("/login/sms", {"action": "send", "target": PHONE})
    unknown = visitor.post("/login/sms", {"action": "send", "target": "13900001111"})
    assert known.status_code == unknown.status_code == 200
    flash = "如果该手机号已通过验证，校验码已发送，请查收。"
    assert flash in known.get_data(as_text=True) and flash in unknown.get_data(as_text=True)


def test_a_session_ended_meanwhile_is_not_renewed(app: Flask, web_world: World) -> None:
    """A security change in flight (renew) while the owner ends every session elsewhere."""
    from app.services.accounts import websessions
    from app.web.sessions import ServerSessionInterface

    owner = _signed_in(app)
    cookie = owner.client.get_cookie("session")
    assert cookie is not None
    interface = ServerSessionInterface()
    with app.test_request_context("/account/security", headers={"Cookie": f"session={cookie.value}"}):
        from flask import request

        session = interface.open_session(app, request)
        assert session.sid is not None and session.get("_user_id")
        session.renew = True
        websessions.end_all(web_world.doctor_id)  # the password changed in another browser
        db.session.commit()
        response = app.response_class()
        interface.save_session(app, session, response)
        assert websessions.count(web_world.doctor_id) == 0
        assert "session=;" in response.headers.get("Set-Cookie", "")
