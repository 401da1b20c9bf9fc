"""A visitor who has stored nothing has no session row (issue 14, found by the side-by-side
profile: every cookieless view of the sign-in page wrote one, so any client could make the
server write and keep a row per request). Their forms' CSRF token is derived from their
cookie's token; the first value stored makes the row and keeps that token valid."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func
from sqlalchemy import select

from app.extensions import db
from app.models import WebSession
from tests.factories import PASSWORD
from tests.factories import World

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _rows(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(WebSession)) or 0)


def _form_token(client: FlaskClient, path: str = "/login") -> str:
    found = TOKEN.search(client.get(path).get_data(as_text=True))
    assert found is not None, f"{path} shows a form"
    return found.group(1)


def _cookie(client: FlaskClient) -> str | None:
    found = client.get_cookie("session")
    return found.value if found is not None else None


def test_opening_the_sign_in_page_stores_nothing_and_signing_in_still_works(
        app: Flask, web_world: World) -> None:
    before = _rows(app)
    for _ in range(30):  # thirty cookieless visitors (a crawler, a flood)
        _form_token(app.test_client())
    assert _rows(app) == before
    visitor = app.test_client()
    token = _form_token(visitor)
    cookie = _cookie(visitor)
    assert cookie is not None, "the form's visitor gets a cookie, so the form can be submitted"
    _form_token(visitor)
    assert _cookie(visitor) == cookie, "the same visitor keeps their token"
    assert _rows(app) == before
    signed_in = visitor.post("/login", data={"csrf_token": token, "username": "doctor01", "password": PASSWORD})
    assert signed_in.status_code == 302
    assert _rows(app) == before + 1  # the signed-in session
    assert _cookie(visitor) != cookie, "signing in gives a new token"
    assert "宋宏强" in visitor.get("/physician/").get_data(as_text=True)


def test_a_form_token_works_only_with_the_cookie_it_was_shown_with(app: Flask, web_world: World) -> None:
    alice, mallory = app.test_client(), app.test_client()
    alices_token = _form_token(alice)
    _form_token(mallory)
    credentials = {"username": "doctor01", "password": PASSWORD}
    for client in (mallory, app.test_client()):  # another visitor's cookie, or none
        refused = client.post("/login", data={"csrf_token": alices_token, **credentials})
        assert refused.status_code == 400
        assert "页面已过期" in refused.get_data(as_text=True)
    assert alice.post("/login", data={"csrf_token": alices_token, **credentials}).status_code == 302


def test_a_page_without_a_form_sets_no_cookie(app: Flask, clean_db: None) -> None:
    visitor = app.test_client()
    assert visitor.get("/").status_code == 200
    assert _cookie(visitor) is None


def test_the_first_value_stored_keeps_the_forms_already_shown(app: Flask, web_world: World) -> None:
    visitor = app.test_client()
    token = _form_token(visitor)
    before = _rows(app)
    assert visitor.get("/account/captcha.png").status_code == 200  # its answer is stored: a row
    assert _rows(app) == before + 1
    signed_in = visitor.post("/login", data={"csrf_token": token, "username": "doctor01",
                                              "password": PASSWORD})
    assert signed_in.status_code == 302, "the form shown before the row was made still submits"


def test_signing_in_never_keeps_a_csrf_secret_from_a_cookie_set_before(app: Flask, web_world: World) -> None:
    # an attacker who can set the victim's cookie (a sibling subdomain, plain HTTP) chooses its
    # token, and so knows the forms' token derived from it; signing in must make that worthless
    chosen = "A" * 43
    attacker, victim = app.test_client(), app.test_client()
    attacker.set_cookie("session", chosen)
    victim.set_cookie("session", chosen)
    attackers_token = _form_token(attacker)
    victims_token = _form_token(victim)
    signed_in = victim.post("/login", data={"csrf_token": victims_token, "username": "doctor01",
                                             "password": PASSWORD})
    assert signed_in.status_code == 302
    forged = victim.post("/logout", data={"csrf_token": attackers_token})
    assert forged.status_code == 400, "a token derived from the fixed cookie no longer works"
    assert "宋宏强" in victim.get("/physician/").get_data(as_text=True), "still signed in"
    own = victim.post("/logout", data={"csrf_token": _form_token(victim, "/physician/")})
    assert own.status_code == 302


def test_a_page_with_a_form_varies_by_cookie(app: Flask, clean_db: None) -> None:
    visitor = app.test_client()
    first, again = visitor.get("/login"), visitor.get("/login")
    assert "Cookie" in first.headers.get("Vary", "") and "Cookie" in again.headers.get("Vary", "")
