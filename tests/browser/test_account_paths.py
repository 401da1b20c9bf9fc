"""个人用户注册 → 医师账户激活 in headless Chromium, from the empty registration page to
the physician's home page: path B (资格证书编码) and path A (institution's activation code)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from playwright.sync_api import Page
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMessage
from app.models import Registration
from tests.factories import PASSWORD
from tests.factories import World
from tests.factories import make_qualification

pytestmark = pytest.mark.browser
NewPage = Callable[[], Page]


def _latest_code(app: Flask, target: str) -> str:
    with app.app_context():
        body = db.session.scalar(select(OutboxMessage.body).where(
            OutboxMessage.recipient == target).order_by(OutboxMessage.id.desc()).limit(1))
        db.session.remove()
    m = re.search(r"(?<!\d)\d{6}(?!\d)", body or "")
    assert m, body
    return m.group(0)


def _register(page: Page, name: str, id_number: str, mobile: str, username: str) -> None:
    page.goto("/login")
    page.get_by_role("link", name="注册新账号").click()
    expect(page.get_by_text("姓名不是登录用户名")).to_be_visible()
    page.fill("#in-name", name)
    page.fill("#in-id_number", id_number)
    page.get_by_role("button", name="确定，继续").click()
    expect(page.get_by_text("用户名以字母开头，6至12位数字和字母组合")).to_be_visible()
    page.fill("#in-mobile", mobile)
    page.fill("#in-email", f"{username}@example.cn")
    page.fill("#in-username", username)
    page.fill("#in-password", "Abc12345")
    page.fill("#in-confirm", "Abc12345")
    page.get_by_role("button", name="确定，继续").click()
    expect(page.get_by_text("恭喜，您已经通过医师资格信息校验！")).to_be_visible()


def _verify_phone(page: Page, app: Flask, mobile: str) -> None:
    page.get_by_role("link", name="点击此处验证手机").click()
    expect(page.locator("#in-target")).to_have_value(mobile)
    page.get_by_role("button", name="向手机发送校验码").click()
    expect(page.get_by_text("校验码已发送")).to_be_visible()
    page.fill("#in-code", _latest_code(app, mobile))
    page.get_by_role("button", name="确定").click()
    expect(page.get_by_text("验证成功！")).to_be_visible()


def test_path_b_qualification_only(app: Flask, clean_db: None, new_page: NewPage) -> None:
    with app.app_context():
        q = make_qualification("张三丰", 31)
        db.session.commit()
        rid, cert = q.id_number, q.cert_no
        db.session.remove()
    page = new_page()
    _register(page, "张三丰", rid.lower(), "13912340001", "zhangsf01")
    _verify_phone(page, app, "13912340001")
    expect(page.get_by_text("输入资格证书编码激活账户")).to_be_visible()
    page.fill("#in-cert_no", cert[:-1] + ("1" if cert[-1] != "1" else "2"))
    page.get_by_role("button", name="激活我的账户").click()
    expect(page.get_by_text("资格证书编码与您的资格信息不符")).to_be_visible()
    page.fill("#in-cert_no", cert)
    page.get_by_role("button", name="激活我的账户").click()
    expect(page.get_by_text("恭喜，您的账户已激活！")).to_be_visible()
    menu = page.locator("nav.side")
    for item in ("资格信息", "执业信息", "考核信息", "业务申请", "业务查询", "安全设置"):
        expect(menu.get_by_role("link", name=item)).to_be_visible()
    menu.get_by_role("link", name="资格信息").click()
    expect(page.get_by_text(cert)).to_be_visible()
    page.get_by_role("button", name="退出").click()
    page.fill("#username", cert)
    page.fill("#password", "Abc12345")
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/physician/$"))


def test_path_a_institution_issues_the_code(app: Flask, web_world: World, new_page: NewPage,
                                            tmp_path: object) -> None:
    with app.app_context():
        q = make_qualification("赵子龙", 32)
        db.session.add(Registration(qualification_id=q.id, level="执业医师", category="1",
                                    scopes=["11"], place_region="140000",
                                    institution_id=web_world.hospital_id,
                                    authority_id=web_world.authority_id, status="ACTIVE",
                                    cert_no="110140100123456"))
        db.session.commit()
        rid = q.id_number
        db.session.remove()
    doctor = new_page()
    _register(doctor, "赵子龙", rid, "13912340002", "zhaozl01")
    _verify_phone(doctor, app, "13912340002")
    expect(doctor.get_by_text("输入激活码激活账户")).to_be_visible()
    expect(doctor.locator("main")).to_contain_text("山西大学医院")

    staff = new_page()
    staff.goto("/login")
    staff.fill("#username", "jigou01")
    staff.fill("#password", PASSWORD)
    staff.get_by_role("button", name="登录").click()
    staff.locator("nav.side").get_by_role("link", name="激活码").click()
    row = staff.locator("tr", has_text="赵子龙")
    expect(row).to_contain_text("待激活")
    assert rid not in staff.content()  # masked for staff
    row.get_by_role("button", name="生成激活码").click()
    first = staff.locator("#activation-code").inner_text()
    staff.get_by_role("link", name="返回").click()
    staff.locator("tr", has_text="赵子龙").get_by_role("button", name="重新生成").click()
    second = staff.locator("#activation-code").inner_text()
    assert re.fullmatch(r"[A-Z0-9]{8}", first) and first != second
    expect(staff.get_by_text("已发送至医师已验证的手机")).to_be_visible()
    with app.app_context():
        assert db.session.scalar(select(OutboxMessage.id).where(
            OutboxMessage.recipient == "13912340002", OutboxMessage.body.contains(second)))
        db.session.remove()

    doctor.fill("#in-code", first)
    doctor.get_by_role("button", name="激活我的账户").click()
    expect(doctor.get_by_text("激活码不正确或已失效")).to_be_visible()
    doctor.fill("#in-code", second)
    doctor.get_by_role("button", name="激活我的账户").click()
    expect(doctor.get_by_text("恭喜，您的账户已激活！")).to_be_visible()
    doctor.locator("nav.side").get_by_role("link", name="执业信息").click()
    expect(doctor.locator("main")).to_contain_text("有效")
    expect(doctor.locator("main")).to_contain_text("山西大学医院")
