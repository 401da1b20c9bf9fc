"""Sign-in, roles, CSRF and headers."""

from __future__ import annotations

import pytest

from tests.conftest import WebClient
from tests.factories import World


def test_login_page_is_chinese(web: WebClient) -> None:
    resp = web.get("/login")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "医师电子化注册信息系统" in text and "登录" in text
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]


def test_wrong_password_keeps_username_and_says_why(web: WebClient, web_world: World) -> None:
    resp = web.login("doctor01", "wrong")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 401 and "用户名或密码错误" in text and 'value="doctor01"' in text


@pytest.mark.parametrize(("username", "url", "status"), [
    ("doctor01", "/inbox/", 403),
    ("doctor01", "/admin/", 403),
    ("jigou01", "/physician/", 403),
    ("jigou01", "/admin/calendar", 403),
    ("weijian01", "/physician/apply", 403),
    ("admin01", "/inbox/", 403),
    ("jigou01", "/inbox/", 200),
    ("weijian01", "/inbox/", 200),
    ("doctor01", "/physician/", 200),
    ("admin01", "/admin/", 200),
])
def test_each_role_reaches_only_its_pages(web: WebClient, web_world: World, username: str,
                                          url: str, status: int) -> None:
    web.login(username)
    assert web.get(url).status_code == status


def test_anonymous_is_sent_to_login(web: WebClient) -> None:
    resp = web.get("/physician/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_post_without_csrf_token_is_refused(web: WebClient, web_world: World) -> None:
    resp = web.client.post("/login", data={"username": "doctor01", "password": "Passw0rd1"})
    assert resp.status_code == 400 and "页面已过期" in resp.get_data(as_text=True)


def test_no_open_redirect_after_login(web: WebClient, web_world: World) -> None:
    web.get("/login")
    resp = web.post("/login?next=//evil.example/x", {"username": "doctor01",
                                                      "password": "Passw0rd1"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/physician/"


def test_session_is_renewed_at_login(web: WebClient, web_world: World) -> None:
    web.get("/login")
    before = web.client.get_cookie("session")
    web.login("doctor01")
    after = web.client.get_cookie("session")
    assert before is not None and after is not None and before.value != after.value


def test_dev_outbox_only_with_the_log_backend(web: WebClient, app: object,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    assert web.get("/dev/outbox").status_code == 200
    monkeypatch.setitem(app.config, "MEDREG_MAIL_BACKEND", "smtp")  # type: ignore[attr-defined]
    assert web.get("/dev/outbox").status_code == 404
