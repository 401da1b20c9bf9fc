"""个人用户注册 → 验证手机 → 医师账户激活, as a person does it in headless Chromium, from the
empty registration page to the physician's home page.

Path B: a qualification without any registration; the physician activates with the
资格证书编码 and can then log in with it.  Path A: an active registration at the test
world's hospital; the institution generates the activation code (twice: the first one
must stop working) and the physician activates with it."""

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
from tests.factories import PASSWORD
from tests.factories import World
from tests.factories import make_qualification

pytestmark = pytest.mark.browser
NewPage = Callable[[], Page]

PHYSICIAN_PASSWORD = "Abc12345"
PHYSICIAN_MENU = ("资格信息", "执业信息", "考核信息", "业务申请", "业务查询", "安全设置")
SMS_CODE = re.compile(r"您的校验码是 (\d{6})(?!\d)")


# ---- helpers -------------------------------------------------------------------------------

def _typed_id(id_number: str) -> str:
    """The ID number as a person may type it: a final X in lower case."""
    return id_number[:-1] + "x" if id_number.endswith("X") else id_number


def _masked(id_number: str) -> str:
    return id_number[:4] + "*" * (len(id_number) - 8) + id_number[-4:]


def _sms_code(app: Flask, mobile: str) -> str:
    """The 6-digit code of the newest verification SMS to ``mobile``."""
    for body in sms_bodies(app, mobile):
        if m := SMS_CODE.search(body):
            return m.group(1)
    raise AssertionError(f"no verification code sent to {mobile}")


def _login(page: Page, login: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("用户名/手机号码/资格证书编码").fill(login)
    page.get_by_label("密码：", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def _register(page: Page, name: str, id_typed: str, mobile: str, username: str) -> None:
    """个人用户注册, both steps, starting from the login page."""
    page.goto("/login")
    page.get_by_role("link", name="注册新账号").click()
    expect(page).to_have_url(re.compile(r"/register$"))
    expect(page.get_by_label("您的姓名")).to_have_value("")
    expect(page.get_by_label("身份证号")).to_have_value("")
    page.get_by_label("您的姓名").fill(name)
    page.get_by_label("身份证号").fill(id_typed)
    page.get_by_role("button", name="确定，继续").click()

    expect(page).to_have_url(re.compile(r"/register/account$"))
    expect(page.locator("main")).to_contain_text(f"您的姓名：{name}")
    page.get_by_label("手机号码").fill(mobile)
    page.get_by_label("电子邮箱").fill(f"{username}@example.cn")
    page.get_by_label("用户名称").fill(username)
    page.get_by_label("登录密码").fill(PHYSICIAN_PASSWORD)
    page.get_by_label("确认密码").fill(PHYSICIAN_PASSWORD)
    page.get_by_role("button", name="确定，继续").click()

    expect(page).to_have_url(re.compile(r"/activate$"))
    expect(page.locator("p.ok")).to_have_text("恭喜，您已经通过医师资格信息校验！")
    # Not activated yet: activation, 身份信息更新, 资格补【改】指南 and security (指南 1.3 #2).
    menu = page.locator("nav.side")
    expect(menu.get_by_role("link")).to_have_text(["医师账户激活", "身份信息更新", "资格补【改】指南",
                                                   "安全设置"])


def _verify_phone(page: Page, app: Flask, mobile: str) -> None:
    """点击此处验证手机 → send the code → type it from the SMS → back on the activation page."""
    page.get_by_role("link", name="点击此处验证手机").click()
    expect(page.get_by_role("heading", name="验证手机号码：")).to_be_visible()
    phone = page.get_by_label("我的手机")
    expect(phone).to_have_value(mobile)
    page.get_by_role("button", name="向手机发送校验码").click()
    expect(page.locator(".flash.success")).to_contain_text("校验码已发送")
    expect(phone).to_have_value(mobile)
    page.get_by_label("请填写手机校验码").fill(_sms_code(app, mobile))
    page.get_by_role("button", name="确定", exact=True).click()
    expect(page).to_have_url(re.compile(r"/activate$"))
    expect(page.locator(".flash.success")).to_have_text("验证成功！")
    expect(page.get_by_role("link", name="点击此处验证手机")).to_have_count(0)


def _expect_activated_home(page: Page) -> None:
    expect(page).to_have_url(re.compile(r"/physician/$"))
    expect(page.locator(".flash.success")).to_have_text("恭喜，您的账户已激活！")
    menu = page.locator("nav.side")
    for item in PHYSICIAN_MENU:
        expect(menu.get_by_role("link", name=item, exact=True)).to_be_visible()
    expect(menu.get_by_role("link", name="医师账户激活")).to_have_count(0)


# ---- path B: qualification only ------------------------------------------------------------

def test_path_b_activate_with_qualification_cert(app: Flask, clean_db: None,
                                                 new_page: NewPage, tmp_path: Path) -> None:
    with app.app_context():
        q = make_qualification("张三丰", 11)  # an ID number ending in X
        db.session.commit()
        id_number, cert_no = q.id_number, q.cert_no
        db.session.remove()
    assert id_number.endswith("X")
    mobile = "13912340011"

    page = new_page()
    _register(page, "张三丰", _typed_id(id_number), mobile, "zhangsf01")
    expect(page.get_by_role("link", name="点击此处验证手机")).to_be_visible()
    page.screenshot(path=str(tmp_path / "b_activate_step1.png"), full_page=True)

    _verify_phone(page, app, mobile)
    expect(page.get_by_role("heading", name="医师账户激活第二步 输入资格证书编码激活账户")) \
        .to_be_visible()
    page.screenshot(path=str(tmp_path / "b_activate_step2.png"), full_page=True)

    wrong = cert_no[:-2] + ("00" if cert_no[-2:] != "00" else "11")
    page.get_by_label("请输入您的医师资格证书编码").fill(wrong)
    page.get_by_role("button", name="激活我的账户").click()
    expect(page).to_have_url(re.compile(r"/activate$"))
    expect(page.locator("#field-cert_no .error")).to_have_text("资格证书编码与您的资格信息不符")
    page.screenshot(path=str(tmp_path / "b_activate_wrong.png"), full_page=True)

    page.get_by_label("请输入您的医师资格证书编码").fill(cert_no)
    page.get_by_role("button", name="激活我的账户").click()
    _expect_activated_home(page)

    page.locator("nav.side").get_by_role("link", name="资格信息").click()
    expect(page).to_have_url(re.compile(r"/physician/qualification$"))
    info = page.locator("dl.readonly")
    expect(info.locator("dt:text-is('姓名') + dd")).to_have_text("张三丰")
    expect(info.locator("dt:text-is('资格证书编码') + dd")).to_have_text(cert_no)
    expect(info.locator("dt:text-is('身份证号码') + dd")).to_have_text(id_number)

    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    _login(page, cert_no, PHYSICIAN_PASSWORD)
    expect(page).to_have_url(re.compile(r"/physician/$"))
    expect(page.get_by_role("heading", name="欢迎，张三丰")).to_be_visible()


# ---- path A: active registration at the world's hospital -----------------------------------

def test_path_a_activate_with_institution_code(app: Flask, web_world: World,
                                               new_page: NewPage, tmp_path: Path) -> None:
    with app.app_context():
        q = make_qualification("赵子龙", 40)  # an ID number ending in X
        db.session.add(Registration(
            qualification_id=q.id, level="执业医师", category="1", scopes=["11"],
            place_region="140000", institution_id=web_world.hospital_id,
            authority_id=web_world.authority_id, status="ACTIVE", cert_no="110140100654321"))
        db.session.commit()
        id_number = q.id_number
        db.session.remove()
    mobile = "13912340040"

    # Browser 1: the physician registers and verifies the phone.
    doctor = new_page()
    _register(doctor, "赵子龙", _typed_id(id_number), mobile, "zhaozl01")
    _verify_phone(doctor, app, mobile)
    expect(doctor.get_by_role("heading", name="医师账户激活第二步 输入激活码激活账户")) \
        .to_be_visible()
    expect(doctor.locator("main ul.notes strong")).to_have_text("山西大学医院")
    expect(doctor.locator("main")).to_contain_text("账户激活码需要您到您执业所在医疗机构")
    doctor.screenshot(path=str(tmp_path / "a_activate_step2.png"), full_page=True)

    # Browser 2: the institution generates a code, then another one.
    staff = new_page()
    _login(staff, "jigou01", PASSWORD)
    staff.locator("nav.side").get_by_role("link", name="激活码", exact=True).click()
    expect(staff).to_have_url(re.compile(r"/institution/activation-codes$"))
    expect(staff.get_by_role("heading", name="医师账户激活码")).to_be_visible()
    row = staff.locator("table.grid tbody tr", has_text="赵子龙")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("待激活")
    expect(row).to_contain_text(_masked(id_number))
    expect(row).to_contain_text("110140100654321")
    for shown in (id_number, id_number.lower()):
        assert shown not in staff.content(), "full ID number shown to the institution"
    staff.screenshot(path=str(tmp_path / "inst_codes.png"), full_page=True)
    # the institution records the phone it checked in person: the only address for the code
    row.get_by_label("登记手机号").fill(mobile)
    row.get_by_role("button", name="登记（已当面核实）").click()
    expect(staff.locator("main")).to_contain_text("已登记赵子龙的手机号")
    row = staff.locator("table.grid tbody tr", has_text="赵子龙")

    dialogs: list[str] = []
    staff.on("dialog", lambda d: dialogs.append(d.message))  # accepted by the fixture
    row.get_by_role("button", name="生成激活码").click()
    expect(staff.get_by_role("heading", name="激活码已生成")).to_be_visible()
    expect(staff.locator("main")).to_contain_text("医师：赵子龙")
    expect(staff.locator("main")).to_contain_text(f"已发送至本机构登记的手机 {mobile[:3]}****{mobile[-4:]}")
    first = staff.locator("#activation-code").inner_text().strip()
    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{8}", first), first
    assert dialogs == []  # no earlier code: nothing to confirm
    staff.screenshot(path=str(tmp_path / "inst_code_issued.png"), full_page=True)

    staff.get_by_role("link", name="返回").click()
    expect(staff).to_have_url(re.compile(r"/institution/activation-codes$"))
    row = staff.locator("table.grid tbody tr", has_text="赵子龙")
    expect(row.get_by_role("button", name="生成激活码")).to_have_count(0)
    expect(row.locator("td").nth(4)).not_to_have_text("—")  # a valid code's expiry
    expect(staff.locator("#activation-code")).to_have_count(0)  # shown once only
    assert first not in staff.content()
    staff.screenshot(path=str(tmp_path / "inst_codes_after.png"), full_page=True)
    row.get_by_role("button", name="重新生成").click()
    expect(staff.get_by_role("heading", name="激活码已生成")).to_be_visible()
    assert len(dialogs) == 1 and "原激活码将失效" in dialogs[0], dialogs
    second = staff.locator("#activation-code").inner_text().strip()
    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{8}", second), second
    assert second != first

    sms = sms_bodies(app, mobile)
    assert any(second in body for body in sms), sms
    assert not any(second in body for body in sms_bodies(app, "15175070658"))

    # Browser 1: the first code no longer works, the second one does.
    doctor.reload()
    expect(doctor.get_by_role("heading", name="医师账户激活第二步 输入激活码激活账户")) \
        .to_be_visible()
    doctor.get_by_label("请输入账户激活码").fill(first)
    doctor.get_by_role("button", name="激活我的账户").click()
    expect(doctor).to_have_url(re.compile(r"/activate$"))
    expect(doctor.locator("#field-code .error")).to_contain_text("激活码不正确或已失效")
    doctor.get_by_label("请输入账户激活码").fill(second)
    doctor.get_by_role("button", name="激活我的账户").click()
    _expect_activated_home(doctor)

    doctor.locator("nav.side").get_by_role("link", name="执业信息").click()
    expect(doctor).to_have_url(re.compile(r"/physician/practice$"))
    card = doctor.locator("section.card")
    expect(card).to_have_count(1)
    expect(card.locator(".status")).to_have_text("有效")
    expect(card.locator("dt:text-is('主执业机构') + dd")).to_have_text("山西大学医院")
    expect(card.locator("dt:text-is('执业证书编码') + dd")).to_have_text("110140100654321")

    # The institution now sees the account as activated, with nothing left to generate.
    staff.goto("/institution/activation-codes")
    row = staff.locator("table.grid tbody tr", has_text="赵子龙")
    expect(row).to_contain_text("已激活")
    expect(row.get_by_role("button")).to_have_count(0)
