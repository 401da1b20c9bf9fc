"""The plain timeline a physician sees on 业务查询 (issue 13 item 6): generated from the diagram's
lanes and user tasks, with who holds the application, dates and what to do next."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.models import ProcessDefinition
from app.models import ProcessInstance
from app.models import Registration
from app.models.base import utcnow
from app.services.applications import timeline
from app.services.applications.timeline import StepState
from app.services.applications.timeline import Timeline
from app.services.backoffice import definitions
from app.services.engine import processes
from app.services.engine.clock import today_cst
from app.services.inbox import tasks
from tests.factories import CONFIRMED
from tests.factories import World
from tests.factories import application_payload
from tests.factories import user

HOSPITAL, COMMISSION = "山西大学医院", "太原市卫生健康委员会"


def _open_task(iid: int) -> HumanTask:
    t = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid,
                                                  HumanTask.status == "open"))
    assert t is not None
    return t


def _submit(world: World) -> int:
    return processes.start_application(user(world.doctor_id), "registration",
                                       application_payload(world, world.doctor_id)).instance_id


def _timeline(world: World, iid: int) -> Timeline:
    db.session.expire_all()
    return timeline.timeline_of(user(world.doctor_id), iid)


def _states(tl: Timeline) -> list[tuple[str, StepState]]:
    return [(s.title, s.state) for s in tl.steps]


def test_a_registration_through_each_phase(world: World) -> None:
    # 医师执业注册管理办法 第八条、第十条 — Part 1 row 1.6 (业务查询): the physician sees where
    # the application is, who holds it and when each step was done
    iid = _submit(world)
    tl = _timeline(world, iid)
    assert _states(tl) == [("提交注册申请", StepState.DONE), ("医疗机构确认", StepState.CURRENT),
                           ("卫健委受理", StepState.UPCOMING), ("审查决定", StepState.UPCOMING),
                           ("办结", StepState.UPCOMING)]
    assert tl.steps[0].completed_on == today_cst() and tl.steps[0].party == "您本人"
    assert tl.holder == HOSPITAL and tl.steps[1].party == HOSPITAL and tl.my_task_id is None
    assert tl.steps[2].party == COMMISSION  # the commission that will decide, by name

    processes.complete_task(user(world.staff_id), _open_task(iid).id, CONFIRMED)
    tl = _timeline(world, iid)
    assert [s.state for s in tl.steps] == [StepState.DONE, StepState.DONE, StepState.CURRENT,
                                           StepState.UPCOMING, StepState.UPCOMING]
    assert tl.steps[1].completed_on == today_cst() and tl.steps[1].note == "确认"
    assert tl.holder == COMMISSION

    processes.complete_task(user(world.officer_id), _open_task(iid).id, {"decision": "accept"})
    tl = _timeline(world, iid)
    assert tl.current_index == 3 and tl.steps[2].note == "受理" and tl.holder == COMMISSION

    processes.complete_task(user(world.officer_id), _open_task(iid).id, {"decision": "approve"})
    tl = _timeline(world, iid)
    assert all(s.state is StepState.DONE for s in tl.steps) and tl.current_index is None
    assert tl.ended and tl.approved and tl.outcome == "已批准" and tl.holder == ""
    assert tl.steps[-1].note == "已批准" and tl.steps[-1].completed_on == today_cst()


def test_a_correction_returns_the_step_to_the_physician(world: World) -> None:
    # 行政许可法 第三十二条 — R-10: 一次性告知补正; the step waits for the physician, who gets a
    # button to the correction
    iid = _submit(world)
    processes.complete_task(user(world.staff_id), _open_task(iid).id, CONFIRMED)
    processes.complete_task(user(world.officer_id), _open_task(iid).id,
                            {"decision": "correct", "note": "请补充完整的聘用证明",
                             "fields": ["employment_proof"]})
    tl = _timeline(world, iid)
    correction = _open_task(iid)
    assert tl.steps[2].state is StepState.RETURNED and tl.current_index == 2
    assert "请您按意见修改后重新提交" in tl.steps[2].note
    assert tl.my_task_id == correction.id and tl.my_task_title == correction.title
    assert tl.holder == "您本人"
    assert "按一次性告知补正材料" not in [s.title for s in tl.steps]  # a loop, not a step

    processes.complete_task(user(world.doctor_id), correction.id,
                            application_payload(world, world.doctor_id))
    tl = _timeline(world, iid)
    assert tl.my_task_id is None and tl.holder == COMMISSION
    assert tl.steps[tl.current_index or 0].title in ("卫健委受理", "审查决定")


def test_an_institution_return_waits_for_the_physician(world: World) -> None:
    # 医师执业注册管理办法 第八条 (退回修改) — the institution's step waits for the physician's
    # corrected application; after it the institution holds it again
    iid = _submit(world)
    processes.complete_task(user(world.staff_id), _open_task(iid).id,
                            {"decision": "return", "note": "聘用证明不清晰",
                             "fields": ["employment_proof"]})
    tl = _timeline(world, iid)
    assert tl.steps[1].state is StepState.RETURNED and tl.current_index == 1
    assert tl.my_task_id == _open_task(iid).id and tl.steps[2].state is StepState.UPCOMING
    processes.complete_task(user(world.doctor_id), _open_task(iid).id,
                            application_payload(world, world.doctor_id))
    tl = _timeline(world, iid)
    assert tl.steps[1].state is StepState.CURRENT and tl.holder == HOSPITAL


def test_a_withdrawn_application_says_so(world: World) -> None:
    # 行政许可法 第三十二条 (撤回) — the end says 已撤回, the steps never reached say 未办理
    iid = _submit(world)
    processes.withdraw(user(world.doctor_id), iid)
    tl = _timeline(world, iid)
    assert tl.ended and not tl.approved and tl.outcome == "已撤回"
    assert [s.state for s in tl.steps[1:-1]] == [StepState.SKIPPED] * 3
    assert tl.steps[-1].state is StepState.DONE and tl.steps[-1].note == "已撤回"


def test_a_refusal_says_so_at_the_step_that_refused(world: World) -> None:
    # 行政许可法 第三十八条 — R-8: a refusal is told as such; the steps after it were not reached
    iid = _submit(world)
    processes.complete_task(user(world.staff_id), _open_task(iid).id,
                            {"decision": "refuse", "note": "非本机构人员", "paper_held": True})
    tl = _timeline(world, iid)
    assert tl.ended and not tl.approved and tl.outcome == "机构不予确认"
    assert (tl.steps[1].state, tl.steps[1].note) == (StepState.DONE, "不予确认")
    assert [s.state for s in tl.steps[2:4]] == [StepState.SKIPPED] * 2
    assert tl.steps[-1].note == "机构不予确认"


def _registration(world: World) -> Registration:
    qual = user(world.doctor_id).qualification
    reg = Registration(qualification_id=qual.id, level="执业医师", category="1", scopes=["11"],
                       place_region="140000", institution_id=world.hospital_id,
                       authority_id=world.authority_id, status="ACTIVE", cert_no="110140100004444")
    db.session.add(reg)
    db.session.commit()
    return reg


def _report(reg: Registration) -> dict[str, object]:
    return {"registration_id": reg.id, "reason": "death", "event_date": today_cst().isoformat()}


def test_an_institution_started_case_has_a_sensible_timeline(world: World) -> None:
    # 医师执业注册管理办法 第十八条: the institution reports, the commission decides; the
    # physician concerned sees the report as the first step and no step of their own
    iid = processes.start_case(user(world.staff_id), "cancellation_report",
                               _report(_registration(world))).instance_id
    tl = _timeline(world, iid)
    assert _states(tl) == [("医疗机构报告注销", StepState.DONE), ("卫健委受理", StepState.CURRENT),
                           ("审查决定", StepState.UPCOMING), ("办结", StepState.UPCOMING)]
    assert tl.steps[0].party == HOSPITAL and tl.holder == COMMISSION


def test_an_ex_officio_case_shows_the_decision_as_a_step(world: World) -> None:
    # 医师法 第十七条: the commission starts and decides in its own lane; its decision is
    # a step of the timeline, not a correction loop
    iid = processes.start_case(user(world.officer_id), "cancellation_ex_officio",
                               _report(_registration(world))).instance_id
    tl = _timeline(world, iid)
    assert _states(tl) == [("卫健委依职权注销", StepState.DONE), ("审查决定", StepState.CURRENT),
                           ("办结", StepState.UPCOMING)]
    assert tl.steps[0].party == COMMISSION and tl.holder == COMMISSION


ENGLISH = {"医师": "physician", "医疗机构": "institution", "卫生健康委": "commission"}


def _old_version(world: World, ids: bool) -> ProcessDefinition:
    """registration published as it was before this change: English lane names (and, for an
    editor-made diagram, lane ids that name no role)."""
    xml = (definitions.ROOT / "bpmn" / "registration.bpmn").read_text("utf-8")
    for chinese, key in ENGLISH.items():
        xml = xml.replace(f'name="{chinese}"', f'name="{key}"')
        if not ids:
            xml = xml.replace(f'"lane_{key}"', f'"Lane_{key[:3]}9x"')
    defn, problems = definitions.check(xml, definitions.all_forms())
    assert defn is not None, problems
    old = definitions.published("registration")
    row = ProcessDefinition(process_id="registration", version=old.version + 1, name=defn.name,
                            bpmn_xml=xml, forms=old.forms, spec_json=defn.spec_json,
                            sha256=hashlib.sha256(xml.encode()).hexdigest(),
                            published_at=utcnow(), author="test")
    db.session.add(row)
    db.session.commit()
    return row


def test_an_old_version_with_english_lane_names_still_runs(world: World) -> None:
    # R-33 (a published version keeps working): a name that is already a role key maps to itself
    for ids in (True, False):
        row = _old_version(world, ids)
        iid = _submit(world)
        assert db.session.get(ProcessInstance, iid).definition_id == row.id
        task = _open_task(iid)
        assert (task.lane, task.scope_kind, task.scope_id) == (
            "institution", "institution", world.hospital_id)
        processes.complete_task(user(world.staff_id), task.id, CONFIRMED)
        task = _open_task(iid)
        assert (task.lane, task.scope_id) == ("commission", world.authority_id)
        tl = _timeline(world, iid)
        assert tl.steps[1].party == HOSPITAL and tl.steps[3].party == COMMISSION
        xml = tasks.diagram_of(user(world.admin_id), iid).xml  # staff read Chinese lane names
        assert 'name="卫生健康委"' in xml and 'name="医师"' in xml
        assert 'name="commission"' not in xml and 'name="physician"' not in xml
        processes.terminate(user(world.admin_id), iid, "测试结束")
