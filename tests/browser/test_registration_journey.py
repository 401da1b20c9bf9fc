"""注册, end to end in headless Chromium: physician applies, institution confirms,
commission accepts and approves, the physician sees the new registration."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.browser.helpers import pick_institution
from tests.browser.helpers import sign_in as _login
from tests.factories import World
from tests.factories import photo_jpeg

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n% browser test\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
NewPage = Callable[[], Page]


def _pdfs(tmp_path: Path) -> tuple[Path, Path]:
    form = tmp_path / "申请审核表.pdf"
    proof = tmp_path / "聘用证明.pdf"
    form.write_bytes(PDF)
    proof.write_bytes(PDF + b"% proof\n")
    return form, proof


def _open_registration_form(page: Page) -> None:
    page.locator("nav.side").get_by_role("link", name="业务申请").click()
    expect(page).to_have_url(re.compile(r"/physician/apply$"))
    page.get_by_role("link", name="申请注册").click()
    expect(page).to_have_url(re.compile(r"/physician/apply/registration$"))
    expect(page.get_by_role("heading", name="注册申请")).to_be_visible()


def _fill_registration(page: Page, tmp_path: Path, mobile: str | None = None) -> None:
    _, proof = _pdfs(tmp_path)
    pick_institution(page, "山西大学", "山西大学医院")
    page.select_option("select[name=department_id]", label="内科")
    page.check("input[name=practice_scopes][value='11']")
    if mobile is not None:
        page.fill("input[name=contact_mobile]", mobile)
    page.set_input_files("input[name=employment_proof]", str(proof))
    photo = tmp_path / "照片.jpg"  # 办法 第十二条: the 2-inch photo is required
    photo.write_bytes(photo_jpeg())
    page.set_input_files("input[name=photo]", str(photo))
    page.check("input[name=declare_health]")
    page.check("input[name=declare_no_bar]")


def _submit_application(page: Page) -> None:
    page.get_by_role("button", name="提交申请").click()
    expect(page).to_have_url(re.compile(r"/physician/applications/\d+$"))
    expect(page.locator("strong.status")).to_have_text("待机构确认")


def _decide(page: Page, row_title: str, decision: str, shot: Path | None = None) -> None:
    """From the inbox: open the task in ``row_title``, choose ``decision``, submit."""
    page.goto("/inbox/")
    row = page.locator("table.grid tbody tr", has_text=row_title)
    expect(row).to_have_count(1)
    row.get_by_role("link", name="办理").click()
    expect(page).to_have_url(re.compile(r"/inbox/tasks/\d+$"))
    expect(page.locator("h1")).to_contain_text(row_title)
    if shot is not None:
        page.screenshot(path=str(shot), full_page=True)
    page.get_by_role("radio", name=decision, exact=True).check()
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page).to_have_url(re.compile(r"/inbox/$"))
    expect(page.locator(".flash.success")).to_have_text("已办理完成。")


def test_registration_journey(web_world: World, new_page: NewPage, tmp_path: Path) -> None:
    # 1. The physician applies.
    doctor = new_page()
    _login(doctor, "doctor01")
    _open_registration_form(doctor)
    expect(doctor.locator("input[name=contact_mobile]")).to_have_value("15175070658")
    _fill_registration(doctor, tmp_path)
    _submit_application(doctor)
    expect(doctor.locator(".flash.success")).to_contain_text("申请已提交")
    application_url = doctor.url

    # 2. The institution sees it read-only and confirms.
    staff = new_page()
    _login(staff, "jigou01")
    expect(staff).to_have_url(re.compile(r"/inbox/$"))
    row = staff.locator("table.grid tbody tr", has_text="医疗机构确认")
    expect(row).to_contain_text("宋宏强")
    expect(row).to_contain_text("山西大学医院")
    row.get_by_role("link", name="办理").click()
    content = staff.locator("dl.readonly")
    for text in ("山西大学医院", "内科", "内科专业", "151****0658", "聘用证明.pdf"):
        expect(content).to_contain_text(text)
    expect(content).not_to_contain_text("15175070658")  # approvers see the mobile masked
    expect(staff.locator("dl.readonly input, dl.readonly select")).to_have_count(0)
    staff.screenshot(path=str(tmp_path / "inbox_task.png"), full_page=True)
    staff.get_by_role("radio", name="确认", exact=True).check()
    staff.locator("input[name=paper_held]").check()  # the signed 申请审核表 is held
    staff.get_by_role("button", name="提交", exact=True).click()
    expect(staff).to_have_url(re.compile(r"/inbox/$"))
    expect(staff.locator(".flash.success")).to_have_text("已办理完成。")
    expect(staff.locator("table.grid")).to_have_count(0)

    # 3. The commission accepts, then approves.
    officer = new_page()
    _login(officer, "weijian01")
    _decide(officer, "卫健委受理", "受理", shot=tmp_path / "commission_task.png")
    _decide(officer, "审查决定", "准予")
    expect(officer.get_by_text("暂无待办任务。")).to_be_visible()

    # 4. The physician sees the outcome and the new registration.
    doctor.goto(application_url)
    expect(doctor.locator("strong.status")).to_have_text("已批准")
    doctor.locator("nav.side").get_by_role("link", name="执业信息").click()
    expect(doctor).to_have_url(re.compile(r"/physician/practice$"))
    card = doctor.locator("section.card")
    expect(card).to_have_count(1)
    expect(card.locator(".status")).to_have_text("有效")
    expect(card).to_contain_text("山西大学医院")
    expect(card).to_contain_text("内科专业")
    expect(card).to_contain_text("太原市卫生健康委员会")
    cert = card.locator("dt:has-text('执业证书编码') + dd")
    expect(cert).to_have_text(re.compile(r"^\s*\d{15}\s*$"))
    assert re.search(r"执业证书编码\s*\d{15}\b", card.inner_text())
    doctor.screenshot(path=str(tmp_path / "practice.png"), full_page=True)


def test_form_error_keeps_input(web_world: World, new_page: NewPage, tmp_path: Path) -> None:
    page = new_page()
    _login(page, "doctor01")
    _open_registration_form(page)
    _fill_registration(page, tmp_path, mobile="12345")
    page.get_by_role("button", name="提交申请").click()

    expect(page).to_have_url(re.compile(r"/physician/apply/registration$"))
    expect(page.get_by_role("alert").first).to_be_visible()
    mobile = page.locator("#field-contact_mobile")
    expect(mobile).to_have_class(re.compile(r"has-error"))
    expect(mobile.locator(".error")).to_have_text("请输入11位有效的手机号码")
    expect(page.locator(".field .error")).to_have_count(1)
    expect(page.locator("input[name=contact_mobile]")).to_have_value("12345")
    expect(page.locator("#chosen-institution_id")).to_have_text("已选：山西大学医院（山西省 太原市）")
    expect(page.locator("select[name=department_id] option:checked")).to_have_text("内科")
    expect(page.locator("input[name=practice_scopes][value='11']")).to_be_checked()
    expect(page.locator("input[name=declare_health]")).to_be_checked()
    expect(page.locator("input[name=declare_no_bar]")).to_be_checked()
    expect(page.locator("#field-employment_proof .kept")).to_contain_text("已上传：聘用证明.pdf")
    page.screenshot(path=str(tmp_path / "form_error.png"), full_page=True)

    page.fill("input[name=contact_mobile]", "15175070658")
    _submit_application(page)
    expect(page.get_by_role("link", name="打印申请审核表")).to_be_visible()
    expect(page.locator("dl.readonly")).to_contain_text("聘用证明.pdf")
    expect(page.locator("dl.readonly")).to_contain_text("15175070658")
