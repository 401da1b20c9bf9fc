"""The forms' CSRF token is signed at most once a minute per session (issue 14 goal 1:
``app.web.csrf_kept``); it still protects each session's forms, and only its own."""

from __future__ import annotations

import re
import time

import pytest
from flask import Flask

from app.web import csrf_kept
from tests.conftest import WebClient
from tests.factories import World

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _token(client: WebClient, url: str = "/inbox/") -> str:
    m = TOKEN.search(client.get(url).get_data(as_text=True))
    assert m, "the page has a form with its token (退出)"
    return m.group(1)


def test_a_token_kept_for_a_minute_still_protects_the_form_and_only_its_own_session(
        app: Flask, web_world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    start, wall = time.monotonic(), time.time()

    def clock(seconds: float) -> None:  # the kept token's clock and the signature's
        monkeypatch.setattr(csrf_kept.time, "monotonic", lambda: start + seconds)
        monkeypatch.setattr(time, "time", lambda: wall + seconds)

    clock(0)
    staff = WebClient.signed_in(app, "jigou01")
    first = _token(staff)
    clock(30)  # signed now, it would carry a later time
    assert _token(staff, "/inbox/?sort=due") == first  # the next page within the minute
    other = WebClient.signed_in(app, "jigou01")  # the same person in another browser
    other_token = _token(other)
    assert other_token != first
    # another session's token is refused: 退出 in this browser with the other's token
    resp = staff.client.post("/logout", data={"csrf_token": other_token})
    assert resp.status_code == 400
    assert staff.get("/inbox/").status_code == 200  # still signed in

    clock(61)
    renewed = _token(staff)
    assert renewed != first  # signed again after the minute
    resp = staff.client.post("/logout", data={"csrf_token": first})  # the older one: within the hour
    assert resp.status_code == 302
    assert staff.get("/inbox/").status_code == 302  # signed out
