"""The guide's pages: the portal, 证书补办 in the menu, 业务说明, 使用手册, the provinces."""

from __future__ import annotations

import io
import re

import pytest
from flask import Flask
from pypdf import PdfReader

from app.extensions import db
from app.services.backoffice import case_runs
from app.services.backoffice import configured_types
from app.services.backoffice import editor
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import active_registration
from tests.factories import user


def _menu_link(page: str, label: str) -> str:
    m = re.search(rf'<a href="([^"]+)"[^>]*>{label}</a>', page)
    assert m, f"no menu link {label}"
    return m.group(1)


def test_reissue_menu_opens_the_form_and_submitting_starts_the_application(
        web: WebClient, web_world: World, app: Flask) -> None:
    # G-8: 指南 2 #11 证书补办
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
    assert _menu_link(form, "查看业务说明") == "/guide/types/reissue"  # 指南 2.4 #2
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
    # G-9: 指南 2.1 #11 执业地点：省
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


def _link(page: str, label: str, pattern: bool = False) -> str:
    m = re.search(rf'<a href="([^"]+)"[^>]*>{label if pattern else re.escape(label)}</a>', page)
    assert m, f"no link {label}"
    return m.group(1).replace("&amp;", "&")


def test_the_portal_offers_both_editions_and_the_tutorials(web: WebClient, web_world: World) -> None:
    # G-20: 指南 FAQ 找回 #8 使用说明
    # G-19: 指南 FAQ 找回 #2 个人端
    # G-1: 指南 1.1 #1 选择医师个人版 / 培训教程
    # 指南 1.1 #1: "选择医师个人版点击进入"; 医师电子化注册培训教程 / 医疗机构电子化注册培训教程
    portal = web.get("/").get_data(as_text=True)
    for label in ("医师个人版", "医疗机构版", "医师电子化注册培训教程", "医疗机构电子化注册培训教程"):
        assert label in portal
    login = web.get(_link(portal, "<strong>医师个人版</strong>.*?", pattern=True)).get_data(as_text=True)
    # 指南 FAQ #2: 医师电子化注册信息系统 (个人端); #7-8: 注册新账号 / 忘记密码? 使用说明
    assert "医师电子化注册信息系统（个人端）" in login
    for label in ("注册新账号", "忘记密码?", "使用说明", "注册说明", "医师执业注册信息查询"):
        assert _link(login, label)
    tutorial = web.get(_link(login, "使用说明")).get_data(as_text=True)
    assert "医师电子化注册培训教程" in tutorial and "3. 医师个人端：小结" in tutorial
    assert "第八步：提交业务申请" in tutorial

    staff_login = web.get(_link(portal, "<strong>医疗机构版</strong>.*?", pattern=True)).get_data(as_text=True)
    assert "医师电子化注册信息系统（机构端）" in staff_login and "注册新账号" not in staff_login
    staff_manual = web.get(_link(staff_login, "使用说明")).get_data(as_text=True)
    assert "医疗机构电子化注册培训教程" in staff_manual and "待办任务" in staff_manual
    # the same sign-in behind both entries
    resp = web.post("/login?edition=institution", {"username": "jigou01", "password": "Passw0rd1"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/inbox/")


def test_a_signed_in_user_opening_the_root_goes_home(web: WebClient, web_world: World) -> None:
    web.login("doctor01")
    resp = web.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/physician/")


@pytest.mark.parametrize("url", ["/", "/login", "/login?edition=physician", "/account/register"])
def test_support_contact_comes_from_the_configuration(web: WebClient, web_world: World, app: Flask,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      url: str) -> None:
    # G-4: 指南 1.1 #12 技术支持
    # 指南 1.1 #12: 技术支持 (our own contact, shown only when configured)
    assert "技术支持" not in web.get(url).get_data(as_text=True)
    monkeypatch.setitem(app.config, "MEDREG_SUPPORT_EMAIL", "help@wsjkw.example.cn")
    monkeypatch.setitem(app.config, "MEDREG_SUPPORT_PHONE", "0351-1234567")
    page = web.get(url).get_data(as_text=True)
    assert "技术支持" in page and 'href="mailto:help@wsjkw.example.cn"' in page and "0351-1234567" in page


def test_signup_help_is_a_page_linked_from_registration(web: WebClient, web_world: World) -> None:
    # G-3: 指南 1.1 #9 注册说明
    # 指南 1.1 #9: [注册说明] as a link
    register = web.get("/account/register").get_data(as_text=True)
    page = web.get(_link(register, "注册说明")).get_data(as_text=True)
    assert "A 在册医师：个人用户注册 → 到所在机构获取激活码" in page
    assert "B 有资格从未注册或现处于变更出、备案、注销状态的医师" in page


def test_every_business_type_has_its_description_linked_from_apply(web: WebClient,
                                                                  web_world: World) -> None:
    # G-13: 指南 2.4 #2 业务详细说明
    # 指南 2.4 #2: "您可查看系统内的业务详细说明"; 医师法 第十三条: 20 working days from 受理
    web.login("doctor01")
    listing = web.get("/physician/apply").get_data(as_text=True)
    links = re.findall(r'<a href="(/guide/types/\w+)"', listing)
    assert len(links) == 10
    for href in links:
        page = web.get(href).get_data(as_text=True)
        assert "申请条件" in page and "申请材料" in page and "办理步骤" in page
        assert "20个工作日" in page and "5个工作日内一次性告知" in page
        steps = re.findall(r"<li>([^<（]+)（", page.split("办理步骤")[1].split("</ol>")[0])
        assert steps[0] == "提交申请" and steps[-1] == "办结"
        assert steps.index("医疗机构确认") < steps.index("卫健委受理") < steps.index("审查决定")
    page = web.get("/guide/types/registration").get_data(as_text=True)
    for item in ("拟执业机构", "聘用证明", "医师执业注册申请审核表", "执业助理医师只能在一个执业地点注册",
                 "申请注册"):
        assert item in page
    reissue = web.get("/guide/types/reissue").get_data(as_text=True)
    assert "遗失声明" in reissue and "医师执业证书补办申请审核表" in reissue
    assert "以下业务正在办理期间，不能同时申请：" in reissue and "变更" in reissue
    assert "可以延长" not in page  # 延期 is off unless the province allows it
    change = web.get("/guide/types/change").get_data(as_text=True)
    assert "拟执业机构确认" in change  # the second institution's step, from the diagram
    index = web.get(_link(listing, "业务详细说明")).get_data(as_text=True)
    assert "1、" in index and "证书补办" in index and "使用手册" in index
    assert web.get("/guide/types/photo").status_code == 404  # not a business type
    assert web.get("/guide/types/nothing").status_code == 404


def test_a_configured_type_gets_its_description_once_published(web: WebClient, web_world: World,
                                                              app: Flask,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # 指南 2.4 #2 for a type created in the browser (issue 12 §3)
    monkeypatch.setitem(app.config, case_runs.SYNC_FLAG, True)
    with app.test_request_context():
        admin = user(web_world.admin_id)
        configured_types.create(admin, process_id="cert_copy", name="执业证书副本申领",
                                starter="physician", template="skeleton",
                                rules=["registration_current", "no_open_same"], chosen_operations=[])
        assert web.get("/guide/types/cert_copy").status_code == 404  # a draft has no page
        configured_types.add_template_cases(admin, "cert_copy")
        assert case_runs.start(admin, "cert_copy").state == "passed"
        editor.publish(admin, "cert_copy", "")
        db.session.remove()
    index = web.get("/guide/types").get_data(as_text=True)
    page = web.get(_link(index, "执业证书副本申领")).get_data(as_text=True)
    assert "需有有效执业注册。" in page and "20个工作日" in page and "申请材料" in page
    assert "医疗机构确认" in page


def test_the_manual_prints_and_downloads_as_pdf(web: WebClient, web_world: World) -> None:
    # G-14: 指南 2.4 #3 系统使用手册
    # 指南 2.4 #3: "也可下载系统使用手册"
    web.login("doctor01")
    home = web.get("/physician/").get_data(as_text=True)
    page = web.get(_link(home, "下载系统使用手册")).get_data(as_text=True)
    assert "data-print" in page and 'media="print"' in page
    resp = web.client.get(_link(page, "下载系统使用手册（PDF）"))
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(resp.data)).pages)
    compact = re.sub(r"\s", "", text)
    assert "医师电子化注册培训教程" in compact and "第八步：提交业务申请" in compact
    assert web.get("/guide/manual/nobody").status_code == 404




def test_the_time_limit_tells_of_the_extension_where_it_is_allowed(
        web: WebClient, web_world: World, app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    # 行政许可法 第四十二条: ten more working days with the head's approval (DOMAIN [I]: off by default)
    monkeypatch.setitem(app.config, "MEDREG_ALLOW_EXTENSION", True)
    page = web.get("/guide/types/registration").get_data(as_text=True)
    assert "20个工作日内作出决定" in page and "可以延长10个工作日" in page
