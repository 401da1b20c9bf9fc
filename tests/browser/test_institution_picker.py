"""拟执业机构 at national scale (issue 14), in headless Chromium: the physician finds the hospital
by typing part of its name, picks it with the keyboard from the combobox, the 科室 list then
holds that hospital's 科室 only, and the application is submitted."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page
from playwright.sync_api import expect

from app.extensions import db
from app.models import Department
from app.models import Institution
from tests.browser.helpers import pick_institution
from tests.browser.helpers import sign_in
from tests.factories import PDF
from tests.factories import World
from tests.factories import photo_jpeg

pytestmark = pytest.mark.browser


def test_a_physician_finds_the_hospital_by_name_and_picks_it_with_the_keyboard(
        app: Flask, web_world: World, new_page: Callable[[], Page], tmp_path: Path) -> None:
    # issue 14 (about a million institutions: found, never listed); 医师执业注册管理办法 第九条
    with app.app_context():
        hospital = db.session.get(Institution, web_world.hospital_id)
        assert hospital is not None
        for k in range(30):  # more than a page of matches for "医院"
            db.session.add(Institution(name=f"太原第{k:02d}医院", reg_no=f"B-{k}", kind="综合医院",
                                       region_code="140105", authority_id=hospital.authority_id))
        db.session.add(Department(institution_id=web_world.hospital_id, code="02", name="儿科",
                                  subject_code="0700"))
        db.session.commit()
        db.session.remove()
    page = new_page()
    sign_in(page, "doctor01")
    page.goto("/physician/apply/registration")
    box = page.get_by_role("combobox", name="拟执业机构")
    expect(box).to_have_attribute("aria-expanded", "false")
    assert page.locator("#field-department_id option").count() == 1  # 请选择: no 科室 yet
    box.fill("医院")
    options = page.get_by_role("listbox").get_by_role("option")
    expect(options.first).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    assert options.count() == 20
    box.press("Escape")
    expect(box).to_have_attribute("aria-expanded", "false")
    pick_institution(page, "太原第01", "太原第01医院")
    chosen_id = page.locator("input[type=hidden][name=institution_id]")
    assert chosen_id.input_value() != ""
    box.press("End")
    box.type("x")  # typing again after a pick: that pick is no longer what will be submitted
    expect(page.locator("#chosen-institution_id")).to_have_text("尚未选择")
    assert chosen_id.input_value() == ""
    pick_institution(page, "山西大学", "山西大学医院")
    expect(page.locator("#chosen-institution_id")).to_have_text("已选：山西大学医院（山西省 太原市）")
    departments = page.locator("#in-department_id option")
    expect(departments).to_have_count(3)  # 请选择, 内科, 儿科: that hospital's only
    assert departments.all_inner_texts()[1:] == ["内科", "儿科"]
    page.select_option("select[name=department_id]", label="儿科")
    page.check("input[name=practice_scopes][value='11']")
    proof = tmp_path / "聘用证明.pdf"
    proof.write_bytes(PDF + b"% picker\n")
    photo = tmp_path / "照片.jpg"
    photo.write_bytes(photo_jpeg())
    page.set_input_files("input[name=employment_proof]", str(proof))
    page.set_input_files("input[name=photo]", str(photo))
    page.check("input[name=declare_health]")
    page.check("input[name=declare_no_bar]")
    page.get_by_role("button", name="提交申请").click()
    expect(page).to_have_url(re.compile(r"/physician/applications/\d+$"))
    expect(page.locator("strong.status")).to_have_text("待机构确认")
    expect(page.locator("main")).to_contain_text("山西大学医院")
    expect(page.locator("main")).to_contain_text("儿科")
