"""A stranger who knows a physician's name and ID number tries every way into the account
in Chromium — sign up first, the activation code, 通过个人信息找回, guessing the password —
and gets nowhere; the physician signs up after them, activates and gets in (issue 10)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page
from playwright.sync_api import expect

from app.extensions import db
from app.models import Registration
from tests.browser.helpers import sms_bodies
from tests.factories import World
from tests.factories import make_qualification

pytestmark = pytest.mark.browser
NewPage = Callable[[], Page]
SMS_CODE = re.compile(r"您的校验码是 (\d{6})(?!\d)")
ACTIVATION = re.compile(r"激活码为 ([A-Z0-9]{8})")
STRANGER_PHONE, OWNER_PHONE = "13955550001", "13966660002"


def _code(app: Flask, mobile: str, pattern: re.Pattern[str] = SMS_CODE) -> str:
    for body in sms_bodies(app, mobile):
        if m := pattern.search(body):
            return m.group(1)
    raise AssertionError(f"nothing sent to {mobile}")


def _sign_up(page: Page, app: Flask, name: str, id_number: str, mobile: str, username: str) -> None:
    page.goto("/account/register")
    page.get_by_label("您的姓名").fill(name)
    page.get_by_label("身份证号").fill(id_number)
    page.get_by_role("button", name="确定，继续").click()
    expect(page).to_have_url(re.compile(r"/register/account$"))
    page.get_by_label("手机号码").fill(mobile)
    page.get_by_label("电子邮箱").fill(f"{username}@example.cn")
    page.get_by_label("用户名称").fill(username)
    page.get_by_label("登录密码").fill("Abc12345")
    page.get_by_label("确认密码").fill("Abc12345")
    page.get_by_role("button", name="确定，继续").click()
    expect(page).to_have_url(re.compile(r"/activate$"))
    page.get_by_role("link", name="点击此处验证手机").click()
    page.get_by_role("button", name="向手机发送校验码").click()
    page.get_by_label("请填写手机校验码").fill(_code(app, mobile))
    page.get_by_role("button", name="确定", exact=True).click()
    expect(page.get_by_role("heading", name="医师账户激活第二步 输入激活码激活账户")).to_be_visible()


def test_a_stranger_with_name_and_id_cannot_get_in_and_the_physician_can(
        app: Flask, web_world: World, new_page: NewPage, tmp_path: Path) -> None:
    with app.app_context():
        q = make_qualification("李思远", 77)
        reg = Registration(qualification_id=q.id, level="执业医师", category="1", scopes=["11"],
                           place_region="140000", institution_id=web_world.hospital_id,
                           authority_id=web_world.authority_id, status="ACTIVE",
                           cert_no="110140100777007")
        db.session.add(reg)
        db.session.commit()
        name, id_number, cert_no = q.name, q.id_number, q.cert_no
        db.session.remove()

    # 1. The stranger signs up first with the physician's name and ID, on their own phone.
    stranger = new_page()
    _sign_up(stranger, app, name, id_number, STRANGER_PHONE, "stranger01")
    stranger.get_by_label("请输入账户激活码").fill("ABCDEFGH")
    stranger.get_by_role("button", name="激活我的账户").click()
    expect(stranger.locator("#field-code .error")).to_contain_text("激活码不正确或已失效")

    # 2. The institution records the phone it checked in person and issues the code.
    staff = new_page()
    staff.goto("/login")
    staff.get_by_label("用户名/手机号码/资格证书编码").fill("jigou01")
    staff.get_by_label("密码：", exact=True).fill("Passw0rd1")
    staff.get_by_role("button", name="登录").click()
    staff.goto("/institution/activation-codes")
    row = staff.locator("table.grid tbody tr", has_text=name)
    row.get_by_label("登记手机号").fill(OWNER_PHONE)
    row.get_by_role("button", name="登记（已当面核实）").click()
    row = staff.locator("table.grid tbody tr", has_text=name)
    row.get_by_role("button", name="生成激活码").click()
    expect(staff.locator("main")).to_contain_text("已发送至本机构登记的手机 139****0002")
    code = staff.locator("#activation-code").inner_text().strip()
    assert not any(code in body for body in sms_bodies(app, STRANGER_PHONE))
    assert _code(app, OWNER_PHONE, ACTIVATION) == code

    # 3. The stranger tries 通过个人信息找回 with guessed 资格证书编码: closed after five.
    thief = new_page()
    for i in range(6):
        thief.goto("/account/recover/identity")
        thief.get_by_label("您的姓名").fill(name)
        thief.get_by_label("身份证号").fill(id_number)
        thief.get_by_label("资格证书编码").fill(cert_no[:-2] + f"{i:02d}")
        thief.get_by_label("新密码").fill("Taken1234")
        thief.get_by_label("确认密码").fill("Taken1234")
        thief.get_by_role("button", name="找回账户").click()
        expect(thief.locator("main")).to_contain_text(
            "错误次数过多" if i == 5 else "您输入的信息与我们的记录不符")

    # 4. The physician signs up too (the first account does not own the ID), activates with
    #    the code from the phone the institution keeps, and lands on the home page.
    owner = new_page()
    _sign_up(owner, app, name, id_number, OWNER_PHONE, "lisiyuan1")
    owner.get_by_label("请输入账户激活码").fill(code)
    owner.get_by_role("button", name="激活我的账户").click()
    expect(owner).to_have_url(re.compile(r"/physician/$"))
    expect(owner.locator(".flash.success")).to_have_text("恭喜，您的账户已激活！")
    owner.screenshot(path=str(tmp_path / "owner_home.png"), full_page=True)

    # 5. The stranger's account is closed: signed out, and it no longer opens.
    stranger.goto("/account/activate")
    expect(stranger).to_have_url(re.compile(r"/login"))
    stranger.get_by_label("用户名/手机号码/资格证书编码").fill("stranger01")
    stranger.get_by_label("密码：", exact=True).fill("Abc12345")
    stranger.get_by_role("button", name="登录").click()
    expect(stranger.locator(".form-error")).to_have_text("用户名或密码错误")

    # 6. Guessing the physician's password only slows password tries down ...
    for _ in range(6):
        stranger.goto("/login")
        stranger.get_by_label("用户名/手机号码/资格证书编码").fill("lisiyuan1")
        stranger.get_by_label("密码：", exact=True).fill("Wrong1234")
        stranger.get_by_role("button", name="登录").click()
        expect(stranger.locator(".form-error")).to_have_text("用户名或密码错误")
    # ... the physician still gets in, with a code to the verified phone.
    again = new_page()
    again.goto("/login")
    again.get_by_role("link", name="手机校验码登录").click()
    again.get_by_label("已验证的手机号码").fill(OWNER_PHONE)
    again.get_by_role("button", name="发送校验码").click()
    again.get_by_label("校验码").fill(_code(app, OWNER_PHONE))
    again.get_by_role("button", name="登录", exact=True).click()
    expect(again).to_have_url(re.compile(r"/physician/$"))
    expect(again.locator("nav.side").get_by_role("link", name="业务申请")).to_be_visible()
