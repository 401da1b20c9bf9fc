"""发起业务 (issue 12 §3): a business type configured with 医疗机构 or 卫生健康委员会 as its
starter is started by that institution's (commission's) staff about a registration of its own
physicians (its jurisdiction), and reaches the commission's inbox."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.errors import Forbidden
from app.errors import InvalidInput
from app.errors import NotFound
from app.extensions import db
from app.models import HumanTask
from app.models import ProcessInstance
from app.models import Registration
from app.services.applications import eligibility
from app.services.applications import staff_cases
from app.services.backoffice import case_runs
from app.services.backoffice import configured_types
from app.services.backoffice import editor
from app.services.backoffice import skeleton
from app.services.engine import processes
from app.services.inbox import tasks
from tests.factories import World
from tests.factories import user

PID = "practice_check"
NAME = "执业情况核查报告"


def case_diagram(process_id: str, name: str, starter: str = "institution") -> str:
    """The smallest staff-started process: the starter submits, the commission accepts (受理),
    the application closes."""
    nodes = [
        skeleton._Node("start", "startEvent", "发起业务", starter, 160, 240),
        skeleton._Node("commission_accept", "userTask", "卫健委受理", "commission", 420, 520,
                       skeleton._props("commission_accept", "待卫健委受理")),
        skeleton._Node("close_approved", "serviceTask", "办结", "commission", 700, 520,
                       skeleton._operator("close_application", "closed",
                                          (("outcome", "'approved'"),))),
        skeleton._Node("end_approved", "endEvent", "已办结", "commission", 900, 520),
    ]
    flows = (("f1", "start", "commission_accept", "", ""),
             ("f2", "commission_accept", "close_approved", "", ""),
             ("f3", "close_approved", "end_approved", "", ""))
    return skeleton._diagram(process_id, name, nodes, flows)


def publish_staff_type(world: World, starter: str = "institution", pid: str = PID,
                       rules: list[str] | None = None) -> None:
    """What an administrator does: 新建流程 (empty diagram), draw the steps, add a case, publish."""
    admin = user(world.admin_id)
    configured_types.create(admin, process_id=pid, name=NAME, starter=starter, template="empty",
                            rules=rules or [], chosen_operations=[])
    draft = editor.open_draft(admin, pid)
    editor.save_draft(admin, pid, case_diagram(pid, NAME, starter), draft.forms, draft.revision)
    editor.save_case(admin, pid, "accepted", {
        "name": "受理后办结",
        "start": {"form": f"{pid}_apply",
                  "data": {"registration_id": 1, "note": "测试", "declare_true": True}},
        "steps": [{"task": "commission_accept", "lane": "commission",
                   "data": {"decision": "accept"}}],
        "expect": {"end": "end_approved", "called": ["close_application"]}})
    run = case_runs.start(admin, pid, sync=True)
    assert run.state == "passed", run.message
    editor.publish(admin, pid, "")


def registration(world: World, doctor_id: int | None = None, hospital_id: int | None = None,
                 status: str = "ACTIVE") -> int:
    reg = Registration(qualification_id=user(doctor_id or world.doctor_id).qualification_id,
                       level="执业医师", category="1", scopes=["11"], place_region="140000",
                       institution_id=hospital_id or world.hospital_id,
                       department_id=world.department_id, authority_id=world.authority_id,
                       status=status, cert_no="110140100000952")
    db.session.add(reg)
    db.session.commit()
    return reg.id


@pytest.fixture
def sync(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, case_runs.SYNC_FLAG, True)


def _data(reg_id: Any) -> dict[str, Any]:
    return {"registration_id": reg_id, "note": "医师执业情况核查", "declare_true": True}


def test_an_institution_starts_its_type_and_the_commission_accepts_it(world: World,
                                                                       sync: None) -> None:
    # 医师执业注册管理办法 第十八条 (the institution reports about its own physicians) / R-56
    publish_staff_type(world)
    reg_id = registration(world)
    staff = user(world.staff_id)
    assert [(s.process_id, s.name) for s in staff_cases.startable(staff)] == [(PID, NAME)]
    assert staff_cases.startable(user(world.officer_id)) == []  # not its starter
    page = staff_cases.start_page(staff, PID)
    [reg_field] = [f for f in page.fields if f.name == "registration_id"]
    assert [v for v, _label in reg_field.options] == [str(reg_id)]

    started = processes.start(staff, PID, _data(reg_id))
    inst = db.session.get(ProcessInstance, started.instance_id)
    assert inst is not None and inst.registration_id == reg_id
    assert inst.business_status == "待卫健委受理" and inst.subject_user_id == world.doctor_id
    task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == inst.id,
                                                     HumanTask.status == "open"))
    assert task is not None and task.lane == "commission"
    assert [r.task_id for r in tasks.inbox(user(world.officer_id))] == [task.id]
    processes.complete_task(user(world.officer_id), task.id, {"decision": "accept"})
    db.session.refresh(inst)
    assert inst.completed_at is not None
    again = processes.start(user(world.staff_id), PID, _data(reg_id))  # no rule chosen: no bar
    assert again.instance_id != started.instance_id


def test_another_institutions_physician_cannot_be_named(world: World, sync: None) -> None:
    # 医师执业注册管理办法 第十八条: only the institution where the physician practises / R-56
    publish_staff_type(world)
    reg_id = registration(world)
    with pytest.raises(InvalidInput) as bad:
        processes.start(user(world.other_staff_id), PID, _data(reg_id))
    assert bad.value.errors["registration_id"] == "请选择本机构（本辖区）医师有效的执业注册"
    assert db.session.scalar(select(ProcessInstance.id)) is None


def test_the_chosen_refusal_rules_apply_to_the_physician(world: World, sync: None) -> None:
    # 医师法 第十六条 bars via the chosen rule 不得有同类申请在办 / R-16
    publish_staff_type(world, rules=["no_open_same"])
    reg_id = registration(world)
    staff = user(world.staff_id)
    processes.start(staff, PID, _data(reg_id))
    with pytest.raises(InvalidInput) as bad:
        processes.start(user(world.staff_id), PID, _data(reg_id))
    assert bad.value.errors["registration_id"] == "医师宋宏强：您已有正在办理的同类申请，请在业务查询中查看进度"


def test_other_roles_cannot_start_it_and_physicians_never_see_it(world: World,
                                                                  sync: None) -> None:
    # who starts a business comes from its type, not from the page
    publish_staff_type(world)
    reg_id = registration(world)
    with pytest.raises(Forbidden):
        processes.start(user(world.officer_id), PID, _data(reg_id))
    with pytest.raises(NotFound):
        staff_cases.start_page(user(world.officer_id), PID)
    with pytest.raises(Forbidden):
        staff_cases.start_page(user(world.doctor_id), PID)
    assert PID not in [p for p, _n, _r in eligibility.available_types(user(world.doctor_id))]


def test_a_commission_starts_a_type_about_its_jurisdiction(world: World, sync: None) -> None:
    # 医师执业注册管理办法 第十八条 (依职权: the registering authority) / R-56
    publish_staff_type(world, starter="commission")
    reg_id = registration(world)
    officer = user(world.officer_id)
    assert [s.process_id for s in staff_cases.startable(officer)] == [PID]
    assert staff_cases.startable(user(world.staff_id)) == []
    with pytest.raises(InvalidInput):
        processes.start(user(world.other_officer_id), PID, _data(reg_id))
    started = processes.start(user(world.officer_id), PID, _data(reg_id))
    inst = db.session.get(ProcessInstance, started.instance_id)
    assert inst is not None and inst.business_status == "待卫健委受理"


def test_the_common_skeleton_serves_an_institution_started_type(world: World) -> None:
    # 行政许可法 第三十二条 (一次性告知补正 goes back to the institution that started it) and
    # 第四十二条 (the statutory clock with reminder and overdue) / R-10, R-56
    admin = user(world.admin_id)
    configured_types.create(admin, process_id=PID, name=NAME, starter="institution",
                            template="skeleton", rules=[], chosen_operations=[])
    assert editor.check_draft(PID) == []
    assert staff_cases.startable(user(world.staff_id)) == []  # not before it is published
    draft = editor.open_draft(admin, PID)
    assert "institution_confirm" not in draft.xml and "physician_apply" not in draft.xml
    assert configured_types.add_template_cases(admin, PID) == ["approved", "refused"]
    run = case_runs.start(admin, PID, sync=True)
    assert run.state == "passed", run.message
    assert editor.publish(admin, PID, "") == 1
    reg_id = registration(world)
    started = processes.start(user(world.staff_id), PID, _data(reg_id))
    inst = db.session.get(ProcessInstance, started.instance_id)
    assert inst is not None and inst.business_status == "待卫健委受理"
    [row] = tasks.inbox(user(world.officer_id))
    task = db.session.get(HumanTask, row.task_id)
    assert task is not None and task.task_spec_id == "commission_accept"
    assert task.instance_id == inst.id
    # 一次性告知补正 goes back to the institution, which corrects its own submission
    processes.complete_task(user(world.officer_id), task.id, {
        "decision": "correct", "note": "请补充情况说明", "fields": ["note"]})
    db.session.refresh(inst)
    assert inst.business_status == "待补正材料"
    supplement = db.session.scalar(select(HumanTask).where(
        HumanTask.instance_id == inst.id, HumanTask.status == "open"))
    assert supplement is not None and supplement.task_spec_id == "institution_supplement"
    processes.complete_task(user(world.staff_id), supplement.id,
                            {**_data(reg_id), "note": "已补充核查经过"})
    db.session.refresh(inst)
    assert inst.business_status == "待卫健委受理"
    assert inst.application["note"] == "已补充核查经过"
