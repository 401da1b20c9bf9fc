"""返回上一页 works under our own CSP (no ``javascript:`` link, which the CSP blocks): the error
page and the guide pages link to the page the person came from when it is on this site, else
their home (issue 13 item 9)."""

from __future__ import annotations

import re

from flask import Flask

from tests.conftest import WebClient
from tests.factories import World


def _back(html: str, label: str) -> str:
    m = re.search(r'<a href="([^"]*)" class="button secondary">' + label + "</a>", html)
    assert m, html
    return m.group(1).replace("&amp;", "&")


def test_the_error_page_goes_back_to_the_page_on_this_site(app: Flask, web_world: World) -> None:
    client = WebClient(app.test_client())
    client.login("doctor01")
    came_from = "http://localhost/physician/applications?x=1"
    page = client.get("/physician/no-such-page", headers={"Referer": came_from})
    html = page.get_data(as_text=True)
    assert page.status_code == 404 and "javascript:" not in html
    assert _back(html, "返回上一页") == "/physician/applications?x=1"
    assert client.get(_back(html, "返回上一页")).status_code == 200  # the page they came from


def test_another_sites_referrer_goes_home(app: Flask, web_world: World) -> None:
    client = WebClient(app.test_client())
    client.login("jigou01")
    for referrer in ("https://evil.example/phish", "javascript:alert(1)", "//evil.example/x"):
        html = client.get("/inbox/no-such-page", headers={"Referer": referrer}).get_data(as_text=True)
        assert _back(html, "返回上一页") == "/inbox/"  # 待办任务, the staff member's home
    html = client.get("/inbox/no-such-page").get_data(as_text=True)
    assert _back(html, "返回上一页") == "/inbox/"


def test_the_guide_pages_link_back(app: Flask, web: WebClient) -> None:
    html = web.get("/account/guide/old", headers={"Referer": "http://localhost/account/register"}
                   ).get_data(as_text=True)
    assert "javascript:" not in html and _back(html, "返回") == "/account/register"
    html = web.get("/account/guide/old").get_data(as_text=True)
    assert _back(html, "返回") == "/login"  # not signed in: the sign-in page
