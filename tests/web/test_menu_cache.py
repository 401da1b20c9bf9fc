"""The left menu's addresses are built once per process for each kind of person (role, activation,
机构管理员, startable types) and mount point; what a person sees is still theirs."""

from __future__ import annotations

import re

from flask import Flask

from tests.conftest import WebClient
from tests.factories import World
from tests.factories import make_org_admin


def _menu(html: str) -> list[str]:
    nav = re.search(r'<nav class="side".*?</nav>', html, re.S)
    assert nav, html
    return re.findall(r'<a href="([^"]+)"', nav.group(0))


def test_the_menu_follows_the_mount_point_of_each_request(web: WebClient, web_world: World) -> None:
    web.login("jigou01")
    plain = _menu(web.get("/inbox/").get_data(as_text=True))
    assert plain[0] == "/inbox/" and any(href.startswith("/institution/") for href in plain)
    mounted = _menu(web.client.get("/inbox/", environ_overrides={"SCRIPT_NAME": "/medreg"})
                    .get_data(as_text=True))
    assert mounted == ["/medreg" + href for href in plain]
    assert _menu(web.get("/inbox/").get_data(as_text=True)) == plain


def test_many_mount_points_do_not_grow_the_menus_held(app: Flask, web: WebClient, web_world: World) -> None:
    web.login("jigou01")
    for n in range(100):  # e.g. a SCRIPT_NAME a client could choose
        page = web.client.get("/inbox/", environ_overrides={"SCRIPT_NAME": f"/m{n}"})
        assert _menu(page.get_data(as_text=True))[0] == f"/m{n}/inbox/"
    assert len(app.extensions["medreg_menus"]) <= 64


def test_becoming_org_admin_shows_the_staff_menu_at_once(app: Flask, web: WebClient, web_world: World) -> None:
    web.login("jigou01")
    assert "/institution/staff" not in _menu(web.get("/inbox/").get_data(as_text=True))
    make_org_admin(app, web_world.staff_id)
    assert "/institution/staff" in _menu(web.get("/inbox/").get_data(as_text=True))


def test_filter_values_a_client_makes_up_do_not_fill_the_options_kept(web: WebClient, web_world: World) -> None:
    # the 待办任务 filters' <option> lists are kept per process by their content and the chosen
    # value; a value that is none of the choices (a made-up query string) is not a key of its own
    from app.web.inbox import rows

    web.login("jigou01")
    web.get("/inbox/")
    before = rows._options.cache_info().currsize
    for n in range(40):
        page = web.get(f"/inbox/?process_id=made-up-{n}&step=x{n}").get_data(as_text=True)
        assert "made-up" not in page.split("</select>")[0]
    assert rows._options.cache_info().currsize <= before + 2
