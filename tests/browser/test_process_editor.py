"""The administrator adds a reminder timer to 注销 in the browser editor, runs the test cases
(a background job the page polls), adds a case that reaches the timer,
publishes version 2; a new application runs on version 2 while one started before stays on
version 1 and completes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.models import ProcessDraft
from app.models import ProcessInstance
from app.models import Registration
from app.services.engine import processes
from tests.browser.helpers import sign_in as _login
from tests.factories import World
from tests.factories import user

pytestmark = pytest.mark.browser
NewPage = Callable[[], Page]

# Shapes are placed with the modeler's own API (what a drag from the palette does); the
# properties are then set through the properties panel like an administrator does.
BUILD = """() => {
  const m = window.medregModeler;
  const modeling = m.get('modeling'), reg = m.get('elementRegistry'), factory = m.get('elementFactory');
  const task = reg.get('institution_confirm');
  const shape = factory.createShape({ type: 'bpmn:BoundaryEvent', eventDefinitionType: 'bpmn:TimerEventDefinition' });
  const b = modeling.createShape(shape, { x: task.x + 20, y: task.y + task.height }, task, { attach: true });
  modeling.updateProperties(b, { cancelActivity: false });
  const svc = modeling.appendShape(b, { type: 'bpmn:ServiceTask' }, { x: b.x + 150, y: b.y + 100 });
  modeling.appendShape(svc, { type: 'bpmn:EndEvent' }, { x: svc.x + 200, y: svc.y + 40 });
  return [b.id, svc.id];
}"""


def _select(page: Page, element_id: str) -> None:
    page.evaluate("(id) => { const m = window.medregModeler; "
                  "m.get('selection').select(m.get('elementRegistry').get(id)); }", element_id)


def _open_group(page: Page, group: str) -> None:
    header = page.locator(f"[data-group-id=group-{group}] .bio-properties-panel-group-header")
    if "open" not in (header.get_attribute("class") or ""):
        header.click()


def _registrations(app: Flask, world: World) -> tuple[int, int]:
    with app.app_context():
        ids = []
        for uid, cert in ((world.doctor_id, "110140100000901"), (world.doctor2_id, "110140100000902")):
            reg = Registration(qualification_id=user(uid).qualification_id, level="执业医师",
                               category="1", scopes=["11"], place_region="140000",
                               institution_id=world.hospital_id, department_id=world.department_id,
                               authority_id=world.authority_id, status="ACTIVE", cert_no=cert)
            db.session.add(reg)
            db.session.flush()
            ids.append(reg.id)
        db.session.commit()
        db.session.remove()
        return ids[0], ids[1]


def _start_on_version_one(app: Flask, world: World, reg_id: int) -> int:
    with app.app_context():
        iid = processes.start_application(user(world.doctor_id), "cancellation", {
            "registration_id": reg_id, "reason": "own_request", "event_date": "2026-03-02",
            "declare_true": True}).instance_id
        db.session.remove()
        return iid


def _complete(app: Flask, world: World, iid: int) -> ProcessInstance:
    with app.app_context():
        for actor, decision in ((world.staff_id, "confirm"), (world.officer_id, "accept"),
                                (world.officer_id, "approve")):
            task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid,
                                                             HumanTask.status == "open"))
            assert task is not None
            paper = {"paper_held": True} if decision == "confirm" else {}
            processes.complete_task(user(actor), task.id, {"decision": decision, **paper})
        inst = db.session.get(ProcessInstance, iid)
        db.session.expunge(inst)
        db.session.remove()
        return inst


def _version_of(app: Flask, iid: int) -> int:
    with app.app_context():
        version = db.session.get(ProcessInstance, iid).definition.version
        db.session.remove()
        return version


def test_admin_adds_a_reminder_timer_and_publishes_version_two(
        app: Flask, web_world: World, new_page: NewPage, tmp_path: Path) -> None:
    _reg1, reg2 = _registrations(app, web_world)
    old = _start_on_version_one(app, web_world, _reg1)

    admin = new_page()
    _login(admin, "admin01")
    admin.locator("nav.side").get_by_role("link", name="流程管理").click()
    admin.locator("tr", has=admin.get_by_text("cancellation", exact=True)).get_by_role(
        "link", name="编辑").click()
    expect(admin.locator("#editor")).to_have_attribute("data-ready", "true")

    boundary, service = admin.evaluate(BUILD)
    _select(admin, boundary)
    _open_group(admin, "general")
    admin.fill("#bio-properties-panel-name", "机构确认超过3天")
    _open_group(admin, "timer")
    admin.select_option("#bio-properties-panel-timerEventDefinitionType", label="持续时间")
    admin.fill("#bio-properties-panel-timerEventDefinitionValue", '"P3D"')
    admin.press("#bio-properties-panel-timerEventDefinitionValue", "Tab")
    _select(admin, service)
    _open_group(admin, "general")
    admin.fill("#bio-properties-panel-name", "提醒机构确认")
    admin.press("#bio-properties-panel-name", "Tab")
    _open_group(admin, "spiff")
    admin.select_option("#bio-properties-panel-spiffOperation", "remind_holders")
    expect(admin.locator("#save-status")).to_contain_text("草稿已保存")

    # nothing is lost: a reload shows the saved draft with the new timer
    admin.reload()
    expect(admin.locator("#editor")).to_have_attribute("data-ready", "true")
    assert admin.locator(f"g[data-element-id={boundary}]").count() == 1

    admin.get_by_role("button", name="校验").click()
    expect(admin.locator("#problems")).to_contain_text("校验通过")
    admin.get_by_role("button", name="运行测试用例").click()
    expect(admin.locator("#scenario-result")).to_contain_text("10 个用例全部通过", timeout=90_000)
    expect(admin.locator("#scenario-result")).to_contain_text(boundary)  # reached by no case yet
    csrf = admin.locator("#editor").get_attribute("data-csrf") or ""
    added = admin.request.post("/admin/processes/cancellation/cases", headers={"X-CSRFToken": csrf},
                               data={"key": "remind_confirm", "content": {
                                   "name": "机构确认超过3天提醒",
                                   "start": {"data": {"registration_id": 1, "reason": "own_request",
                                                      "event_date": "2026-02-27", "declare_true": True}},
                                   "steps": [{"timer": boundary, "ready": ["institution_confirm"]}],
                                   "expect": {"ready": ["institution_confirm"], "called": ["remind_holders"]}}})
    assert added.ok, added.text()
    admin.get_by_role("button", name="运行测试用例").click()
    expect(admin.locator("#scenario-result")).to_contain_text("测试用例全部通过（11 个）", timeout=90_000)
    admin.get_by_role("button", name="与已发布版本比较").click()
    expect(admin.locator("#diff")).to_contain_text("remind_holders")
    admin.fill("#note", "机构确认超过3天提醒")
    admin.get_by_role("button", name="发布新版本").click()
    expect(admin.locator("main")).to_contain_text("已发布版本 2")
    expect(admin.locator("#versions tr", has_text="版本 2")).to_contain_text("当前")
    expect(admin.locator("#versions tr", has_text="版本 1")).to_contain_text("1")  # one running

    # a physician applies now: version 2, with the timer on the diagram of the application
    doctor = new_page()
    _login(doctor, "doctor02")
    doctor.locator("nav.side").get_by_role("link", name="业务申请").click()
    doctor.get_by_role("link", name="申请注销", exact=True).click()
    doctor.select_option("select[name=registration_id]", index=1)
    doctor.check("input[name=reason][value=own_request]")
    doctor.fill("input[name=event_date]", "2026-03-02")
    doctor.check("input[name=declare_true]")
    doctor.get_by_role("button", name="提交申请").click()
    expect(doctor.locator("main")).to_contain_text("待机构确认")
    with app.app_context():
        new = db.session.scalar(select(ProcessInstance.id).where(
            ProcessInstance.subject_user_id == web_world.doctor2_id))
        assert db.session.scalar(select(ProcessDraft.base_version)) == 2  # the next draft
        db.session.remove()
    assert new is not None and _version_of(app, new) == 2
    doctor.goto(f"/physician/applications/{new}")  # the physician reads the plain timeline
    expect(doctor.locator('ol.stepper > li[aria-current="step"]')).to_contain_text("医疗机构确认")
    admin.goto(f"/admin/instances/{new}")  # staff see the diagram of version 2
    expect(admin.locator("#diagram")).to_have_attribute("data-ready", "true")
    assert admin.locator(f"#diagram g[data-element-id={boundary}]").count() == 1

    # the application started before stays on version 1 and completes on it
    done = _complete(app, web_world, old)
    assert done.completed_at is not None and done.outcome == "approved"
    assert _version_of(app, old) == 1
    assert reg2


def test_admin_sets_the_task_flags_in_the_properties_panel(
        app: Flask, web_world: World, new_page: NewPage) -> None:
    # issue 11 §1: 批量确认 / 医师可撤回 / 补正时不可修改的字段 are the diagram's, edited in the panel
    admin = new_page()
    _login(admin, "admin01")
    admin.goto("/admin/processes")
    admin.locator("tr", has=admin.get_by_text("registration", exact=True)).get_by_role(
        "link", name="编辑").click()
    expect(admin.locator("#editor")).to_have_attribute("data-ready", "true")

    _select(admin, "institution_confirm")
    _open_group(admin, "spiff")
    bulk = admin.locator("#bio-properties-panel-spiffFlag-medreg-bulk")
    expect(bulk).to_be_checked()  # what the shipped diagram says
    expect(admin.locator("#bio-properties-panel-spiffFlag-medreg-withdrawable")).to_be_checked()
    bulk.uncheck()
    expect(admin.locator("#save-status")).to_contain_text("草稿已保存")

    _select(admin, "physician_apply")
    _open_group(admin, "spiff")
    locked = admin.locator("#bio-properties-panel-spiffLocked")
    expect(locked).to_have_value("institution_id")
    locked.fill("institution_id, department_id")
    locked.press("Tab")
    expect(admin.locator("#save-status")).to_contain_text("草稿已保存")

    with app.app_context():
        xml = db.session.scalar(select(ProcessDraft.bpmn_xml).where(
            ProcessDraft.process_id == "registration"))
        db.session.remove()
    assert xml is not None
    confirm = xml[xml.index('id="institution_confirm"'):]
    confirm = confirm[:confirm.index("</bpmn:userTask>")]
    assert "medreg:bulk" not in confirm and 'name="medreg:withdrawable" value="true"' in confirm
    assert 'name="medreg:locked" value="institution_id,department_id"' in xml
    admin.get_by_role("button", name="校验").click()
    expect(admin.locator("#problems")).to_contain_text("校验通过")
