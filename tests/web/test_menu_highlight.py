"""The left menu lights exactly one item: the page's own, or for a page under a menu item
(a task under 待办任务) its parent — never two (issue 13 item 9: 管理首页 + 流程实例,
待办任务 + 办理统计 were lit together)."""

from __future__ import annotations

import re

from flask import Flask

from app.web.common import menu_on
from tests.conftest import WebClient
from tests.factories import World

NAV = re.compile(r'<nav class="side".*?</nav>', re.S)
LINK = re.compile(r'<a href="([^"]+)"( class="on")?')


def _menu(html: str) -> list[tuple[str, bool]]:
    nav = NAV.search(html)
    assert nav, "no menu"
    return [(href.replace("&amp;", "&"), bool(on)) for href, on in LINK.findall(nav.group(0))]


def test_each_menu_page_lights_exactly_its_own_item(app: Flask, web_world: World) -> None:
    for username in ("doctor01", "jigou01", "weijian01", "admin01"):
        client = WebClient(app.test_client())
        client.login(username)
        menu = _menu(client.get("/", follow_redirects=True).get_data(as_text=True))
        assert len(menu) >= 4, username
        for href, _ in menu:
            resp = client.get(href)
            assert resp.status_code == 200, (username, href)
            lit = [h for h, on in _menu(resp.get_data(as_text=True)) if on]
            assert lit == [href], (username, href, lit)


def test_a_page_under_a_menu_item_lights_its_parent_only() -> None:
    menu: list[tuple[str, str]] = [
        ("待办任务", "/inbox/"), ("办理统计", "/inbox/dashboard"), ("证书补办", "/physician/apply/reissue"),
        ("业务申请", "/physician/apply"), ("业务查询", "/physician/applications"),
        ("医师名册", "/institution/roster?kind=main")]
    assert menu_on(menu, "/inbox/tasks/13") == "/inbox/"
    assert menu_on(menu, "/inbox/dashboard") == "/inbox/dashboard"
    assert menu_on(menu, "/inbox/") == "/inbox/"
    assert menu_on(menu, "/physician/applications/7") == "/physician/applications"  # not 业务申请
    assert menu_on(menu, "/physician/apply/registration") == "/physician/apply"
    assert menu_on(menu, "/institution/roster") == "/institution/roster?kind=main"
    assert menu_on(menu, "/messages/") is None
