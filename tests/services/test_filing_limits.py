"""多执业机构备案 limits, filings that end with their registration, 取消备案 dates, and the
filed (new) institution told the result."""

from __future__ import annotations

from datetime import date
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.errors import InvalidInput
from app.extensions import db
from app.models import HumanTask
from app.models import Institution
from app.models import MultiFiling
from app.models import OutboxMessage
from app.models import ProcessInstance
from app.models import Qualification
from app.models import Registration
from app.models import Role
from app.models import User
from app.services.engine import processes
from app.services.engine.clock import today_cst
from tests.factories import World
from tests.factories import active_registration
from tests.factories import make_user
from tests.factories import stored_pdf
from tests.factories import user


def _att(world: World, name: str) -> dict[str, Any]:
    return stored_pdf(world, name)


def _reg(world: World, **kw: Any) -> Registration:
    return active_registration(world, **{"cert_no": "110140100000555", **kw})


def _hospital(world: World, n: int, region: str = "140106") -> tuple[Institution, int]:
    inst = Institution(name=f"太原市第{n}医院", reg_no=f"R-140-F{n}", kind="综合医院",
                       region_code=region, authority_id=world.authority_id)
    db.session.add(inst)
    db.session.flush()
    staff = make_user(f"jigouf{n}", Role.INSTITUTION, f"第{n}医院医务科", institution_id=inst.id)
    db.session.commit()
    return inst, staff.id


def _filing_row(reg: Registration, inst: Institution) -> MultiFiling:
    today = today_cst()
    row = MultiFiling(registration_id=reg.id, institution_id=inst.id, scopes=["11"],
                      valid_from=today - timedelta(days=10), valid_to=today + timedelta(days=300),
                      authority_id=inst.authority_id, filed_on=today, status="ACTIVE")
    db.session.add(row)
    db.session.commit()
    return row


def _apply(world: World, reg: Registration, inst: Institution, days: int = 365,
           start: date | None = None) -> int:
    first = start or today_cst() + timedelta(days=1)
    return processes.start_application(user(world.doctor_id), "filing", {
        "registration_id": reg.id, "institution_id": inst.id, "practice_scopes": ["11"],
        "valid_from": first.isoformat(), "valid_to": (first + timedelta(days=days)).isoformat(),
        "agreement": _att(world, "协议.pdf"), "declare_true": True}).instance_id


def _open(iid: int) -> HumanTask:
    task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid,
                                                     HumanTask.status == "open"))
    assert task is not None
    return task


def test_the_number_of_concurrent_filings_is_limited(world: World) -> None:
    # R-47 (probe: a 7th concurrent filing was accepted); DOMAIN §4.1 type 7
    reg = _reg(world)
    for n in range(1, 4):
        _filing_row(reg, _hospital(world, n)[0])
    fourth, _staff = _hospital(world, 4)
    with pytest.raises(InvalidInput) as err:
        _apply(world, reg, fourth)
    assert err.value.errors["registration_id"] == (
        "该执业注册已有 3 个有效的多执业机构备案，达到上限；请先取消不再执业的备案")


def test_the_validity_of_a_filing_is_limited(world: World) -> None:
    # R-47 (probe: 50 years' validity was accepted); DOMAIN §5 (多机构备案 dates)
    reg = _reg(world)
    second, _staff = _hospital(world, 2)
    with pytest.raises(InvalidInput) as err:
        _apply(world, reg, second, days=50 * 365)
    assert err.value.errors["valid_to"] == "备案有效期至多 5 年"
    assert _apply(world, reg, second, days=4 * 365)


def test_an_assistant_files_only_within_the_county(world: World) -> None:
    # 医师执业注册管理办法 第十七条 (执业助理医师: one 执业地点, the county); R-47
    doctor = user(world.doctor_id)
    doctor.qualification.level = "执业助理医师"
    reg = _reg(world, level="执业助理医师", place_region="140105", cert_no="211140100000002")
    other_county, _staff = _hospital(world, 2, region="140106")
    with pytest.raises(InvalidInput) as err:
        _apply(world, reg, other_county)
    assert err.value.errors["institution_id"] == "执业助理医师只能在同一县级行政区域内备案"
    same_county, _staff = _hospital(world, 3, region="140105")
    assert _apply(world, reg, same_county)


def test_filings_close_when_the_registration_is_changed_out_by_an_upgrade(world: World) -> None:
    # R-47 (filings stayed 有效 after 变更出); 医师执业注册管理办法 第十条
    doctor = user(world.doctor_id)
    assistant = doctor.qualification
    assistant.level = "执业助理医师"
    db.session.add(Qualification(
        cert_no="2016141" + assistant.cert_no[7:], name=assistant.name, sex=assistant.sex,
        id_number=assistant.id_number, birth_date=assistant.birth_date, level="执业医师",
        category="1", year=2016, issued_on=assistant.issued_on, issuer=assistant.issuer))
    reg = _reg(world, level="执业助理医师", place_region="140105", cert_no="211140100000003")
    filing = _filing_row(reg, _hospital(world, 2, region="140105")[0])
    iid = processes.start_application(user(world.doctor_id), "upgrade", {
        "registration_id": reg.id, "practice_scopes": ["11"],
        "old_certificate": _att(world, "证.pdf"),
        "declare_true": True}).instance_id
    processes.complete_task(user(world.staff_id), _open(iid).id, {"decision": "confirm", "paper_held": True})
    processes.complete_task(user(world.officer_id), _open(iid).id, {"decision": "accept"})
    processes.complete_task(user(world.officer_id), _open(iid).id, {"decision": "approve"})
    db.session.expire_all()
    closed = db.session.get(MultiFiling, filing.id)
    assert closed is not None and closed.status == "CANCELLED" and closed.valid_to == today_cst()


def test_filings_close_when_the_registration_changes_to_the_military(world: World) -> None:
    # R-47; DOMAIN §4.1 type 4 (local row becomes 变更出)
    reg = _reg(world)
    filing = _filing_row(reg, _hospital(world, 2)[0])
    iid = processes.start_application(user(world.doctor_id), "to_military", {
        "registration_id": reg.id, "military_unit": "某部队医院", "effective_date":
            today_cst().isoformat(), "transfer_order": _att(world, "调令.pdf"), "declare_true": True}).instance_id
    while (task := db.session.scalar(select(HumanTask).where(
            HumanTask.instance_id == iid, HumanTask.status == "open"))) is not None:
        who = world.staff_id if task.scope_kind == "institution" else world.officer_id
        decision = {"institution": "confirm"}.get(task.scope_kind) or (
            "accept" if task.form_id == "commission_accept" else "approve")
        processes.complete_task(user(who), task.id, {"decision": decision, "paper_held": True}
                                if decision == "confirm" else {"decision": decision})
    db.session.expire_all()
    assert db.session.get(Registration, reg.id).status == "CHANGED_OUT"  # type: ignore[union-attr]
    assert db.session.get(MultiFiling, filing.id).status == "CANCELLED"  # type: ignore[union-attr]


def test_the_cancel_date_is_today_or_later_and_within_the_filing(world: World) -> None:
    # G-17: 指南 2.4 #11 多执业机构取消备案
    # 多执业机构取消备案 取消日期 (Part 1 row 11: a past date was accepted)
    reg = _reg(world)
    filing = _filing_row(reg, _hospital(world, 2)[0])
    today = today_cst()

    def cancel(end: date) -> int:
        return processes.start_application(user(world.doctor_id), "filing_cancel", {
            "filing_id": filing.id, "end_date": end.isoformat(), "reason": "不再执业",
            "declare_true": True}).instance_id

    with pytest.raises(InvalidInput) as err:
        cancel(today - timedelta(days=1))
    assert err.value.errors["end_date"] == "取消日期不能早于今天"
    with pytest.raises(InvalidInput) as err:
        cancel(today + timedelta(days=400))
    assert err.value.errors["end_date"].startswith("取消日期须在备案有效期")
    assert cancel(today)


def test_the_filed_institution_is_told_the_result(world: World) -> None:
    # 医师法 第十六条; 行政许可法 第三十八条 (the decision to the applicant and the institution); R-8
    reg = _reg(world)
    second, staff2 = _hospital(world, 2)
    iid = _apply(world, reg, second)
    processes.complete_task(user(world.staff_id), _open(iid).id, {"decision": "confirm", "paper_held": True})
    processes.complete_task(user(staff2), _open(iid).id, {"decision": "confirm", "paper_held": True})
    processes.complete_task(user(world.officer_id), _open(iid).id, {"decision": "accept"})
    processes.complete_task(user(world.officer_id), _open(iid).id, {"decision": "approve"})
    told = db.session.scalars(select(OutboxMessage.body).where(
        OutboxMessage.recipient_user_id == staff2, OutboxMessage.channel == "inbox",
        OutboxMessage.subject == "业务办理结果：已批准"))
    assert [f"（编号 {iid}）办理结果：已批准" in body for body in told] == [True]


def test_the_data_migration_brings_existing_records_in_line(world: World) -> None:
    # 医师执业注册管理办法 第二十二条 and R-47 for rows written before this release
    import importlib.util
    from pathlib import Path

    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    reg = _reg(world)
    iid = processes.start_application(user(world.doctor_id), "change", {
        "registration_id": reg.id, "institution_id": world.hospital_id,
        "department_id": world.department_id, "practice_scopes": ["12"], "reason": "工作需要",
        "employment_proof": _att(world, "聘.pdf"),
        "training_proof": _att(world, "培训.pdf"), "declare_true": True}).instance_id
    assert iid
    old = _reg(world, status="CHANGED_OUT", cert_no="110140100000556")
    filing = _filing_row(old, _hospital(world, 2)[0])
    reg.status = "ACTIVE"  # as written before this release
    db.session.commit()
    path = Path(__file__).parents[2] / "migrations" / "versions" / "0017_changes_rules.py"
    spec = importlib.util.spec_from_file_location("m0016", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with Operations.context(MigrationContext.configure(db.session.connection())):
        module.upgrade()
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Registration, reg.id).status == "PENDING_CHANGE"  # type: ignore[union-attr]
    assert db.session.get(MultiFiling, filing.id).status == "CANCELLED"  # type: ignore[union-attr]


def test_a_cancel_request_whose_filing_already_ended_is_refused_not_stuck(world: World) -> None:
    # 行政许可法 第三十八条 (不予: reasons); DOMAIN §4.0 — the filing ended meanwhile, the
    # commission is told before deciding and 不予 ends the case
    from app.services.engine import rules

    reg = _reg(world)
    filing = _filing_row(reg, _hospital(world, 2)[0])
    iid = processes.start_application(user(world.doctor_id), "filing_cancel", {
        "filing_id": filing.id, "end_date": (today_cst() + timedelta(days=30)).isoformat(),
        "reason": "不再执业", "declare_true": True}).instance_id
    while (task := _open(iid)).form_id != "commission_decide":
        who = world.officer_id if task.scope_kind == "authority" else (
            world.staff_id if task.scope_id == world.hospital_id else None)
        if who is None:
            who = db.session.scalar(select(User.id).where(User.institution_id == task.scope_id))
        decision = "accept" if task.form_id == "commission_accept" else "confirm"
        processes.complete_task(user(who), task.id, {"decision": decision})
    assert rules.expire_filings(today_cst() + timedelta(days=301)) == 1
    with pytest.raises(InvalidInput) as err:
        processes.complete_task(user(world.officer_id), task.id, {"decision": "approve"})
    assert err.value.errors["decision"].endswith("终止，无法准予取消备案")
    processes.complete_task(user(world.officer_id), task.id,
                            {"decision": "refuse", "note": "该备案已到期终止"})
    db.session.expire_all()
    inst = db.session.get(ProcessInstance, iid)
    assert inst is not None and inst.outcome == "refused"
