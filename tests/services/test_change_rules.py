"""变更 that keeps the register right: applications that may not be open together, the
commission never stuck on a decision that became impossible, 变更中 while a change is open."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask import current_app
from sqlalchemy import select

from app.errors import DomainError
from app.errors import InvalidInput
from app.extensions import db
from app.models import HumanTask
from app.models import Institution
from app.models import ProcessInstance
from app.models import Qualification
from app.models import Registration
from app.models import Role
from app.models import User
from app.services.applications import eligibility
from app.services.applications import types
from app.services.engine import processes
from app.services.engine.clock import today_cst
from app.services.records import public_register
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import active_registration
from tests.factories import make_user
from tests.factories import stored_pdf
from tests.factories import user


def _att(world: World, name: str) -> dict[str, Any]:
    return stored_pdf(world, name)


def _reg(world: World, **kw: Any) -> Registration:
    return active_registration(world, **{"cert_no": "110140100000888", **kw})


def _change(world: World, reg: Registration, **kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "registration_id": reg.id, "institution_id": world.hospital_id,
        "department_id": world.department_id, "practice_scopes": ["12"], "reason": "工作需要",
        "employment_proof": _att(world, "聘.pdf"),
        "training_proof": _att(world, "培训.pdf"), "declare_true": True}
    data.update(kw)
    return data


def _open(iid: int) -> HumanTask:
    task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid,
                                                     HumanTask.status == "open"))
    assert task is not None
    return task


def _to_decision(world: World, iid: int, target_staff: int | None = None) -> HumanTask:
    processes.complete_task(user(world.staff_id), _open(iid).id, {"decision": "confirm", "paper_held": True})
    # the new (here: the same) institution confirms too
    processes.complete_task(user(target_staff or world.staff_id), _open(iid).id,
                            {"decision": "confirm", "paper_held": True})
    processes.complete_task(user(world.officer_id), _open(iid).id, {"decision": "accept"})
    return _open(iid)


def _status(reg_id: int) -> str:
    db.session.expire_all()
    reg = db.session.get(Registration, reg_id)
    assert reg is not None
    return reg.status


def test_the_conflict_matrix_is_declared_by_the_types_and_read_both_ways(world: World) -> None:
    # DOMAIN §4.0 (no other open application of a conflicting type)
    assert "cancellation" in types.get("change").conflicts  # type: ignore[union-attr]
    assert types.conflicting("cancellation", "change") and types.conflicting("change", "cancellation")
    assert types.conflicting("filing", "upgrade") and not types.conflicting("filing", "filing_cancel")
    assert "change" in types.conflicts_of("cancellation_report")


def test_cancellation_is_refused_while_a_change_is_open_and_names_it(world: World) -> None:
    # DOMAIN §4.0 (no conflicting open application); 行政许可法 第三十二条 (a reasoned refusal)
    reg = _reg(world)
    iid = processes.start_application(user(world.doctor_id), "change",
                                      _change(world, reg)).instance_id
    why = eligibility.refusal(user(world.doctor_id), "cancellation")
    assert why == f"您的「变更」申请正在办理中（受理编号 {iid}），办结后才能申请注销"
    with pytest.raises(DomainError, match="办结后才能申请注销"):
        processes.start_application(user(world.doctor_id), "cancellation", {
            "registration_id": reg.id, "reason": "own_request",
            "event_date": today_cst().isoformat()})
    for pid in ("filing", "reissue", "to_military"):
        assert f"受理编号 {iid}" in (eligibility.refusal(user(world.doctor_id), pid) or "")
    # the page the physician opens next says the same
    db.session.commit()
    web = WebClient(current_app.test_client())
    web.login("doctor01")
    page = web.get("/physician/apply").get_data(as_text=True)
    assert "办结后才能申请注销" in page


def test_change_is_refused_while_a_cancellation_is_open(world: World) -> None:
    # DOMAIN §4.0; 医师执业注册管理办法 第十八条 (注销)
    reg = _reg(world)
    iid = processes.start_application(user(world.doctor_id), "cancellation", {
        "registration_id": reg.id, "reason": "own_request",
        "event_date": today_cst().isoformat(), "declare_true": True}).instance_id
    why = eligibility.refusal(user(world.doctor_id), "change")
    assert why == f"您的「注销」申请正在办理中（受理编号 {iid}），办结后才能申请变更"


def test_the_officer_is_not_stuck_when_a_cancellation_overtook_the_change(
        app: Flask, web_world: World) -> None:
    # 医师法 第十六条 (不予: written reasons); 行政许可法 第三十八条; DOMAIN §4.0 — the commission
    # sees before deciding that the change can no longer take effect, and 不予 ends the case
    world = web_world
    with app.app_context():
        reg = _reg(world)
        reg_id = reg.id
        change = processes.start_application(user(world.doctor_id), "change",
                                             _change(world, reg)).instance_id
        decide_id = _to_decision(world, change).id
        # the institution reports the physician's death; the commission approves the 注销
        case = processes.start_case(user(world.staff_id), "cancellation_report", {
            "registration_id": reg.id, "reason": "death", "event_date": today_cst().isoformat()})
        processes.complete_task(user(world.officer_id), _open(case.instance_id).id,
                                {"decision": "accept"})
        processes.complete_task(user(world.officer_id), _open(case.instance_id).id,
                                {"decision": "approve"})
        assert _status(reg_id) == "CANCELLED"
        day = today_cst()
        db.session.remove()
    reason = f"该执业注册已于{day.year}年{day.month}月{day.day}日注销，无法准予变更"
    web = WebClient(app.test_client())
    web.login("weijian01")
    page = web.get(f"/inbox/tasks/{decide_id}").get_data(as_text=True)
    assert reason in page
    resp = web.post(f"/inbox/tasks/{decide_id}/complete", {"decision": "approve"})
    assert resp.status_code == 422 and reason in resp.get_data(as_text=True)
    assert "请联系系统管理员" not in resp.get_data(as_text=True)
    resp = web.post(f"/inbox/tasks/{decide_id}/complete",
                    {"decision": "refuse", "note": "该执业注册已注销"})
    assert resp.status_code == 302
    page = web.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已办理完成" in page
    with app.app_context():
        inst = db.session.get(ProcessInstance, change)
        assert inst is not None and inst.outcome == "refused" and inst.completed_at is not None
        assert _status(reg_id) == "CANCELLED"
        db.session.remove()


def _practice_page(username: str = "doctor01") -> str:
    db.session.commit()
    web = WebClient(current_app.test_client())
    web.login(username)
    return str(web.get("/physician/practice").get_data(as_text=True))


def test_a_registration_is_pending_change_while_a_change_is_open(world: World) -> None:
    # G-16: 指南 2.4 #8 变更
    # 医师执业注册管理办法 第二十二条; R-32
    reg = _reg(world)
    iid = processes.start_application(user(world.doctor_id), "change",
                                      _change(world, reg)).instance_id
    assert _status(reg.id) == "PENDING_CHANGE"
    page = _practice_page()
    assert "变更中" in page and "电子证照" in page  # still in force under its old items
    found = public_register.search("", "", "", reg.cert_no)
    assert [e.status for e in found] == ["变更中"]  # the public register
    # still in force for what reads "current": info change, 注销 by the institution
    assert eligibility.registrations_in(user(world.doctor_id), eligibility.CURRENT)
    decide = _to_decision(world, iid)
    processes.complete_task(user(world.officer_id), decide.id, {"decision": "approve"})
    assert _status(reg.id) == "ACTIVE"
    db.session.expire_all()
    assert db.session.get(Registration, reg.id).scopes == ["12"]  # type: ignore[union-attr]
    assert "变更中" not in _practice_page()


@pytest.mark.parametrize("ending", ["refuse", "withdraw", "not_accepted"])
def test_pending_change_returns_to_active_when_the_change_ends_otherwise(
        world: World, ending: str) -> None:
    # 医师执业注册管理办法 第二十二条; R-32
    reg = _reg(world)
    iid = processes.start_application(user(world.doctor_id), "change",
                                      _change(world, reg)).instance_id
    assert _status(reg.id) == "PENDING_CHANGE"
    if ending == "withdraw":
        processes.withdraw(user(world.doctor_id), iid)
    elif ending == "not_accepted":
        for _step in range(2):  # the main and the new institution confirm
            processes.complete_task(user(world.staff_id), _open(iid).id, {"decision": "confirm", "paper_held": True})
        processes.complete_task(user(world.officer_id), _open(iid).id,
                                {"decision": "reject", "note": "不属于本机关管辖"})
    else:
        decide = _to_decision(world, iid)
        processes.complete_task(user(world.officer_id), decide.id,
                                {"decision": "refuse", "note": "材料不实"})
    assert _status(reg.id) == "ACTIVE"
    assert "有效" in _practice_page()


def _other_county_hospital(world: World, kind: str = "综合医院") -> Institution:
    inst = Institution(name="大同市第一医院", reg_no="R-140-9", kind=kind, region_code="140202",
                       authority_id=world.authority_id)
    db.session.add(inst)
    db.session.flush()
    from app.models import Department

    db.session.add(Department(institution_id=inst.id, code="01", name="内科", subject_code="0300"))
    make_user("jigou09", Role.INSTITUTION, "大同一院医务科", institution_id=inst.id)
    db.session.commit()
    return inst


def test_an_assistant_moving_to_another_county_gets_that_county_as_place(world: World) -> None:
    # 医师执业注册管理办法 第七条、第十七条 (执业助理医师: county); R-26
    doctor = user(world.doctor_id)
    doctor.qualification.level = "执业助理医师"
    reg = _reg(world, level="执业助理医师", place_region="140105", cert_no="211140100000001")
    other = _other_county_hospital(world)
    iid = processes.start_application(user(world.doctor_id), "change", _change(
        world, reg, institution_id=other.id, department_id=other.departments[0].id,
        practice_scopes=["11"])).instance_id
    target_staff = db.session.scalar(select(User.id).where(User.username == "jigou09"))
    decide = _to_decision(world, iid, target_staff)
    processes.complete_task(user(world.officer_id), decide.id, {"decision": "approve"})
    db.session.expire_all()
    reg = db.session.get(Registration, reg.id)
    assert reg is not None and reg.status == "ACTIVE"
    assert reg.institution_id == other.id and reg.place_region == "140202"  # was kept: 140105


def test_a_physician_moving_within_the_province_keeps_the_province_as_place(world: World) -> None:
    # 医师执业注册管理办法 第七条 (执业医师: province); R-26
    reg = _reg(world)
    other = _other_county_hospital(world)
    iid = processes.start_application(user(world.doctor_id), "change", _change(
        world, reg, institution_id=other.id, department_id=other.departments[0].id,
        practice_scopes=["11"])).instance_id
    target_staff = db.session.scalar(select(User.id).where(User.username == "jigou09"))
    decide = _to_decision(world, iid, target_staff)
    processes.complete_task(user(world.officer_id), decide.id, {"decision": "approve"})
    db.session.expire_all()
    reg = db.session.get(Registration, reg.id)
    assert reg is not None and reg.place_region == "140000" and reg.institution_id == other.id


def test_a_new_specialty_needs_the_training_proof(world: World) -> None:
    # 医师法 第十四条 (经相关专业培训和考核合格，可以增加执业范围); R-45
    reg = _reg(world)
    data = _change(world, reg)
    del data["training_proof"]
    with pytest.raises(InvalidInput) as err:
        processes.start_application(user(world.doctor_id), "change", data)
    assert err.value.errors == {"training_proof": "变更执业范围须提供培训考核合格证明"}
    assert processes.start_application(user(world.doctor_id), "change", _change(world, reg))


def _qualification_in(world: World, category: str) -> Qualification:
    own = user(world.doctor_id).qualification
    qual = Qualification(
        cert_no=f"2015141{int(category):02d}{own.id_number}", name=own.name, sex=own.sex,
        id_number=own.id_number, birth_date=own.birth_date, level="执业医师", category=category,
        year=2015, issued_on=own.issued_on, issuer=own.issuer)
    db.session.add(qual)
    db.session.commit()
    return qual


def test_a_category_change_needs_a_qualification_in_that_category(world: World) -> None:
    # 医师法 第十四条; 执业范围暂行规定 (the category is the qualification's); R-45
    reg = _reg(world)
    with pytest.raises(InvalidInput) as err:
        processes.start_application(user(world.doctor_id), "change", _change(
            world, reg, practice_category="2", practice_scopes=["31"]))
    assert err.value.errors["practice_category"] == "未查询到您该执业类别的医师资格，不能变更执业类别"


def test_a_category_change_with_the_qualification_takes_effect(world: World) -> None:
    # 医师法 第十四条; 执业范围暂行规定 (scopes from the new category); R-45
    reg = _reg(world)
    _qualification_in(world, "2")
    with pytest.raises(InvalidInput) as err:  # scopes stay within the new category
        processes.start_application(user(world.doctor_id), "change", _change(
            world, reg, practice_category="2", practice_scopes=["11"]))
    assert err.value.errors["practice_scopes"] == "执业范围须为同一执业类别内的专业"
    iid = processes.start_application(user(world.doctor_id), "change", _change(
        world, reg, practice_category="2", practice_scopes=["31"])).instance_id
    decide = _to_decision(world, iid)
    processes.complete_task(user(world.officer_id), decide.id, {"decision": "approve"})
    db.session.expire_all()
    changed = db.session.get(Registration, reg.id)
    assert changed is not None and changed.category == "2" and changed.scopes == ["31"]
    assert changed.status == "ACTIVE"
    page = _practice_page()
    assert "口腔" in page and "口腔专业" in page


def test_the_change_page_says_what_needs_no_change(world: World) -> None:
    # 医师法 第十八条 (规培、进修、对口支援、会诊、义诊、医联体内执业 need no 变更); R-46
    _reg(world)
    db.session.commit()
    web = WebClient(current_app.test_client())
    web.login("doctor01")
    page = web.get("/physician/apply/change").get_data(as_text=True)
    for words in ("规范化培训", "进修", "对口支援", "会诊", "义诊", "医疗联合体", "无需办理变更注册"):
        assert words in page


def test_types_sharing_an_open_key_all_conflict_so_the_database_holds_races(world: World) -> None:
    # DOMAIN §4.0 (no conflicting open application), held by process_instance.open_key even for
    # two submissions at the same moment
    from sqlalchemy.exc import IntegrityError

    group = [bt.process_id for bt in types.all_types() if bt.conflict_group == types.REGISTRATION_STATUS]
    assert sorted(group) == ["cancellation", "change", "filing", "to_military", "upgrade"]
    assert all(types.conflicting(a, b) for a in group for b in group if a != b)
    reg = _reg(world)
    iid = processes.start_application(user(world.doctor_id), "change",
                                      _change(world, reg)).instance_id
    change = db.session.get(ProcessInstance, iid)
    assert change is not None
    twin = ProcessInstance(**{c: getattr(change, c) for c in (
        "definition_id", "subject_user_id", "qualification_id", "institution_id", "authority_id",
        "registration_id", "business_status", "application", "workflow_json",
        "serializer_version", "created_at", "updated_at")}, process_id="cancellation",
        open_key=types.get("cancellation").open_key(world.doctor_id))  # type: ignore[union-attr]
    db.session.add(twin)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
