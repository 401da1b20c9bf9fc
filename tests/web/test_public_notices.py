"""准予注册 / 注销 notices: public, per province, paginated, no ID number (R-14)."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask

from app.extensions import db
from app.models import Registration
from app.services.engine.clock import today_cst
from app.services.records import notices
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import make_qualification


def _people(app: Flask, world: World) -> dict[str, str]:
    """25 granted in Shanxi this month, 1 in Yunnan, 1 granted two years ago, 2 cancelled."""
    today = today_cst()
    ids: dict[str, str] = {}
    with app.app_context():
        def reg(name: str, seq: int, place: str, inst: int, auth: int, status: str,
                approved: int, changed: int | None = None) -> None:
            q = make_qualification(name, seq)
            ids[name] = q.id_number
            db.session.add(Registration(
                qualification_id=q.id, level="执业医师", category="1", scopes=["11"],
                place_region=place, institution_id=inst, authority_id=auth, status=status,
                cert_no=f"1101401{seq:08d}", approved_on=today - timedelta(days=approved),
                status_changed_on=(today - timedelta(days=changed)) if changed is not None
                else None))
        for n in range(25):
            reg(f"晋医{n:02d}", 100 + n, "140000", world.hospital_id, world.authority_id,
                "ACTIVE", approved=n)
        reg("滇医", 200, "530000", world.other_hospital_id, world.other_authority_id, "ACTIVE",
            approved=3)
        reg("旧批准", 201, "140000", world.hospital_id, world.authority_id, "ACTIVE",
            approved=800)
        reg("已注销", 202, "140000", world.hospital_id, world.authority_id, "CANCELLED",
            approved=500, changed=2)
        reg("滇注销", 203, "530000", world.other_hospital_id, world.other_authority_id,
            "CANCELLED", approved=500, changed=4)
        db.session.commit()
    return ids


def test_granted_and_cancelled_notices_per_province_without_id_numbers(
        web: WebClient, web_world: World, app: Flask) -> None:
    # 医师法 第二十一条 / R-14: 准予注册 and 注销 are published; anyone may read them, no sign-in
    ids = _people(app, web_world)
    search = web.get("/public/register").get_data(as_text=True)
    link = re.search(r'href="([^"]*/public/notices\?kind=registered)"', search)
    assert link is not None  # linked from the public register
    anonymous = WebClient(app.test_client())
    page1 = anonymous.get(link.group(1) + "&province=14").get_data(as_text=True)
    assert "准予注册公告" in page1 and "共 25 条" in page1 and "第 1 / 2 页" in page1
    assert "晋医00" in page1 and "晋医19" in page1 and "晋医20" not in page1  # newest first
    assert "山西大学医院" in page1 and "临床" in page1
    assert "滇医" not in page1 and "旧批准" not in page1  # other province; older than a year
    assert all(number not in page1 for number in ids.values())
    assert "1101401" not in page1  # no certificate number either
    nxt = re.search(r'href="([^"]+page=2[^"]*)"', page1)
    assert nxt is not None
    page2 = anonymous.get(nxt.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "晋医24" in page2 and "晋医00" not in page2 and "上一页" in page2
    cancelled = anonymous.get("/public/notices?kind=cancelled&province=14").get_data(as_text=True)
    assert "已注销" in cancelled and "滇注销" not in cancelled and "晋医00" not in cancelled
    assert "注销日期" in cancelled
    everywhere = anonymous.get("/public/notices?kind=cancelled").get_data(as_text=True)
    assert "已注销" in everywhere and "滇注销" in everywhere
    bad = anonymous.get("/public/notices?kind=registered&province=99")
    assert bad.status_code == 422 and "请从列表中选择执业地点" in bad.get_data(as_text=True)


def test_a_page_past_the_end_shows_the_last_page(app: Flask, web_world: World) -> None:
    # paginated; a hand-edited page number never errors
    _people(app, web_world)
    with app.app_context():
        listing = notices.notices("registered", "14", 99)
        assert listing.page == 2 and [n.name for n in listing.items] == [
            f"晋医{n:02d}" for n in range(20, 25)]
