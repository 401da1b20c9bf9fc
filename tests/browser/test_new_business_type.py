"""新建流程 in the browser (issue 12 §3, "Must show"): the administrator creates a new business
type from the template, adds two test cases in the 测试用例 tab, runs them (the page shows the
progress of the background run), publishes; a physician applies for it on 业务申请 and an
institution confirms it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from flask import Flask
from playwright.sync_api import Page
from playwright.sync_api import expect

from app.extensions import db
from app.models import Registration
from app.services.backoffice import skeleton
from tests.browser.helpers import sign_in
from tests.factories import World
from tests.factories import user

pytestmark = pytest.mark.browser
NewPage = Callable[[], Page]


# every text the result box shows, in order (the run's progress is on the page only briefly)
WATCH = """() => {
  const box = document.getElementById('scenario-result');
  window.medregShown = [];
  new MutationObserver(() => window.medregShown.push(box.textContent))
    .observe(box, { childList: true, subtree: true, characterData: true });
}"""


def _registration(app: Flask, world: World) -> None:
    with app.app_context():
        db.session.add(Registration(
            qualification_id=user(world.doctor_id).qualification_id, level="执业医师", category="1",
            scopes=["11"], place_region="140000", institution_id=world.hospital_id,
            department_id=world.department_id, authority_id=world.authority_id, status="ACTIVE",
            cert_no="110140100000961"))
        db.session.commit()
        db.session.remove()


def _add_case(admin: Page, key: str, content: dict[str, object]) -> None:
    admin.get_by_role("button", name="新建用例").click()
    admin.fill("#case-key", key)
    admin.fill("#case-json", json.dumps(content, ensure_ascii=False, indent=2))
    admin.get_by_role("button", name="保存用例").click()
    expect(admin.locator("#save-status")).to_contain_text("用例已保存")
    expect(admin.locator("#case-pick option", has_text=key)).to_have_count(1)


def test_admin_creates_a_business_type_a_physician_applies_an_institution_confirms(
        app: Flask, web_world: World, new_page: NewPage) -> None:
    # 行政许可法 第三十二条 / 第四十二条: the skeleton's 受理 and 审查决定 run on the statutory
    # clock; 医师执业注册管理办法 第十九条 via the chosen rule 需有有效执业注册
    _registration(app, web_world)
    admin = new_page()
    sign_in(admin, "admin01")
    admin.locator("nav.side").get_by_role("link", name="流程管理").click()
    admin.get_by_role("link", name="新建流程").click()
    admin.fill("#in-process_id", "cert_copy")
    admin.fill("#in-name", "执业证书副本申领")
    expect(admin.get_by_label("医师", exact=True)).to_be_checked()  # the starter
    expect(admin.locator("input[name=template][value=skeleton]")).to_be_checked()
    expect(admin.get_by_label("需有有效执业注册")).to_be_checked()
    admin.get_by_label("需为执业医师").check()
    admin.get_by_role("button", name="新建流程").click()
    expect(admin.locator("main")).to_contain_text("已新建流程 cert_copy")
    expect(admin.locator("h1")).to_contain_text("执业证书副本申领")
    expect(admin.locator("#editor")).to_have_attribute("data-ready", "true")
    assert admin.locator("#canvas g[data-element-id=commission_decide]").count() == 1

    admin.get_by_role("tab", name="测试用例").click()
    made = skeleton.template_cases("cert_copy")
    _add_case(admin, "approved", made["approved"])
    _add_case(admin, "refused", made["refused"])
    admin.evaluate(WATCH)
    admin.get_by_role("button", name="运行测试用例").click()
    expect(admin.locator("#scenario-result")).to_contain_text("测试用例全部通过（2 个）",
                                                              timeout=90_000)
    shown = admin.evaluate("() => window.medregShown")
    # the background run's progress was on the page before the result
    assert any(re.search(r"(排队中|正在运行测试用例).*（[0-2]/2）", t) for t in shown), shown
    admin.fill("#note", "新业务：执业证书副本申领")
    admin.get_by_role("button", name="发布新版本").click()
    expect(admin.locator("main")).to_contain_text("已发布版本 1")
    expect(admin.locator("#versions tr", has_text="版本 1")).to_contain_text("当前")

    doctor = new_page()
    sign_in(doctor, "doctor01")
    doctor.locator("nav.side").get_by_role("link", name="业务申请").click()
    doctor.get_by_role("link", name="申请执业证书副本申领", exact=True).click()
    doctor.select_option("select[name=registration_id]", index=1)
    doctor.fill("textarea[name=note]", "原副本遗失")
    doctor.check("input[name=declare_true]")
    doctor.get_by_role("button", name="提交申请").click()
    expect(doctor.locator("main")).to_contain_text("待机构确认")
    expect(doctor.locator("main")).to_contain_text("执业证书副本申领")

    staff = new_page()
    sign_in(staff, "jigou01")
    row = staff.locator("table.grid tbody tr", has_text="医疗机构确认")
    expect(row).to_contain_text("执业证书副本申领")
    row.get_by_role("link", name="办理").click()
    staff.get_by_role("radio", name="确认", exact=True).check()
    staff.locator("input[name=paper_held]").check()  # the signed 申请审核表 is held
    staff.get_by_role("button", name="提交", exact=True).click()
    expect(staff).to_have_url(re.compile(r"/inbox/$"))
    expect(staff.locator(".flash.success")).to_have_text("已办理完成。")

    doctor.reload()  # the physician's application moved on to the commission
    expect(doctor.locator("main")).to_contain_text("待卫健委受理")
