"""新建流程 (issue 12 §3): a new business type created from lists — the skeleton diagram and its
form, named refusal rules, chosen service operations — published with its template cases and
applied for by a physician."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask import g
from sqlalchemy import select

from app.errors import DomainError
from app.errors import InvalidInput
from app.extensions import db
from app.models import AuditEvent
from app.models import ConfiguredType
from app.models import HumanTask
from app.models import ProcessDraft
from app.models import ProcessInstance
from app.models import Registration
from app.services.applications import eligibility
from app.services.applications import types
from app.services.backoffice import case_runs
from app.services.backoffice import cases as case_files
from app.services.backoffice import configured_types
from app.services.backoffice import definitions
from app.services.backoffice import editor
from app.services.backoffice import skeleton
from app.services.engine import processes
from tests.factories import World
from tests.factories import user

RULES = ["registration_current", "no_open_same"]


@pytest.fixture
def sync(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, case_runs.SYNC_FLAG, True)


def _admin(world: World) -> Any:
    return user(world.admin_id)


def _create(world: World, pid: str = "cert_copy", **over: Any) -> str:
    args: dict[str, Any] = {"process_id": pid, "name": "执业证书副本申领", "starter": "physician",
                            "template": "skeleton", "rules": RULES, "chosen_operations": []}
    args.update(over)
    return configured_types.create(_admin(world), **args)


def _registration(world: World) -> int:
    reg = Registration(qualification_id=user(world.doctor_id).qualification_id, level="执业医师",
                       category="1", scopes=["11"], place_region="140000",
                       institution_id=world.hospital_id, department_id=world.department_id,
                       authority_id=world.authority_id, status="ACTIVE", cert_no="110140100000951")
    db.session.add(reg)
    db.session.commit()
    return reg.id


def _publish(world: World) -> int:
    configured_types.add_template_cases(_admin(world), "cert_copy")
    run = case_runs.start(_admin(world), "cert_copy")
    assert run.state == "passed", run.message
    return editor.publish(_admin(world), "cert_copy", "")


def test_a_new_process_opens_as_a_draft_with_its_form(world: World) -> None:
    assert _create(world) == "cert_copy"
    draft = editor.open_draft(_admin(world), "cert_copy")
    assert draft.name == "执业证书副本申领" and draft.base_version == 0
    assert set(draft.forms) == {"cert_copy_apply"}
    assert 'id="institution_confirm"' in draft.xml and "commission_decide" in draft.xml
    assert editor.check_draft("cert_copy") == []  # the skeleton passes 校验 as it is
    assert editor.versions("cert_copy") == []
    row = next(r for r in editor.overview() if r.process_id == "cert_copy")
    assert (row.name, row.version) == ("执业证书副本申领", 0)


def test_ids_names_and_choices_are_checked_next_to_the_field(world: World) -> None:
    with pytest.raises(InvalidInput) as bad:
        _create(world, "Reissue!", name="copy", starter="nobody", template="code",
                rules=["__import__"], chosen_operations=["os.system"])
    assert set(bad.value.errors) == {"process_id", "name", "starter", "template",
                                     "refusal_rules", "operations"}
    with pytest.raises(InvalidInput) as other:
        _create(world, "report_x", starter="commission")
    assert other.value.errors == {
        "template": "通用流程由医师或医疗机构发起；卫生健康委员会发起的业务请选择空白流程图"}
    with pytest.raises(InvalidInput) as taken:
        _create(world, "reissue")  # a shipped process
    assert taken.value.errors["process_id"] == "已有流程使用该编号，请换一个"
    assert db.session.scalar(select(ConfiguredType.id)) is None  # nothing kept


def test_the_template_cases_reach_every_element_and_it_publishes(world: World, sync: None) -> None:
    # 行政许可法 第四十二条 / R-10: the skeleton keeps the statutory clock with reminder and
    # overdue; R-15: the creation is audited
    _create(world)
    with pytest.raises(DomainError, match="测试用例"):
        editor.publish(_admin(world), "cert_copy", "")
    assert _publish(world) == 1
    assert db.session.scalar(select(ProcessDraft.id)) is None
    assert editor.versions("cert_copy")[0].current
    assert editor.versions("cert_copy")[0].note == "新建流程"
    created = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "process.created"))
    assert created is not None and created.actor_id == world.admin_id


def test_service_tasks_may_call_only_the_chosen_operations(world: World) -> None:
    # issue 12 §3 (no code from the browser): the type's operations are chosen from the registry
    _create(world)
    d = editor.open_draft(_admin(world), "cert_copy")
    xml = d.xml.replace('serviceTaskOperator id="close_application" resultVariable="closed">'
                        '<spiffworkflow:parameters><spiffworkflow:parameter id="outcome" '
                        'type="str" value="\'approved\'"',
                        'serviceTaskOperator id="reissue_certificate" resultVariable="closed">'
                        '<spiffworkflow:parameters><spiffworkflow:parameter id="outcome" '
                        'type="str" value="\'approved\'"')
    assert xml != d.xml
    editor.save_draft(_admin(world), "cert_copy", xml, d.forms, d.revision)
    problems = editor.check_draft("cert_copy")
    assert [(p.element_id, p.message) for p in problems] == [
        ("close_approved", "服务操作 reissue_certificate 不在为该业务选定的服务操作中")]
    _form_ids, offered = editor.editor_choices(editor.open_draft(_admin(world), "cert_copy"))
    assert "reissue_certificate" not in offered and "close_application" in offered


def test_the_type_is_on_the_apply_page_only_once_published(world: World, sync: None) -> None:
    # DOMAIN §4.0 common preconditions via the chosen rules 需有有效执业注册 and 不得有同类申请在办
    # (医师法 第十六条 bars: R-16)
    _create(world)
    doctor = user(world.doctor_id)
    assert "cert_copy" not in dict((p, n) for p, n, _r in eligibility.available_types(doctor))
    _publish(world)
    db.session.remove()
    g.pop("medreg_type_names", None)  # what a new request reads
    doctor = user(world.doctor_id)
    offered = {p: (n, r) for p, n, r in eligibility.available_types(doctor)}
    assert offered["cert_copy"] == ("执业证书副本申领", "您当前没有有效的执业注册，不能申请执业证书副本申领")
    reg_id = _registration(world)
    db.session.remove()
    assert eligibility.refusal(user(world.doctor_id), "cert_copy") is None

    started = processes.start_application(user(world.doctor_id), "cert_copy", {
        "registration_id": reg_id, "note": "原副本遗失", "declare_true": True})
    inst = db.session.get(ProcessInstance, started.instance_id)
    assert inst is not None and inst.business_status == "待机构确认"
    # 不得有同类申请在办
    assert eligibility.refusal(user(world.doctor_id), "cert_copy") == "您已有正在办理的同类申请，请在业务查询中查看进度"
    task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == inst.id,
                                                     HumanTask.status == "open"))
    assert task is not None and task.lane == "institution"
    processes.complete_task(user(world.staff_id), task.id, {"decision": "confirm", "paper_held": True})
    db.session.refresh(inst)
    assert inst.business_status == "待卫健委受理"


def test_a_discarded_new_process_frees_its_id(world: World) -> None:
    _create(world)
    editor.discard_draft(_admin(world), "cert_copy")
    assert db.session.scalar(select(ConfiguredType.id)) is None
    assert _create(world) == "cert_copy"


def test_the_registry_follows_the_table(world: World) -> None:
    _create(world)
    bt = types.get("cert_copy")
    assert bt is not None and bt.configured and bt.starters == ("physician",)
    db.session.execute(ConfiguredType.__table__.delete())
    db.session.commit()
    from app.services.applications.types import configured

    configured.refresh()
    assert types.get("cert_copy") is None



def test_the_skeleton_keeps_corrections_and_the_clock(world: World) -> None:
    # 行政许可法 第三十二条 (一次性告知补正, clock paused: ); 第四十二条 (20 working
    # days with reminder and overdue: R-10); 第三十八条 (不予批准 recorded as such: R-8)
    xml = skeleton.skeleton_xml("cert_copy", "执业证书副本申领")
    forms = {**definitions.all_forms(), "cert_copy_apply": skeleton.apply_form("执业证书副本申领")}
    made = skeleton.template_cases("cert_copy")
    report = case_files.run("cert_copy", xml, forms,
                            [case_files.Case(k, v) for k, v in sorted(made.items())])
    assert [(r.key, r.ok, r.detail) for r in report.results] == [
        ("approved", True, ""), ("refused", True, "")]
    assert report.uncovered == []
    approved = report.results[0].path
    assert approved.index("clock_pause") < approved.index("physician_supplement") \
        < approved.index("clock_resume")
    assert "physician_apply" in approved  # 退回修改 goes back to the physician


def test_new_types_get_chinese_lane_names(world: World) -> None:
    # issue 13 item 6: a person reads 医师 / 医疗机构 / 卫生健康委 on every lane; the role key is
    # the lane id (lane_physician), so the engine still finds who works each task
    for xml in (skeleton.skeleton_xml("cert_copy", "执业证书副本申领"),
                skeleton.empty_xml("cert_copy", "执业证书副本申领", "institution")):
        assert 'name="医师"' in xml and 'name="医疗机构"' in xml and 'name="卫生健康委"' in xml
        assert 'name="physician"' not in xml and 'name="commission"' not in xml
    defn, problems = definitions.check(skeleton.skeleton_xml("cert_copy", "执业证书副本申领"), {
        **definitions.all_forms(), "cert_copy_apply": skeleton.apply_form("执业证书副本申领")})
    assert defn is not None, problems
    assert {t.spec_id: t.lane for t in defn.user_tasks.values()}["commission_decide"] == "commission"
