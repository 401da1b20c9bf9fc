"""The person, not the qualification (issue 11 §3–4), in headless Chromium: an assistant
physician is upgraded to 执业医师, files a 多执业机构备案 on the new registration, then leaves
the hospital; the institution reports it and 执业信息 shows 备案."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page
from playwright.sync_api import expect

from app.extensions import db
from app.models import Department
from app.models import Institution
from app.models import Qualification
from app.models import Registration
from app.models import Role
from app.services.engine.clock import today_cst
from tests.browser.helpers import pick_institution
from tests.browser.helpers import sign_in
from tests.factories import World
from tests.factories import make_user
from tests.factories import user

pytestmark = pytest.mark.browser
NewPage = Callable[[], Page]
PDF = b"%PDF-1.4\n% browser\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _assistant_with_a_new_qualification(app: Flask, world: World) -> None:
    """doctor01 practises as 执业助理医师 at the hospital and has since passed the 执业医师
    examination (a second qualification of the same person); a second hospital in the
    province, with its own staff, takes filings."""
    with app.app_context():
        doctor = user(world.doctor_id)
        assistant = doctor.qualification
        assistant.level = "执业助理医师"
        db.session.add(Qualification(
            cert_no="2016141" + assistant.cert_no[7:], name=assistant.name, sex=assistant.sex,
            id_number=assistant.id_number, birth_date=assistant.birth_date, level="执业医师",
            category="1", year=2016, issued_on=assistant.issued_on, issuer=assistant.issuer))
        db.session.add(Registration(
            qualification_id=assistant.id, level="执业助理医师", category="1", scopes=["11"],
            place_region="140105", institution_id=world.hospital_id,
            department_id=world.department_id, authority_id=world.authority_id, status="ACTIVE",
            cert_no="211140100000001"))
        second = Institution(name="太原市中心医院", reg_no="R-140-5", kind="综合医院",
                             region_code="140106", authority_id=world.authority_id)
        db.session.add(second)
        db.session.flush()
        db.session.add(Department(institution_id=second.id, code="01", name="心内科",
                                  subject_code="0304"))
        make_user("jigou07", Role.INSTITUTION, "中心医院医务科", institution_id=second.id)
        db.session.commit()
        db.session.remove()


def _handle(page: Page, title: str, label: str) -> None:
    """Open the inbox task ``title`` and decide ``label``."""
    page.goto("/inbox/")
    page.locator("tr", has_text=title).first.get_by_role("link", name="办理").click()
    page.get_by_label(label, exact=True).check()
    paper = page.locator("input[name=paper_held]")
    if paper.count():  # the institution holds the signed and stamped 申请审核表
        paper.check()
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_text("已办理完成。")).to_be_visible()


def _apply(page: Page, link: str) -> None:
    page.locator("nav.side").get_by_role("link", name="业务申请").click()
    page.get_by_role("link", name=link, exact=True).click()


def _attach(page: Page, name: str, path: Path) -> None:
    """Upload ``path`` to the form's file field ``name`` when the form asks for it."""
    field = page.locator(f"input[type=file][name={name}]")
    if field.count():
        field.set_input_files(str(path))


def test_assistant_upgrades_files_and_leaves(app: Flask, web_world: World, new_page: NewPage,
                                             tmp_path: Path) -> None:
    # 医师执业注册管理办法 第七条 (执业地点 widens), 第十九条 (备案 on departure)
    _assistant_with_a_new_qualification(app, web_world)
    pdf = tmp_path / "材料.pdf"
    pdf.write_bytes(PDF)
    staff, target_staff, officer = new_page(), new_page(), new_page()
    sign_in(staff, "jigou01")
    sign_in(target_staff, "jigou07")
    sign_in(officer, "weijian01")

    doctor = new_page()
    sign_in(doctor, "doctor01")
    _apply(doctor, "申请助理医师升执业医师")
    doctor.select_option("select[name=registration_id]", index=1)
    doctor.check("input[name=practice_scopes][value='11']")
    _attach(doctor, "application_form", pdf)
    _attach(doctor, "old_certificate", pdf)
    doctor.check("input[name=declare_true]")
    doctor.get_by_role("button", name="提交申请").click()
    expect(doctor.locator("main")).to_contain_text("待机构确认")

    _handle(staff, "医疗机构确认", "确认")
    _handle(officer, "卫健委受理", "受理")
    _handle(officer, "审查决定", "准予")

    # the account follows the person: 执业信息 shows the new 执业医师 registration in force
    doctor.locator("nav.side").get_by_role("link", name="执业信息").click()
    current = doctor.locator("section.card").first
    expect(current).to_contain_text("有效")
    expect(current).to_contain_text("执业医师")
    expect(current).to_contain_text("山西省")
    expect(doctor.locator("main")).to_contain_text("211140100000001")  # the old one, 变更出

    # ...and can file on it (多执业机构备案 was refused before the account followed)
    start = today_cst() + timedelta(days=1)
    _apply(doctor, "申请多执业机构备案")
    doctor.select_option("select[name=registration_id]", index=1)
    pick_institution(doctor, "中心医院", "太原市中心医院")
    doctor.check("input[name=practice_scopes][value='11']")
    doctor.fill("input[name=valid_from]", start.isoformat())
    doctor.fill("input[name=valid_to]", start.replace(year=start.year + 2).isoformat())
    _attach(doctor, "agreement", pdf)
    _attach(doctor, "application_form", pdf)
    doctor.check("input[name=declare_true]")
    doctor.get_by_role("button", name="提交申请").click()
    expect(doctor.locator("main")).to_contain_text("待机构确认")

    _handle(staff, "医疗机构确认", "确认")
    _handle(target_staff, "拟执业机构确认", "确认")
    _handle(officer, "卫健委受理", "受理")
    _handle(officer, "审查决定", "准予")

    doctor.locator("nav.side").get_by_role("link", name="执业信息").click()
    filings = doctor.locator("section.card").first.locator("table")
    expect(filings).to_contain_text("太原市中心医院")
    expect(filings).to_contain_text("有效")

    # the physician leaves the hospital: the institution reports it, the commission approves,
    # the registration is 备案 (not 注销) and the filing closes with it
    staff.locator("nav.side").get_by_role("link", name="报告注销/备案").click()
    staff.select_option("select[name=registration_id]", index=1)
    staff.select_option("select[name=reason]", label="调离、退休、退职、被辞退或开除")
    staff.fill("input[name=event_date]", (today_cst() - timedelta(days=3)).isoformat())
    staff.get_by_role("button", name="提交").click()
    expect(staff.locator(".flash").first).to_be_visible()
    _handle(officer, "卫健委受理", "受理")
    _handle(officer, "审查决定", "准予")

    doctor.locator("nav.side").get_by_role("link", name="执业信息").click()
    main = doctor.locator("main")
    expect(main).to_contain_text("备案")
    expect(doctor.locator("section.card").first.locator("h2")).to_contain_text("备案")
    expect(main).not_to_contain_text("（有效）")
    assert re.search(r"太原市中心医院.*已取消", main.inner_text(), re.S)
