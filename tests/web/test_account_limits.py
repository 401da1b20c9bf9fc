"""The account limits: rate limit, image captcha, production start-up checks, verification
and activation codes, and the sign-in lockout."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask import template_rendered
from sqlalchemy import select
from sqlalchemy import text

from app import create_app
from app.errors import DomainError
from app.errors import Forbidden
from app.errors import InvalidInput
from app.errors import NotFound
from app.extensions import db
from app.extensions import limiter
from app.models import ActivationCode
from app.models import OutboxMessage
from app.models import Registration
from app.models import Role
from app.services.accounts import activation
from app.services.accounts import captcha
from app.services.accounts import codes
from app.services.accounts import signup
from tests import conftest
from tests.conftest import WebClient
from tests.factories import PASSWORD
from tests.factories import World
from tests.factories import make_qualification
from tests.factories import make_user
from tests.factories import user

T0 = datetime(2026, 5, 6, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
PNG = b"\x89PNG\r\n\x1a\n"
CAPTCHA_WRONG = "验证码不正确，请重新输入"


# ---- a. rate limit -------------------------------------------------------------------

@pytest.fixture()
def limited_app(app: Flask, clean_db: None, tmp_path: Path) -> Iterator[Flask]:
    """A second app on the same database with the rate limit on.

    The limiter is one object shared by every app of the process, and ``init_app`` sets
    its ``enabled`` flag: it is put back afterwards so the session app stays unlimited.
    """
    was_enabled = limiter.enabled
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    limited = create_app({**conftest.test_config(tmp_path, url), "RATELIMIT_ENABLED": True})
    limiter.reset()
    try:
        yield limited
    finally:
        limiter.reset()
        limiter.enabled = was_enabled
        with limited.app_context():
            db.session.remove()
            db.engine.dispose()


def test_login_posts_are_rate_limited(limited_app: Flask) -> None:
    client = WebClient(limited_app.test_client())
    with time_machine.travel(T0, tick=True) as traveller:
        client.get("/login")
        for i in range(20):  # @limiter.limit("20 per minute", methods=["POST"])
            resp = client.post("/login", {"username": f"nobody{i:02d}", "password": "wrong1"})
            assert resp.status_code == 401, i
            assert "用户名或密码错误" in resp.get_data(as_text=True)
        resp = client.post("/login", {"username": "nobody99", "password": "wrong1"})
        body = resp.get_data(as_text=True)
        assert resp.status_code == 429
        assert "操作过于频繁" in body and "您的操作过于频繁，请稍后再试。" in body
        assert "Traceback" not in body
        assert client.get("/login").status_code == 200  # only POSTs are limited
        traveller.shift(timedelta(seconds=61))
        resp = client.post("/login", {"username": "nobody98", "password": "wrong1"})
        assert resp.status_code == 401  # a new minute



def test_captcha_images_are_rate_limited(limited_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    # R-50 / issue 14: each image is drawn by Pillow; one address cannot have it drawn
    # without end (the session keeps one answer whatever the number of images)
    monkeypatch.setenv("MEDREG_CAPTCHA", "on")
    client = WebClient(limited_app.test_client())
    with time_machine.travel(T0, tick=True) as traveller:
        client.get("/login")
        for i in range(30):  # @limiter.limit("30 per minute")
            assert client.client.get("/account/captcha.png").status_code == 200, i
        resp = client.client.get("/account/captcha.png")
        assert resp.status_code == 429 and "Traceback" not in resp.get_data(as_text=True)
        assert client.get("/login").status_code == 200  # the page itself still opens
        traveller.shift(timedelta(seconds=61))
        assert client.client.get("/account/captcha.png").status_code == 200  # a new minute

# ---- b. captcha ----------------------------------------------------------------------

ISSUED: list[str] = []  # the answers of the images drawn (recorded by ``captcha_on``)


def _captcha(web: WebClient) -> str:
    resp = web.client.get("/account/captcha.png")
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    assert resp.data.startswith(PNG) and len(resp.data) > 200
    assert resp.headers["Cache-Control"] == "no-store"
    answer = ISSUED[-1]
    with web.client.session_transaction() as sess:
        sealed = sess["captcha"]
    assert answer not in sealed and len(sealed) == captcha.SEALED_LENGTH  # hashed, not the answer
    assert re.fullmatch(r"[A-Z2-9]{4}", answer)
    return answer


def _signed_in(web: WebClient) -> bool:
    return web.client.get("/physician/").status_code == 200


@pytest.fixture()
def captcha_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDREG_CAPTCHA", "on")
    draw = captcha.new_answer

    def recorded() -> str:
        ISSUED.append(draw())
        return ISSUED[-1]

    monkeypatch.setattr(captcha, "new_answer", recorded)


@pytest.fixture()
def rendered(app: Flask) -> Iterator[list[dict[str, Any]]]:
    """The context of every template rendered (what the view told the page to show)."""
    seen: list[dict[str, Any]] = []

    def record(sender: Flask, template: Any, context: dict[str, Any], **extra: Any) -> None:
        seen.append(context)

    template_rendered.connect(record, app)
    try:
        yield seen
    finally:
        template_rendered.disconnect(record, app)


def test_login_needs_the_captcha_of_the_image(web: WebClient, web_world: World,
                                              captcha_on: None,
                                              rendered: list[dict[str, Any]]) -> None:
    web.get("/login")
    answer = _captcha(web)
    wrong = "2222" if answer != "2222" else "3333"
    resp = web.post("/login", {"username": "doctor01", "password": PASSWORD, "captcha": wrong})
    assert resp.status_code == 401 and rendered[-1]["captcha_error"] == CAPTCHA_WRONG
    assert rendered[-1]["error"] is None  # the password was not even checked
    assert not _signed_in(web)
    resp = web.post("/login", {"username": "doctor01", "password": PASSWORD})  # no captcha
    assert resp.status_code == 401 and rendered[-1]["captcha_error"] == CAPTCHA_WRONG
    assert not _signed_in(web)

    answer = _captcha(web)
    resp = web.post("/login", {"username": "doctor01", "password": PASSWORD,
                               "captcha": f" {answer.lower()} "})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/physician/")
    assert _signed_in(web)


def test_a_captcha_image_is_good_for_one_try(web: WebClient, web_world: World,
                                             captcha_on: None,
                                             rendered: list[dict[str, Any]]) -> None:
    web.get("/login")
    answer = _captcha(web)
    resp = web.post("/login", {"username": "doctor01", "password": "wrong1", "captcha": answer})
    assert resp.status_code == 401 and "用户名或密码错误" in resp.get_data(as_text=True)
    assert rendered[-1]["captcha_error"] is None
    resp = web.post("/login", {"username": "doctor01", "password": PASSWORD, "captcha": answer})
    assert resp.status_code == 401 and rendered[-1]["captcha_error"] == CAPTCHA_WRONG
    assert not _signed_in(web)


def test_a_replayed_session_cookie_does_not_reuse_the_captcha(
        web: WebClient, web_world: World, captcha_on: None,
        rendered: list[dict[str, Any]]) -> None:
    web.get("/login")
    answer = _captcha(web)
    cookie = web.client.get_cookie("session")
    assert cookie is not None
    old = cookie.value
    resp = web.post("/login", {"username": "doctor01", "password": "wrong1", "captcha": answer})
    assert resp.status_code == 401 and rendered[-1]["captcha_error"] is None
    web.client.set_cookie("session", old)  # the cookie from before the first try
    resp = web.post("/login", {"username": "doctor01", "password": PASSWORD, "captcha": answer})
    assert resp.status_code == 401 and rendered[-1]["captcha_error"] == CAPTCHA_WRONG


def test_the_register_page_checks_the_captcha_too(web: WebClient, captcha_on: None,
                                                  rendered: list[dict[str, Any]]) -> None:
    web.get("/account/register")
    resp = web.post("/account/register", {"name": "张三", "id_number": "11010519491231002X",
                                          "captcha": "0000"})
    assert resp.status_code == 422 and rendered[-1]["errors"] == {"captcha": CAPTCHA_WRONG}


@pytest.mark.parametrize("url", ["/login", "/account/register", "/account/recover/mobile",
                                 "/account/recover/identity"])
def test_the_captcha_field_and_its_message_are_shown(web: WebClient, captcha_on: None,
                                                     url: str) -> None:
    page = web.get(url).get_data(as_text=True)
    assert 'name="captcha"' in page and "/account/captcha.png" in page
    data = {"username": "doctor01", "password": "wrong1", "action": "send",
            "target": "13912345678", "captcha": "0000"}
    resp = web.post(url, data)
    assert CAPTCHA_WRONG in resp.get_data(as_text=True)


# ---- c. production start-up ----------------------------------------------------------

def _production(tmp_path: Path, redis: str = "redis://127.0.0.1:1/0", **over: object) -> dict[str, object]:
    return conftest.production_config(tmp_path, redis, **over)


def test_production_refuses_to_start_with_the_captcha_off(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="MEDREG_CAPTCHA=off"):
        create_app(_production(tmp_path))


def test_production_starts_with_the_captcha_on(tmp_path: Path, captcha_on: None, redis_url: str) -> None:
    prod = create_app(_production(tmp_path, redis_url))
    assert prod.config["MEDREG_ENV"] == "production"
    with prod.app_context():
        from flask_migrate import upgrade

        upgrade()
    resp = prod.test_client().get("/account/captcha.png")
    assert resp.status_code == 200 and resp.data.startswith(PNG)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(_production(tmp_path, SECRET_KEY="dev-only-change-me"))
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(_production(tmp_path, SECRET_KEY=""))


def test_production_does_not_publish_the_outbox(tmp_path: Path, captcha_on: None, redis_url: str) -> None:
    try:
        prod = create_app(_production(tmp_path, redis_url, MEDREG_MAIL_BACKEND="log"))
    except RuntimeError:
        return  # refusing the log backend in production is a fix too
    assert prod.test_client().get("/dev/outbox").status_code == 404


# ---- d. verification codes -----------------------------------------------------------

PHONE = "13912345678"


def _last_code(target: str = PHONE) -> str:
    body = db.session.scalar(select(OutboxMessage.body).where(
        OutboxMessage.recipient == target).order_by(OutboxMessage.id.desc()).limit(1))
    m = re.search(r"(?<!\d)\d{6}(?!\d)", body or "")
    assert m, body
    return m.group(0)


def _send(purpose: str = "verify_sms:1") -> str:
    codes.send(purpose, "sms", PHONE, None)
    db.session.commit()
    return _last_code()


def _other(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_a_code_expires_after_five_minutes(ctx: Flask) -> None:
    with time_machine.travel(T0, tick=False) as traveller:
        code = _send()
        traveller.shift(timedelta(minutes=5, seconds=1))
        with pytest.raises(DomainError, match="校验码已过期"):
            codes.consume("verify_sms:1", PHONE, code)
        traveller.shift(timedelta(minutes=1))
        fresh = _send()
        traveller.shift(timedelta(minutes=4, seconds=59))
        assert codes.consume("verify_sms:1", PHONE, fresh).used_at is not None


def test_resend_waits_sixty_seconds(ctx: Flask) -> None:
    with time_machine.travel(T0, tick=False) as traveller:
        first = _send()
        traveller.shift(timedelta(seconds=30))
        with pytest.raises(DomainError, match="30 秒后再重新获取"):
            _send()
        traveller.shift(timedelta(seconds=29))
        with pytest.raises(DomainError, match="1 秒后再重新获取"):
            _send()
        assert codes.seconds_until_resend("verify_sms:1", PHONE) == 1
        traveller.shift(timedelta(seconds=1))
        second = _send()
        assert db.session.scalar(select(OutboxMessage.id).where(
            OutboxMessage.body.contains(second)))
        if first != second:  # only the newest code counts
            with pytest.raises(DomainError, match="校验码不正确"):
                codes.consume("verify_sms:1", PHONE, first)
        assert codes.consume("verify_sms:1", PHONE, second)
        # another purpose has its own clock
        codes.send("recover", "sms", PHONE, None)


def test_five_wrong_tries_spoil_the_code(ctx: Flask) -> None:
    code = _send()
    for left in (4, 3, 2, 1):
        with pytest.raises(DomainError, match=f"还可以再试 {left} 次"):
            codes.consume("verify_sms:1", PHONE, _other(code))
    with pytest.raises(DomainError, match="错误次数过多"):
        codes.consume("verify_sms:1", PHONE, _other(code))
    db.session.expire_all()
    with pytest.raises(DomainError, match="错误次数过多"):
        codes.consume("verify_sms:1", PHONE, code)  # even the right code now
    row = codes.latest("verify_sms:1", PHONE)
    assert row is not None and row.attempts == 5 and row.used_at is None


def test_a_used_code_cannot_be_used_again(ctx: Flask) -> None:
    code = _send()
    assert codes.consume("verify_sms:1", PHONE, f" {code} ").used_at is not None
    db.session.commit()
    db.session.expire_all()
    with pytest.raises(DomainError, match="校验码不正确或已失效"):
        codes.consume("verify_sms:1", PHONE, code)
    with pytest.raises(DomainError, match="校验码不正确或已失效"):
        codes.consume("verify_sms:2", PHONE, code)  # nor for another purpose


# ---- e. activation codes -------------------------------------------------------------

def _pending_physician(world: World) -> tuple[int, int]:
    """A physician registered at the world's hospital, whose account is not activated yet."""
    q = make_qualification("孙七", 8)
    reg = Registration(qualification_id=q.id, level="执业医师", category="1", scopes=["11"],
                       place_region="140000", institution_id=world.hospital_id,
                       authority_id=world.authority_id, status="ACTIVE",
                       cert_no="110140100999002")
    db.session.add(reg)
    u = make_user("sunqi001", Role.PHYSICIAN, "孙七", qualification_id=q.id,
                  id_number=q.id_number, mobile=PHONE, mobile_verified=True, activated=False)
    db.session.commit()
    return u.id, reg.id


def _code_rows() -> list[ActivationCode]:
    db.session.expire_all()
    return list(db.session.scalars(select(ActivationCode).order_by(ActivationCode.id)))


def test_activation_code_is_hashed_and_single_use(world: World) -> None:
    user_id, reg_id = _pending_physician(world)
    issued = activation.issue(user(world.staff_id), reg_id)
    assert re.fullmatch(r"[A-Z2-9]{8}", issued.code) and issued.sent_to == []  # no roster phone: in person
    raw = db.session.execute(text("SELECT * FROM activation_code")).all()
    assert len(raw) == 1
    assert all(issued.code not in str(v) and issued.code.lower() not in str(v) for v in raw[0])
    assert _code_rows()[0].code_hash.startswith("$argon2")

    signup.activate_with_code(user(user_id), issued.code.lower())
    assert user(user_id).activated and user(user_id).activation_path == "A"
    assert _code_rows()[0].used_at is not None
    with pytest.raises(DomainError, match="您的账户已经激活"):
        signup.activate_with_code(user(user_id), issued.code)
    # even were the account not activated, the used code would not work again
    user(user_id).activated = False
    db.session.commit()
    with pytest.raises(InvalidInput, match="激活码不正确"):
        signup.activate_with_code(user(user_id), issued.code)
    assert not user(user_id).activated


def test_activation_code_expires_after_thirty_days(world: World) -> None:
    user_id, reg_id = _pending_physician(world)
    with time_machine.travel(T0, tick=False) as traveller:
        issued = activation.issue(user(world.staff_id), reg_id)
        assert issued.expires_at == T0 + timedelta(days=30)
        traveller.shift(timedelta(days=30, seconds=1))
        with pytest.raises(InvalidInput, match="激活码不正确"):
            signup.activate_with_code(user(user_id), issued.code)
        assert not user(user_id).activated
        again = activation.issue(user(world.staff_id), reg_id)
        traveller.shift(timedelta(days=29, hours=23))
        signup.activate_with_code(user(user_id), again.code)
        assert user(user_id).activated


def test_regenerating_invalidates_the_earlier_code(world: World) -> None:
    user_id, reg_id = _pending_physician(world)
    first = activation.issue(user(world.staff_id), reg_id)
    second = activation.issue(user(world.staff_id), reg_id)
    rows = _code_rows()
    assert len(rows) == 2 and rows[0].revoked_at is not None and rows[1].revoked_at is None
    if first.code != second.code:
        with pytest.raises(InvalidInput, match="激活码不正确"):
            signup.activate_with_code(user(user_id), first.code)
    signup.activate_with_code(user(user_id), second.code)
    assert user(user_id).activated


def test_only_the_physicians_institution_issues_the_code(world: World) -> None:
    _user_id, reg_id = _pending_physician(world)
    with pytest.raises(NotFound):
        activation.issue(user(world.other_staff_id), reg_id)
    with pytest.raises(Forbidden):
        activation.issue(user(world.officer_id), reg_id)
    with pytest.raises(NotFound):
        activation.issue(user(world.staff_id), reg_id + 1000)
    assert _code_rows() == []


