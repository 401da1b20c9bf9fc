"""提示 (flash messages) shown without writing the session row (issue 14 goal 1: the side-by-side
profile found that the list shown after every decision wrote the session row to take its 提示
out — an UPDATE and a commit on a page that only reads). The row keeps them under a random id;
a second cookie names that id until the page that shows them deletes it."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from sqlalchemy import update

from app.extensions import db
from app.models import WebSession
from app.web.sessions import FLASH_MAX_AGE
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import submit_registration
from tests.statements import sent_of

DONE = "已办理完成。"


def _writes(sent: list[tuple[str, object]]) -> list[str]:
    return [s for s, _ in sent if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]


def _confirmed(app: Flask, web_world: World) -> tuple[WebClient, object]:
    """jigou01 confirms a waiting 注册 application; the response (a redirect to 待办任务)."""
    task_id = submit_registration(app, web_world)
    staff = WebClient.signed_in(app, "jigou01")
    staff.get(f"/inbox/tasks/{task_id}")
    resp = staff.post(f"/inbox/tasks/{task_id}/complete", {"decision": "confirm", "paper_held": "on"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/inbox/")
    return staff, resp


def test_the_list_shown_after_a_decision_shows_its_notice_once_and_writes_nothing(
        app: Flask, web_world: World) -> None:
    staff, _ = _confirmed(app, web_world)
    sent, page = sent_of(app, lambda: staff.get("/inbox/").get_data(as_text=True))
    assert DONE in page  # the 提示 the staff member expects after 确认
    assert _writes(sent) == []  # was: UPDATE web_session + COMMIT to take the 提示 out
    assert DONE not in staff.get("/inbox/").get_data(as_text=True)  # shown once
    assert staff.client.get_cookie("session-flash") is None  # deleted when shown


def test_the_notice_cookie_names_the_notice_and_holds_nothing_else(app: Flask, web_world: World) -> None:
    # nothing personal or secret in a cookie (docs/security.md): the flash cookie is a random id
    staff, resp = _confirmed(app, web_world)
    header = next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith("session-flash="))
    assert "HttpOnly" in header and "SameSite=Lax" in header and f"Max-Age={FLASH_MAX_AGE}" in header
    value = header.split(";", 1)[0].split("=", 1)[1]
    assert 12 <= len(value) <= 20 and value.replace("-", "").replace("_", "").isalnum()
    session_cookie = staff.client.get_cookie("session")
    assert session_cookie is not None and session_cookie.value not in header
    assert "Cookie" in resp.headers.get("Vary", "")


def test_a_notice_cookie_that_names_another_notice_shows_nothing_and_is_deleted(
        app: Flask, web_world: World) -> None:
    staff, resp = _confirmed(app, web_world)
    other = WebClient.signed_in(app, "jigou01")  # the same person in another browser
    cookie = staff.client.get_cookie("session-flash")
    assert cookie is not None
    other.client.set_cookie("session-flash", cookie.value)  # copied: names another session's 提示
    page = other.get("/inbox/")
    assert DONE not in page.get_data(as_text=True)
    assert any(h.startswith("session-flash=;") for h in page.headers.getlist("Set-Cookie"))
    staff.client.set_cookie("session-flash", "AAAAAAAAAAAAAAAA")  # guessed
    assert DONE not in staff.get("/inbox/").get_data(as_text=True)
    staff.client.set_cookie("session-flash", "提示" * 8)  # not even an id: no 500
    resp = staff.get("/inbox/")
    assert resp.status_code == 200 and DONE not in resp.get_data(as_text=True)


def test_a_notice_left_in_a_session_row_before_the_cookie_is_shown_once_and_leaves_the_row(
        app: Flask, web_world: World) -> None:
    staff = WebClient.signed_in(app, "jigou01")
    cookie = staff.client.get_cookie("session")
    assert cookie is not None
    from app.services.accounts.websessions import sid_of
    from app.web.sessions import _JSON
    with app.app_context():
        row = db.session.get(WebSession, sid_of(cookie.value))
        assert row is not None
        data = _JSON.loads(row.data)
        data["_flashes"] = [("success", "升级前的提示")]
        db.session.execute(update(WebSession).where(WebSession.id == row.id).values(data=_JSON.dumps(data)))
        db.session.commit()
        sid = row.id
        db.session.remove()
    assert "升级前的提示" in staff.get("/inbox/").get_data(as_text=True)
    assert "升级前的提示" not in staff.get("/inbox/").get_data(as_text=True)
    with app.app_context():
        stored = db.session.scalar(select(WebSession.data).where(WebSession.id == sid))
        assert stored is not None and "_flashes" not in stored
        db.session.remove()


def test_the_first_page_with_a_form_after_signing_in_writes_nothing(app: Flask, web_world: World) -> None:
    # the new session's row is made at sign-in with its CSRF secret, so the first form shown
    # (here 待办任务's 批量确认) does not write the row again to keep one
    task_id = submit_registration(app, web_world)
    client = WebClient(app.test_client())
    client.get("/login")
    resp = client.post("/login", {"username": "jigou01", "password": "Passw0rd1"})
    assert resp.status_code == 302
    sent, page = sent_of(app, lambda: client.get("/inbox/").get_data(as_text=True))
    assert 'name="csrf_token"' in page
    assert _writes(sent) == []
    # the page's token (the session's stored secret) is accepted
    resp = client.post(f"/inbox/tasks/{task_id}/complete", {"decision": "confirm", "paper_held": "on"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/inbox/")
    assert DONE in client.get("/inbox/").get_data(as_text=True)
