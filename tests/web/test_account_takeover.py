"""Accounts that a stranger who knows a physician's name and ID number cannot take over
(issue 10, items 1, 2 and 6)."""

from __future__ import annotations

import re
import threading
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.errors import DomainError
from app.extensions import db
from app.models import OutboxMessage
from app.models import Registration
from app.models import Role
from app.models import User
from app.services.accounts import codes
from tests.conftest import WebClient
from tests.factories import PASSWORD
from tests.factories import World
from tests.factories import make_qualification
from tests.factories import make_user

T0 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
NO_MATCH = "您输入的信息与我们的记录不符"


def _outbox(app: Flask, recipient: str) -> list[str]:
    with app.app_context():
        rows = list(db.session.scalars(select(OutboxMessage.body).where(
            OutboxMessage.recipient == recipient).order_by(OutboxMessage.id)))
        db.session.remove()
    return rows


def _code_in(body: str, digits: int = 6) -> str:
    m = re.search(rf"(?<![0-9A-Z])[0-9A-Z]{{{digits}}}(?![0-9A-Z])", body)
    assert m, body
    return m.group(0)


def _physician(app: Flask, world: World, *, verified: bool = True) -> dict[str, str | int]:
    """A registered physician at the world's hospital whose account is activated."""
    with app.app_context():
        q = make_qualification("孙七", 8)
        reg = Registration(qualification_id=q.id, level="执业医师", category="1", scopes=["11"],
                           place_region="140000", institution_id=world.hospital_id,
                           authority_id=world.authority_id, status="ACTIVE", cert_no="110140100999002")
        db.session.add(reg)
        u = make_user("sunqi001", Role.PHYSICIAN, "孙七", qualification_id=q.id, id_number=q.id_number,
                      mobile="13700000007", mobile_verified=verified, activated=True)
        db.session.commit()
        out: dict[str, str | int] = {"name": q.name, "id": q.id_number, "cert": q.cert_no,
                                     "user_id": u.id, "reg_id": reg.id}
        db.session.remove()
    return out


def _recover(client: WebClient, doc: dict[str, str | int], cert: str, password: str = "Taken123"):  # type: ignore[no-untyped-def]
    client.get("/account/recover/identity")
    return client.post("/account/recover/identity", {
        "name": doc["name"], "id_number": doc["id"], "cert_no": cert, "mobile": "13700000007",
        "password": password, "confirm": password})


# ---- 1. 通过个人信息找回 -----------------------------------------------------------------

def test_recovery_by_personal_information_is_refused_to_accounts_with_a_verified_phone(
        app: Flask, web_world: World) -> None:
    # guide 找回您的登录账户 ([Guide], [S9]; R-20): 通过个人信息找回 is for accounts with neither phone
    # nor e-mail verified
    doc = _physician(app, web_world, verified=True)
    resp = _recover(WebClient(app.test_client()), doc, str(doc["cert"]))
    assert NO_MATCH in resp.get_data(as_text=True)
    assert WebClient(app.test_client()).login("sunqi001", "Taken123").status_code == 401
    assert WebClient(app.test_client()).login("sunqi001", PASSWORD).status_code == 302


def test_five_wrong_tries_close_the_path_for_the_identity_whoever_makes_them(
        app: Flask, web_world: World) -> None:
    doc = _physician(app, web_world, verified=False)
    cert = str(doc["cert"])
    for i in range(5):  # five browsers, five guesses at the 资格证书编码
        resp = _recover(WebClient(app.test_client()), doc, cert[:4] + f"{i:02d}" + cert[6:])
        assert NO_MATCH in resp.get_data(as_text=True)
    # the right answer now fails too, from a sixth browser
    resp = _recover(WebClient(app.test_client()), doc, cert)
    assert "错误次数过多" in resp.get_data(as_text=True)
    assert WebClient(app.test_client()).login("sunqi001", "Taken123").status_code == 401
    assert any("多次尝试通过个人信息找回" in b for b in _outbox(app, "sunqi001"))  # the owner's 消息
    # 24 hours later the owner can use it again
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=24, minutes=1)):
        resp = _recover(WebClient(app.test_client()), doc, cert, "Mine1234")
        assert "sunqi001" in resp.get_data(as_text=True)
    assert WebClient(app.test_client()).login("sunqi001", "Mine1234").status_code == 302


def test_the_captcha_is_asked_on_every_recovery_try(app: Flask, web_world: World,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    doc = _physician(app, web_world, verified=False)
    monkeypatch.setenv("MEDREG_CAPTCHA", "on")
    resp = _recover(WebClient(app.test_client()), doc, str(doc["cert"]))
    assert resp.status_code == 422 and "验证码不正确" in resp.get_data(as_text=True)
    assert WebClient(app.test_client()).login("sunqi001", "Taken123").status_code == 401


# ---- 2. sign-up first, activation code ---------------------------------------------------

def _sign_up(app: Flask, name: str, id_number: str, username: str, mobile: str) -> WebClient:
    client = WebClient(app.test_client())
    client.get("/account/register")
    assert client.post("/account/register", {"name": name, "id_number": id_number}).status_code == 302
    client.get("/account/register/account")
    resp = client.post("/account/register/account", {
        "mobile": mobile, "email": f"{username}@example.cn", "username": username,
        "password": "Abc12345", "confirm": "Abc12345"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    client.get("/account/security/mobile")
    client.post("/account/security/mobile", {"action": "send", "target": mobile})
    resp = client.post("/account/security/mobile", {"action": "confirm", "target": mobile,
                                                    "code": _code_in(_outbox(app, mobile)[-1])})
    assert resp.status_code == 302
    return client


def _unregistered_physician(app: Flask, world: World) -> dict[str, str | int]:
    with app.app_context():
        q = make_qualification("周八", 9)
        reg = Registration(qualification_id=q.id, level="执业医师", category="1", scopes=["11"],
                           place_region="140000", institution_id=world.hospital_id,
                           authority_id=world.authority_id, status="ACTIVE", cert_no="110140100999003")
        db.session.add(reg)
        db.session.commit()
        out: dict[str, str | int] = {"name": q.name, "id": q.id_number, "cert": q.cert_no, "reg_id": reg.id}
        db.session.remove()
    return out


def test_whoever_signs_up_first_does_not_receive_the_activation_code(app: Flask, web_world: World) -> None:
    doc = _unregistered_physician(app, web_world)
    stranger = _sign_up(app, str(doc["name"]), str(doc["id"]), "stranger1", "13911110000")
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    page = staff.post(f"/institution/activation-codes/{doc['reg_id']}",
                      follow_redirects=True).get_data(as_text=True)
    code = re.search(r'id="activation-code">([A-Z0-9]{8})<', page).group(1)  # type: ignore[union-attr]
    assert not any(code in b for b in _outbox(app, "13911110000"))  # not to the declared phone
    assert not any(code in b for b in _outbox(app, "stranger1@example.cn"))
    # the real physician signs up too (allowed while the first is not activated) ...
    owner = _sign_up(app, str(doc["name"]), str(doc["id"]), "zhouba01", "13922220000")
    owner.get("/account/activate")
    resp = owner.post("/account/activate", {"path": "A", "code": code})  # handed over in person
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/physician/")
    # ... and the stranger's account is closed: signed out, and cannot sign in
    assert stranger.client.get("/account/activate").status_code == 302
    assert WebClient(app.test_client()).login("stranger1", "Abc12345").status_code == 401
    with app.app_context():
        owners = db.session.scalars(select(User.username).where(
            User.id_number == doc["id"], User.activated.is_(True))).all()
        db.session.remove()
    assert owners == ["zhouba01"]


def test_the_code_goes_to_the_phone_the_institution_keeps(app: Flask, web_world: World) -> None:
    doc = _unregistered_physician(app, web_world)
    _sign_up(app, str(doc["name"]), str(doc["id"]), "stranger1", "13911110000")
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    staff.get("/institution/activation-codes")
    resp = staff.post(f"/institution/activation-codes/{doc['reg_id']}/mobile", {"mobile": "13933330000"},
                      follow_redirects=True)
    assert "已登记周八的手机号" in resp.get_data(as_text=True)
    page = staff.post(f"/institution/activation-codes/{doc['reg_id']}",
                      follow_redirects=True).get_data(as_text=True)
    code = re.search(r'id="activation-code">([A-Z0-9]{8})<', page).group(1)  # type: ignore[union-attr]
    assert "本机构登记的手机 139****0000" in page
    assert any(code in b for b in _outbox(app, "13933330000"))
    assert not any(code in b for b in _outbox(app, "13911110000"))


def test_a_stranger_with_the_right_qualification_code_cannot_take_an_owned_identity(
        app: Flask, web_world: World) -> None:
    doc = _physician(app, web_world)  # activated, owns the ID
    with app.app_context():
        db.session.execute(Registration.__table__.update().values(status="CANCELLED"))  # path B
        db.session.commit()
        db.session.remove()
    stranger = _sign_up(app, str(doc["name"]), str(doc["id"]), "stranger1", "13911110000")
    stranger.get("/account/activate")
    resp = stranger.post("/account/activate", {"path": "B", "cert_no": doc["cert"]})
    assert resp.status_code == 422 and "资格证书编码与您的资格信息不符" in resp.get_data(as_text=True)
    assert any("注册了另一个账户" in b for b in _outbox(app, "13700000007"))  # the owner is told


def test_unactivated_accounts_expire_after_seven_days(app: Flask, web_world: World) -> None:
    doc = _unregistered_physician(app, web_world)
    with time_machine.travel(T0, tick=False) as traveller:
        _sign_up(app, str(doc["name"]), str(doc["id"]), "late0001", "13911110000")
        traveller.shift(timedelta(days=6, hours=23))
        assert WebClient(app.test_client()).login("late0001", "Abc12345").status_code == 302
        traveller.shift(timedelta(hours=2))
        resp = WebClient(app.test_client()).login("late0001", "Abc12345")
        assert resp.status_code == 401 and "7天内未激活，已失效" in resp.get_data(as_text=True)


def test_the_database_keeps_one_activated_account_per_id_number(ctx: Flask, world: World) -> None:
    q = make_qualification("吴九", 10)
    make_user("wujiu001", Role.PHYSICIAN, "吴九", id_number=q.id_number, activated=True)
    make_user("wujiu002", Role.PHYSICIAN, "吴九", id_number=q.id_number, activated=False)
    db.session.commit()
    with pytest.raises(IntegrityError):
        make_user("wujiu003", Role.PHYSICIAN, "吴九", id_number=q.id_number, activated=True)
    db.session.rollback()


# ---- 6. limits that hold -------------------------------------------------------------------

def test_path_b_tries_are_counted_per_identity_not_per_account(app: Flask, web_world: World) -> None:
    doc = _unregistered_physician(app, web_world)
    with app.app_context():
        db.session.execute(Registration.__table__.update().values(status="CANCELLED"))
        db.session.commit()
        db.session.remove()
    first = _sign_up(app, str(doc["name"]), str(doc["id"]), "first001", "13911110001")
    second = _sign_up(app, str(doc["name"]), str(doc["id"]), "second01", "13911110002")
    for client, n in ((first, 3), (second, 2)):
        client.get("/account/activate")
        for _ in range(n):
            resp = client.post("/account/activate", {"path": "B", "cert_no": "2012141010000000000000000"})
            assert "资格证书编码与您的资格信息不符" in resp.get_data(as_text=True)
    third = _sign_up(app, str(doc["name"]), str(doc["id"]), "third001", "13911110003")
    third.get("/account/activate")
    resp = third.post("/account/activate", {"path": "B", "cert_no": doc["cert"]})
    assert "错误次数过多" in resp.get_data(as_text=True)


def test_thirty_simultaneous_wrong_codes_get_five_comparisons(app: Flask, clean_db: None) -> None:
    target = "13912345678"
    with app.app_context():
        codes.send("verify_sms:1", "sms", target, None)
        db.session.commit()
        db.session.remove()
    answers: list[str] = []
    start = threading.Barrier(30)

    def guess() -> None:
        with app.app_context():
            start.wait()
            try:
                codes.consume("verify_sms:1", target, "0000000")  # never right (7 digits)
            except DomainError as exc:
                answers.append(exc.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=guess) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    compared = [a for a in answers if "还可以再试" in a]
    assert len(answers) == 30 and len(compared) == 4, answers  # tries 1–4; the 5th says 次数过多
    with app.app_context():
        row = codes.latest("verify_sms:1", target)
        assert row is not None and row.attempts == 5
        db.session.remove()


# ---- found in review: codes, answers, phones of closed accounts -----------------------------

def _sms_login(client: WebClient, phone: str, code: str | None = None):  # type: ignore[no-untyped-def]
    client.get("/login/sms")
    if code is None:
        return client.post("/login/sms", {"action": "send", "target": phone})
    return client.post("/login/sms", {"action": "login", "target": phone, "code": code})


def test_new_codes_do_not_buy_new_guesses(app: Flask, web_world: World) -> None:
    phone = "15175070658"  # doctor01's verified phone
    with time_machine.travel(T0, tick=False) as traveller:
        guesser = WebClient(app.test_client())
        for _round in range(2):
            _sms_login(guesser, phone)
            for _ in range(5):
                _sms_login(guesser, phone, "000000")
            traveller.shift(timedelta(seconds=61))
        _sms_login(guesser, phone)  # a third code: the phone's 10 wrong tries are used up
        right = _code_in(_outbox(app, phone)[-1])
        resp = _sms_login(guesser, phone, right)
        assert resp.status_code == 422 and "校验码不正确或已失效" in resp.get_data(as_text=True)
        traveller.shift(timedelta(hours=24, minutes=1))
        _sms_login(guesser, phone)
        resp = _sms_login(guesser, phone, _code_in(_outbox(app, phone)[-1]))
        assert resp.status_code == 302


def test_a_wrong_code_answers_the_same_for_registered_and_unknown_numbers(
        app: Flask, web_world: World) -> None:
    answers = set()
    for phone in ("15175070658", "13900001111"):
        client = WebClient(app.test_client())
        _sms_login(client, phone)
        resp = _sms_login(client, phone, "000000")
        answers.add((resp.status_code, "还可以再试" in resp.get_data(as_text=True),
                     "校验码不正确或已失效" in resp.get_data(as_text=True)))
    assert answers == {(422, False, True)}


def test_a_closed_or_expired_account_lets_go_of_its_phone(app: Flask, web_world: World) -> None:
    doc = _unregistered_physician(app, web_world)
    with time_machine.travel(T0, tick=False) as traveller:
        _sign_up(app, str(doc["name"]), str(doc["id"]), "early001", "13944440000")
        traveller.shift(timedelta(days=8))
        sent = len(_outbox(app, "13944440000"))
        client = WebClient(app.test_client())
        _sms_login(client, "13944440000")
        assert len(_outbox(app, "13944440000")) == sent  # no code: the expired account lets go
        # the same person signs up again and verifies the same phone
        _sign_up(app, str(doc["name"]), str(doc["id"]), "again001", "13944440000")


def test_only_the_physicians_institution_records_the_roster_phone(app: Flask, web_world: World) -> None:
    doc = _unregistered_physician(app, web_world)
    url = f"/institution/activation-codes/{doc['reg_id']}/mobile"
    for username, status in (("jigou02", 404), ("doctor01", 403), ("weijian01", 403)):
        outsider = WebClient(app.test_client())
        outsider.login(username)
        outsider.get("/login")
        assert outsider.post(url, {"mobile": "13800000009"}).status_code == status, username
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    staff.get("/institution/activation-codes")
    page = staff.post(url, {"mobile": "1380000"}, follow_redirects=True).get_data(as_text=True)
    assert "请输入11位手机号码" in page
    with app.app_context():
        assert db.session.get(Registration, doc["reg_id"]).roster_mobile is None
        db.session.remove()
