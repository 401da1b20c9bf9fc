"""The process editor's services: drafts that never lose an edit, checks on the elements,
test cases run on the draft (a background job, worked in the request here), publish as a new
version beside the running one, rollback."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from app.errors import Conflict
from app.errors import DomainError
from app.errors import InvalidInput
from app.extensions import db
from app.models import HumanTask
from app.models import OutboxMessage
from app.models import ProcessDefinition
from app.models import ProcessInstance
from app.models import Registration
from app.services.backoffice import case_runs
from app.services.backoffice import editor
from app.services.engine import processes
from app.services.engine.clock import CST
from tests.factories import World
from tests.factories import user

TIMER = """
    <bpmn:boundaryEvent id="remind_confirm" name="机构确认超过3天" cancelActivity="false"
        attachedToRef="institution_confirm">
      <bpmn:outgoing>f_remind</bpmn:outgoing>
      <bpmn:timerEventDefinition id="remind_confirm_def">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P3D"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:serviceTask id="remind_confirm_task" name="提醒机构确认">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="remind_holders" resultVariable="reminded">
          <spiffworkflow:parameters />
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f_remind</bpmn:incoming>
      <bpmn:outgoing>f_remind_end</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="remind_confirm_end">
      <bpmn:incoming>f_remind_end</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="f_remind" sourceRef="remind_confirm" targetRef="remind_confirm_task" />
    <bpmn:sequenceFlow id="f_remind_end" sourceRef="remind_confirm_task" targetRef="remind_confirm_end" />
  </bpmn:process>"""


TIMER_CASE = {
    "name": "机构确认超过3天提醒",
    "start": {"data": {"registration_id": 1, "reason": "own_request", "event_date": "2026-02-27",
                       "declare_true": True}},
    "steps": [{"timer": "remind_confirm", "ready": ["institution_confirm"]}],
    "expect": {"ready": ["institution_confirm"], "called": ["remind_holders"]},
}


@pytest.fixture(autouse=True)
def _runs_in_the_request(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, case_runs.SYNC_FLAG, True)


def _admin(world: World) -> Any:
    return user(world.admin_id)


def _run(world: World) -> case_runs.RunView:
    return case_runs.start(_admin(world), "cancellation")


def _save_timer(world: World, xml: str) -> None:
    _save(world, _with_timer(xml))
    editor.save_case(_admin(world), "cancellation", "remind_confirm", TIMER_CASE)


def _save(world: World, xml: str | None = None, forms: dict[str, Any] | None = None) -> editor.DraftView:
    d = editor.open_draft(_admin(world), "cancellation")
    return editor.save_draft(_admin(world), "cancellation", xml if xml is not None else d.xml,
                             forms if forms is not None else d.forms, d.revision)


def _with_timer(xml: str) -> str:
    return xml.replace("</bpmn:process>", TIMER, 1)


def _registration(world: World, user_id: int, cert_no: str) -> int:
    reg = Registration(qualification_id=user(user_id).qualification_id, level="执业医师",
                       category="1", scopes=["11"], place_region="140000",
                       institution_id=world.hospital_id, department_id=world.department_id,
                       authority_id=world.authority_id, status="ACTIVE", cert_no=cert_no)
    db.session.add(reg)
    db.session.commit()
    return reg.id


def _apply(world: World, user_id: int, reg_id: int) -> int:
    return processes.start_application(user(user_id), "cancellation", {
        "registration_id": reg_id, "reason": "own_request", "event_date": "2026-03-02",
        "declare_true": True}).instance_id


def _open_task(iid: int) -> HumanTask:
    task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid,
                                                     HumanTask.status == "open"))
    assert task is not None
    return task


def test_a_save_names_the_revision_it_edited(world: World) -> None:
    first = editor.open_draft(_admin(world), "cancellation")
    saved = editor.save_draft(_admin(world), "cancellation", first.xml + "<!-- a -->",
                              first.forms, first.revision)
    assert saved.revision == first.revision + 1
    with pytest.raises(Conflict, match="请刷新页面"):  # a second window still on the old revision
        editor.save_draft(_admin(world), "cancellation", first.xml + "<!-- b -->", first.forms,
                          first.revision)
    assert editor.open_draft(_admin(world), "cancellation").xml.endswith("<!-- a -->")


def test_an_unfinished_diagram_is_saved_but_not_accepted(world: World) -> None:
    d = _save(world, xml="<bpmn:definitions 未完成")
    assert d.xml == "<bpmn:definitions 未完成"  # nothing typed is refused or lost
    problems = editor.check_draft("cancellation")
    assert problems and "不是格式正确的 XML" in problems[0].message


def test_checks_name_the_element_of_each_problem(world: World) -> None:
    xml = editor.open_draft(_admin(world), "cancellation").xml
    xml = xml.replace('spiffworkflow:serviceTaskOperator id="close_application" resultVariable="closed"',
                      'spiffworkflow:serviceTaskOperator id="delete_everything" resultVariable="closed"', 1)
    xml = xml.replace("clock = start_clock(today())", "clock = __import__('os').system('id')")
    xml = xml.replace('name="form" value="institution_confirm_paper"', 'name="form" value="no_such_form"')
    d = editor.open_draft(_admin(world), "cancellation")
    forms = dict(d.forms, cancellation_apply={"type": 12})
    _save(world, xml, forms)
    found = {(p.element_id, p.message) for p in editor.check_draft("cancellation")}
    assert ("close_withdrawn", "服务操作 delete_everything 未注册") in found
    assert ("institution_confirm", "表单 no_such_form 不存在") in found
    assert any(eid == "clock_start" and "脚本不安全" in msg for eid, msg in found)
    # a form the diagram uses is reported on the task that shows it (issue 12 §6)
    assert any(eid in ("physician_apply", "physician_supplement")
               and msg == "表单 cancellation_apply：type：只能是 \"object\"" for eid, msg in found)


def test_a_broken_draft_fails_its_scenarios_and_cannot_be_published(world: World) -> None:
    xml = editor.open_draft(_admin(world), "cancellation").xml
    _save(world, xml.replace('decision == "confirm"', 'decision == "confirmed"'))
    report = _run(world)
    assert report.state == "failed" and report.current
    assert "个用例失败" in report.message
    assert report.results is not None and any(not r["ok"] for r in report.results["results"])
    with pytest.raises(DomainError, match="请先运行测试用例"):
        editor.publish(_admin(world), "cancellation", "")
    assert db.session.scalar(select(ProcessDefinition.version).where(
        ProcessDefinition.process_id == "cancellation").order_by(ProcessDefinition.version.desc())) == 1


def test_an_edit_after_a_green_run_needs_a_new_run(world: World) -> None:
    xml = editor.open_draft(_admin(world), "cancellation").xml
    _save_timer(world, xml)
    assert _run(world).state == "passed"
    _save(world, _with_timer(xml).replace('"P3D"', '"P5D"'))
    with pytest.raises(DomainError, match="请先运行测试用例"):
        editor.publish(_admin(world), "cancellation", "")


def test_published_version_two_runs_beside_version_one(world: World) -> None:
    monday = datetime(2026, 3, 2, 9, 0, tzinfo=CST)
    with time_machine.travel(monday, tick=False):
        old = _apply(world, world.doctor_id, _registration(world, world.doctor_id, "110140100000801"))
        xml = editor.open_draft(_admin(world), "cancellation").xml
        _save_timer(world, xml)
        report = _run(world)
        assert report.state == "passed", report.results
        assert editor.publish(_admin(world), "cancellation", "机构确认超过3天提醒") == 2
        new = _apply(world, world.doctor2_id, _registration(world, world.doctor2_id, "110140100000802"))
    assert db.session.get(ProcessInstance, old).definition.version == 1
    assert db.session.get(ProcessInstance, new).definition.version == 2
    assert editor.open_draft(_admin(world), "cancellation").base_version == 2

    with time_machine.travel(monday + timedelta(days=3, minutes=1), tick=False):
        processes.fire_timers(new)
        processes.fire_timers(old)
    reminders = db.session.scalars(select(OutboxMessage).where(OutboxMessage.subject == "待办提醒"))
    assert [(m.recipient, f"编号 {new}" in m.body) for m in reminders] == [("jigou01", True)]

    for actor, decision in ((world.staff_id, "confirm"), (world.officer_id, "accept"),
                            (world.officer_id, "approve")):
        paper = {"paper_held": True} if decision == "confirm" else {}
        processes.complete_task(user(actor), _open_task(old).id, {"decision": decision, **paper})
    done = db.session.get(ProcessInstance, old)
    assert done.completed_at is not None and done.outcome == "approved"
    assert done.definition.version == 1


def test_rollback_publishes_a_copy_of_the_old_version(world: World) -> None:
    xml = editor.open_draft(_admin(world), "cancellation").xml
    _save_timer(world, xml)
    assert _run(world).state == "passed"
    editor.publish(_admin(world), "cancellation", "")
    with pytest.raises(DomainError, match="已是当前版本"):
        editor.rollback(_admin(world), "cancellation", 2)
    assert editor.rollback(_admin(world), "cancellation", 1) == 3
    rows = {v.version: v for v in editor.versions("cancellation")}
    assert rows[3].current and rows[3].note == "回滚至版本 1"
    v1, v3 = (db.session.scalar(select(ProcessDefinition).where(
        ProcessDefinition.process_id == "cancellation", ProcessDefinition.version == n))
        for n in (1, 3))
    assert v3.bpmn_xml == v1.bpmn_xml and v3.forms == v1.forms


def test_diff_shows_the_added_timer(world: World) -> None:
    xml = editor.open_draft(_admin(world), "cancellation").xml
    _save(world, _with_timer(xml))
    added = [line for line in editor.diff("cancellation") if line.startswith("+")]
    assert any('id="remind_confirm"' in line for line in added)


def test_form_preview_renders_fields_or_says_why_not(world: World) -> None:
    fields = editor.form_preview({"type": "object", "required": ["reason"], "properties": {
        "reason": {"type": "string", "title": "注销原因"}}})
    assert [(f.title, f.required) for f in fields] == [("注销原因", True)]
    with pytest.raises(InvalidInput, match="表单不符合表单格式.*properties.a.type"):
        editor.form_preview({"type": "object", "properties": {"a": {"type": 3}}})
