"""The guide's pages: the portal, 证书补办 in the menu, 业务说明, 使用手册, the provinces."""

from __future__ import annotations

import re

from flask import Flask

from app.extensions import db
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import active_registration


def _menu_link(page: str, label: str) -> str:
    m = re.search(rf'<a href="([^"]+)"[^>]*>{label}</a>', page)
    assert m, f"no menu link {label}"
    return m.group(1)


def test_reissue_menu_opens_the_form_and_submitting_starts_the_application(
        web: WebClient, web_world: World, app: Flask) -> None:
    # 指南 1.3 #11 / issue 13 item 2: 证书补办 is a working menu entry, not greyed 即将开放
    with app.app_context():
        reg_id = active_registration(web_world).id
        db.session.remove()
    web.login("doctor01")
    home = web.get("/physician/").get_data(as_text=True)
    assert "即将开放" not in home
    form = web.get(_menu_link(home, "证书补办")).get_data(as_text=True)
    assert "证书补办申请" in form and "补办原因" in form and "遗失" in form
    assert f'value="{reg_id}"' in form
    resp = web.post("/physician/apply/reissue", {"registration_id": str(reg_id), "cause": "damaged",
                                                 "declare_true": "on"},
                    content_type="multipart/form-data")
    assert resp.status_code == 302
    detail = web.get(resp.headers["Location"]).get_data(as_text=True)
    assert "证书补办" in detail and "待机构确认" in detail


def test_reissue_menu_says_why_when_the_physician_cannot_apply(web: WebClient,
                                                               web_world: World) -> None:
    # 医师执业注册管理办法 第十六条 / R-48: a certificate is reissued for a registration in force; 指南 1.3 #11
    web.login("doctor01")
    home = web.get("/physician/").get_data(as_text=True)
    page = web.get(_menu_link(home, "证书补办")).get_data(as_text=True)
    assert "您当前没有有效的执业注册，不能申请证书补办" in page
    assert "提交申请" not in page


def test_a_registration_in_hebei_shows_its_province_everywhere(web: WebClient, web_world: World,
                                                              app: Flask) -> None:
    # 指南 1.4 #11 / issue 13 item 4: every GB/T 2260 provincial-level name, not a raw code
    with app.app_context():
        active_registration(web_world, place_region="130000", cert_no="110130100000777")
        db.session.remove()
    web.login("doctor01")
    practice = web.get("/physician/practice").get_data(as_text=True)
    assert "河北省" in practice and "130000" not in practice
    web.post("/logout")
    search = web.get("/public/register").get_data(as_text=True)
    options = re.findall(r'<option value="(\d\d)"\s*>([^<]+)</option>', search)
    assert len(options) == 34
    assert ("13", "河北省") in options and ("71", "台湾省") in options
    assert ("81", "香港特别行政区") in options and ("82", "澳门特别行政区") in options
    found = web.post("/public/register", {"name": "宋宏强", "province": "13"}).get_data(as_text=True)
    assert "110130100000777" in found and "河北省" in found


def test_the_34_provinces_of_gb_t_2260() -> None:
    # 指南 1.4 #11: 23 provinces, 5 autonomous regions, 4 municipalities, 2 SARs
    from app.services.records.regions import PROVINCES
    from app.services.records.regions import province_name

    names = list(PROVINCES.values())
    assert len(names) == 34
    assert sum(n.endswith("省") for n in names) == 23
    assert sum(n.endswith("自治区") for n in names) == 5
    assert sum(n.endswith("市") for n in names) == 4
    assert sum(n.endswith("特别行政区") for n in names) == 2
    assert province_name("650102") == "新疆维吾尔自治区" and province_name("990000") == "990000"
