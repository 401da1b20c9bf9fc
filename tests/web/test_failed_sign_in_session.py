"""What a failed sign-in leaves on the server (issue 14, found by the side-by-side profile):
the session keeps one live 验证码 answer (hashed, with its expiry) and the CSRF token, the
same size after 1 or 30 tries; an anonymous client cannot make the server keep more per
request; a used answer cannot be tried again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select

from app.extensions import db
from app.models import AttemptCounter
from app.models.websession import WebSession
from app.services.accounts import attempts
from app.services.accounts import captcha
from app.services.accounts import websessions
from tests.conftest import WebClient
from tests.factories import PASSWORD
from tests.factories import World
from tests.factories import drawn_captcha_answers

CAPTCHA_WRONG = "验证码不正确，请重新输入"
BAD_LOGIN = "用户名或密码错误"


@pytest.fixture()
def answers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The captcha on, and the answer of every image drawn (as the person reads it)."""
    monkeypatch.setenv("MEDREG_CAPTCHA", "on")
    yield drawn_captcha_answers(monkeypatch)


def _stored(app: Flask) -> list[tuple[int, list[str]]]:
    """Every session row: its stored bytes and its keys."""
    with app.app_context():
        rows = [(len(data.encode("utf-8")), sorted(json.loads(data)))
                for data in db.session.scalars(select(WebSession.data))]
        db.session.remove()
    return rows


def _rows_everywhere(app: Flask) -> dict[str, int]:
    """The number of rows of every table (what the server keeps, whatever the table)."""
    with app.app_context():
        out = {t.name: int(db.session.scalar(select(func.count()).select_from(t)) or 0)
               for t in db.metadata.sorted_tables}
        db.session.remove()
    return out


def _image(web: WebClient, answers: list[str]) -> str:
    assert web.client.get("/account/captcha.png").status_code == 200  # 换一张
    return answers[-1]


def _wrong(answer: str) -> str:
    return "7777" if answer != "7777" else "9999"


def test_the_session_is_the_same_size_after_1_and_after_30_failed_sign_ins(
        app: Flask, web_world: World, answers: list[str]) -> None:
    # R-50 (captcha rules) and issue 14: one live answer + the CSRF token, nothing accumulates
    web = WebClient(app.test_client())
    web.get("/login")
    sizes: list[list[tuple[int, list[str]]]] = []
    tables: list[dict[str, int]] = []
    for attempt in range(30):
        answer = _image(web, answers)
        # a wrong 验证码 and, with a right one, a wrong password of an unknown account
        typed = _wrong(answer) if attempt % 2 else answer
        resp = web.post("/login", {"username": "nobody99", "password": "wrong1", "captcha": typed})
        page = resp.get_data(as_text=True)
        assert resp.status_code == 401 and (CAPTCHA_WRONG if attempt % 2 else BAD_LOGIN) in page
        assert 'value="nobody99"' in page  # the input is kept
        sizes.append(_stored(app))
        tables.append(_rows_everywhere(app))
    assert len(sizes[0]) == 1 and sizes[0][0][1] == ["csrf_token"]  # the answer was used up
    assert sizes[0] == sizes[1] == sizes[29]  # bytes and keys: nothing accumulates
    assert tables[0] == tables[29]  # no table grows with the tries (no captcha rows, no counters)
    _image(web, answers)
    (size, keys), = _stored(app)
    assert keys == ["captcha", "csrf_token"]
    assert size <= sizes[0][0][0] + len('"captcha":"",') + captcha.SEALED_LENGTH

    # the person then signs in: the failures of others (and of the captcha) do not stop them
    answer = _image(web, answers)
    resp = web.post("/login", {"username": "doctor01", "password": PASSWORD, "captcha": answer})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/physician/")
    assert "宋宏强" in web.get("/physician/").get_data(as_text=True)


def test_many_images_keep_one_answer_and_only_the_last_one_counts(
        app: Flask, web_world: World, answers: list[str]) -> None:
    # guide Part 1 登录 #5 验证码 换一张: each new image replaces the previous answer
    web = WebClient(app.test_client())
    web.get("/login")
    first = _image(web, answers)
    one = _stored(app)
    for _ in range(20):
        _image(web, answers)
    assert _stored(app) == one  # 21 images, one answer of the same size
    last = answers[-1]
    if first != last:
        resp = web.post("/login", {"username": "doctor01", "password": PASSWORD, "captcha": first})
        assert resp.status_code == 401 and CAPTCHA_WRONG in resp.get_data(as_text=True)
        last = _image(web, answers)
    resp = web.post("/login", {"username": "doctor01", "password": PASSWORD, "captcha": last})
    assert resp.status_code == 302


def test_a_used_answer_is_taken_once_even_by_two_requests_racing(app: Flask, web_world: World,
                                                                 answers: list[str]) -> None:
    # one try per image, also for two requests
    # that read the session at the same moment (the second one's compare-and-set fails)
    web = WebClient(app.test_client())
    web.get("/login")
    _image(web, answers)
    with app.app_context():
        sid, before = db.session.execute(select(WebSession.id, WebSession.data)).one()
        after = json.dumps({k: v for k, v in json.loads(before).items() if k != "captcha"})
        assert websessions.swap(sid, before, after)
        assert not websessions.swap(sid, before, after)  # the racing request finds it taken
        db.session.remove()


@pytest.mark.parametrize(("url", "data"), [
    ("/login/sms", {"action": "send", "target": "13912345678"}),
    ("/account/register", {"name": "张三", "id_number": "11010519491231002X"}),
    ("/account/recover/mobile", {"action": "send", "target": "13912345678"}),
    ("/account/recover/identity", {"name": "张三", "id_number": "11010519491231002X",
                                   "mobile": "13912345678", "password": "Abc12345",
                                   "confirm": "Abc12345"}),
    ("/public/register", {"name": "张三", "region": "140000"}),
])
def test_other_anonymous_forms_keep_the_session_the_same_size(
        app: Flask, web_world: World, answers: list[str], url: str, data: dict[str, str]) -> None:
    # 找回密码, 个人用户注册, 手机校验码登录, 执业注册信息查询: the same one answer
    web = WebClient(app.test_client())
    web.get(url)
    sizes = []
    for _ in range(6):
        answer = _image(web, answers)
        resp = web.post(url, {**data, "captcha": _wrong(answer)})
        assert CAPTCHA_WRONG in resp.get_data(as_text=True)
        assert resp.status_code in (401, 422) and "Traceback" not in resp.get_data(as_text=True)
        sizes.append(_stored(app))
    assert len(sizes[0]) == 1 and "captcha" not in sizes[0][0][1]
    assert sizes[0] == sizes[5]


def test_counters_an_anonymous_client_opens_are_swept_after_the_longest_window(
        ctx: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    # R-50 / issue 14: a new ID number per 通过个人信息找回 try opens a counter; it is kept
    # for its window (5 tries in 24 hours, 10 in 30 days) and no longer: what anyone can make
    # the server keep is bounded by the window
    monkeypatch.setattr(attempts, "SWEEP_ONE_IN", 10**9)  # no sweep while filling
    t0 = datetime.now(UTC)
    with time_machine.travel(t0, tick=False):
        for n in range(30):
            assert attempts.claim("recover_identity", f"11010519491231{n:04d}", 5, timedelta(hours=24))
        db.session.commit()
    with time_machine.travel(t0 + timedelta(days=2), tick=False):
        assert attempts.claim("activate_b_month", "kept", 10, timedelta(days=30))
        db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(AttemptCounter)) == 31
    monkeypatch.setattr(attempts, "SWEEP_ONE_IN", 1)  # this claim sweeps
    with time_machine.travel(t0 + attempts.LONGEST_WINDOW + timedelta(minutes=1), tick=False):
        assert attempts.claim("recover_identity", "another", 5, timedelta(hours=24))
        db.session.commit()
        assert attempts.used("activate_b_month", "kept", timedelta(days=30)) == 1  # still in its window
    assert db.session.scalar(select(func.count()).select_from(AttemptCounter)) == 2


def test_a_failed_sign_in_writes_the_session_once(app: Flask, web_world: World,
                                                  answers: list[str]) -> None:
    # issue 14 (the profile of a failed sign-in): taking the used answer is the request's one
    # write of the session, not a second UPDATE when the response is sent
    web = WebClient(app.test_client())
    web.get("/login")
    answer = _image(web, answers)
    writes: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if statement.lstrip().upper().startswith(("UPDATE WEB_SESSION", "INSERT INTO WEB_SESSION")):
            writes.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        resp = web.post("/login", {"username": "doctor01", "password": "wrong1", "captcha": answer})
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert resp.status_code == 401 and BAD_LOGIN in resp.get_data(as_text=True)
    assert len(writes) == 1
    assert _stored(app)[0][1] == ["csrf_token"]  # (no "_fresh": Flask-Login's protection is off)
