"""变更 with the two-institution sign-off, and 照片更新, in headless Chromium."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page
from playwright.sync_api import expect

from app.extensions import db
from app.models import Department
from app.models import Institution
from app.models import Registration
from app.models import Role
from tests.browser.helpers import pick_institution
from tests.browser.helpers import sign_in as _login
from tests.factories import World
from tests.factories import make_user
from tests.factories import user
from tests.services.test_maintenance import photo_bytes

pytestmark = pytest.mark.browser
NewPage = Callable[[], Page]
PDF = b"%PDF-1.4\n% browser\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _active_registration(app: Flask, world: World) -> None:
    with app.app_context():
        doctor = user(world.doctor_id)
        db.session.add(Registration(qualification_id=doctor.qualification_id, level="执业医师",
                                    category="1", scopes=["11"], place_region="140000",
                                    institution_id=world.hospital_id,
                                    department_id=world.department_id,
                                    authority_id=world.authority_id, status="ACTIVE",
                                    cert_no="110140100000321"))
        db.session.commit()
        db.session.remove()


def _decide(page: Page, title: str, label: str) -> None:
    page.goto("/inbox/")
    page.locator("tr", has_text=title).get_by_role("link", name="办理").click()
    page.get_by_label(label, exact=True).check()
    if label == "确认":  # holds the signed and stamped 申请审核表
        page.locator("input[name=paper_held]").check()
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_text("已办理完成。")).to_be_visible()


def test_change_needs_both_institutions(app: Flask, web_world: World, new_page: NewPage,
                                        tmp_path: Path) -> None:
    _active_registration(app, web_world)
    with app.app_context():
        second = Institution(name="太原市中心医院", reg_no="R-140-5", kind="综合医院",
                             region_code="140106", authority_id=web_world.authority_id)
        db.session.add(second)
        db.session.flush()
        db.session.add(Department(institution_id=second.id, code="01", name="心内科",
                                  subject_code="0304"))
        make_user("jigou07", Role.INSTITUTION, "中心医院医务科", institution_id=second.id)
        db.session.commit()
        db.session.remove()
    (tmp_path / "聘用证明.pdf").write_bytes(PDF + b"%2\n")

    doctor = new_page()
    _login(doctor, "doctor01")
    doctor.locator("nav.side").get_by_role("link", name="业务申请").click()
    doctor.get_by_role("link", name="申请变更", exact=True).click()
    doctor.select_option("select[name=registration_id]", index=1)
    pick_institution(doctor, "中心医院", "太原市中心医院")
    doctor.select_option("select[name=department_id]", label="心内科")
    doctor.check("input[name=practice_scopes][value='11']")
    doctor.fill("textarea[name=reason]", "工作调动")
    doctor.set_input_files("input[name=employment_proof]", str(tmp_path / "聘用证明.pdf"))
    doctor.check("input[name=declare_true]")
    doctor.get_by_role("button", name="提交申请").click()
    expect(doctor.locator("main")).to_contain_text("待机构确认")

    old_staff, new_staff, officer = new_page(), new_page(), new_page()
    _login(old_staff, "jigou01")
    _decide(old_staff, "医疗机构确认", "确认")
    _login(new_staff, "jigou07")
    _decide(new_staff, "拟执业机构确认", "确认")
    _login(officer, "weijian01")
    _decide(officer, "卫健委受理", "受理")
    _decide(officer, "审查决定", "准予")

    doctor.locator("nav.side").get_by_role("link", name="执业信息").click()
    main = doctor.locator("main")
    expect(main).to_contain_text("太原市中心医院")
    expect(main).to_contain_text("有效")
    expect(main).to_contain_text("心内科")


def test_photo_upload_refusals_then_approval(app: Flask, web_world: World, new_page: NewPage,
                                            tmp_path: Path) -> None:
    _active_registration(app, web_world)
    files = {
        "big.jpg": photo_bytes(pad_to=90 * 1024),
        "small.jpg": photo_bytes((300, 400)),
        "fake.jpg": photo_bytes(fmt="GIF"),
        "ok.jpg": photo_bytes(exif=True),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    page = new_page()
    _login(page, "doctor01")
    page.locator("nav.side").get_by_role("link", name="信息维护").click()
    for name, message in (("big.jpg", "相片大小不得超过80k"),
                          ("small.jpg", "您上传的相片为宽300、高400像素"),
                          ("fake.jpg", "文件内容与扩展名不符")):
        page.set_input_files("#in-photo", str(tmp_path / name))
        page.get_by_role("button", name="点击上传相片").click()
        expect(page.locator("#field-photo .error")).to_contain_text(message)
    page.set_input_files("#in-photo", str(tmp_path / "ok.jpg"))
    page.get_by_role("button", name="点击上传相片").click()
    expect(page.get_by_text("相片已上传，须等待您所在医疗机构审核。")).to_be_visible()
    expect(page.get_by_text("尚无审核通过的相片")).to_be_visible()

    staff = new_page()
    _login(staff, "jigou01")
    _decide(staff, "医疗机构审核相片", "审核通过")
    page.reload()
    expect(page.locator(".photo-box img")).to_be_visible()
    assert page.locator(".photo-box img").evaluate("img => img.naturalWidth") == 354
