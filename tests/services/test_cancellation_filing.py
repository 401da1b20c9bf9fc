"""注销 and 多执业机构备案 through the service layer: effects, lanes and preconditions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.errors import DomainError
from app.errors import InvalidInput
from app.extensions import db
from app.models import HumanTask
from app.models import Institution
from app.models import MultiFiling
from app.models import ProcessInstance
from app.models import Registration
from app.models import Role
from app.services.applications import attachments
from app.services.applications import eligibility
from app.services.engine import processes
from app.services.engine.clock import today_cst
from app.services.inbox import tasks
from tests.factories import CONFIRMED
from tests.factories import PDF
from tests.factories import World
from tests.factories import make_user
from tests.factories import user


def _registration(world: World, status: str = "ACTIVE") -> Registration:
    doctor = user(world.doctor_id)
    reg = Registration(qualification_id=doctor.qualification_id, level="执业医师", category="1",
                       scopes=["11", "12"], place_region="140000",
                       institution_id=world.hospital_id, authority_id=world.authority_id,
                       status=status, cert_no="110140100000777")
    db.session.add(reg)
    db.session.commit()
    return reg


def _file(world: World, name: str) -> dict[str, object]:
    return attachments.store(world.upload_dir, attachments.Upload(name, PDF + name.encode()),
                             world.doctor_id)


def _open(iid: int) -> HumanTask:
    t = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid,
                                                  HumanTask.status == "open"))
    assert t is not None
    return t


def test_cancellation_annuls_the_registration(world: World) -> None:
    # 医师法 第十七条: 注销 annuls the registration and its certificate
    reg = _registration(world)
    doctor = user(world.doctor_id)
    iid = processes.start_application(doctor, "cancellation", {
        "registration_id": reg.id, "reason": "own_request",
        "event_date": today_cst().isoformat(), "declare_true": True}).instance_id
    assert _open(iid).scope_id == world.hospital_id
    processes.complete_task(user(world.staff_id), _open(iid).id, CONFIRMED)
    processes.complete_task(user(world.officer_id), _open(iid).id, {"decision": "accept"})
    processes.complete_task(user(world.officer_id), _open(iid).id, {"decision": "approve"})
    db.session.expire_all()
    assert db.session.get(Registration, reg.id).status == "CANCELLED"
    assert db.session.get(ProcessInstance, iid).business_status == "已批准"


def test_filing_is_signed_by_both_institutions(world: World) -> None:
    # 医师执业注册管理办法 第十条: a filing goes to the commission of the filed institution
    reg = _registration(world)
    second = Institution(name="太原市中心医院", reg_no="R-140-2", kind="综合医院",
                         region_code="140106", authority_id=world.authority_id)
    db.session.add(second)
    db.session.flush()
    staff2 = make_user("jigou05", Role.INSTITUTION, "中心医院医务科", institution_id=second.id)
    db.session.commit()
    start = today_cst() + timedelta(days=3)
    iid = processes.start_application(user(world.doctor_id), "filing", {
        "registration_id": reg.id, "institution_id": second.id, "practice_scopes": ["11"],
        "valid_from": start.isoformat(), "valid_to": (start + timedelta(days=365)).isoformat(),
        "agreement": _file(world, "协议.pdf"), "declare_true": True}).instance_id
    processes.complete_task(user(world.staff_id), _open(iid).id, CONFIRMED)
    task = _open(iid)
    assert task.task_spec_id == "target_confirm" and task.scope_id == second.id
    assert [r.instance_id for r in tasks.inbox(staff2)] == [iid]
    processes.complete_task(staff2, task.id, CONFIRMED)
    processes.complete_task(user(world.officer_id), _open(iid).id, {"decision": "accept"})
    processes.complete_task(user(world.officer_id), _open(iid).id, {"decision": "approve"})
    filing = db.session.scalar(select(MultiFiling))
    assert filing is not None and filing.institution_id == second.id
    assert filing.scopes == ["11"] and filing.valid_from == start and filing.status == "ACTIVE"


@pytest.mark.parametrize(("process_id", "message"), [
    ("filing", "您当前没有有效的执业注册，不能申请多执业机构备案"),
    ("cancellation", "您当前没有可以注销的执业注册"),
])
def test_preconditions_are_explained(world: World, process_id: str, message: str) -> None:
    doctor = user(world.doctor_id)
    reasons = {pid: why for pid, _name, why in eligibility.available_types(doctor)}
    assert message in (reasons[process_id] or "")
    assert reasons["registration"] is None
    with pytest.raises(DomainError, match=message[:8]):
        processes.start_application(doctor, process_id, {})


def test_filing_rules_are_checked_field_by_field(world: World) -> None:
    reg = _registration(world)
    doctor = user(world.doctor_id)
    with pytest.raises(InvalidInput) as err:
        processes.start_application(doctor, "filing", {
            "registration_id": reg.id, "institution_id": world.other_hospital_id,
            "practice_scopes": ["13"], "valid_from": "2020-01-01", "valid_to": "2019-01-01",
            "agreement": _file(world, "协议.pdf"), "declare_true": True})
    errors = err.value.errors
    assert "跨省执业请先在该省申请注册" in errors["institution_id"]
    assert errors["practice_scopes"] == "执业范围须在已注册的执业范围之内"
    assert errors["valid_from"] == "有效期开始不能早于今天"
    assert errors["valid_to"] == "有效期结束须晚于有效期开始"
    with pytest.raises(InvalidInput) as err:
        processes.start_application(doctor, "filing", {
            "registration_id": reg.id, "institution_id": world.hospital_id,
            "practice_scopes": ["11"], "valid_from": today_cst().isoformat(),
            "valid_to": (today_cst() + timedelta(days=9)).isoformat(),
            "agreement": _file(world, "协议.pdf"), "declare_true": True})
    assert err.value.errors == {"institution_id": "拟执业机构不能是您的主要执业机构"}


def test_a_filing_ends_on_its_end_date(world: World) -> None:
    from app.services.engine import rules
    reg = _registration(world)
    second = Institution(name="太原市中心医院", reg_no="R-140-9", kind="综合医院",
                         region_code="140106", authority_id=world.authority_id)
    db.session.add(second)
    db.session.flush()
    end = today_cst()
    db.session.add(MultiFiling(registration_id=reg.id, institution_id=second.id, scopes=["11"],
                               valid_from=end - timedelta(days=30), valid_to=end,
                               authority_id=world.authority_id, filed_on=end))
    db.session.commit()
    assert rules.expire_filings(end) == 0  # still valid on its last day
    assert rules.expire_filings(end + timedelta(days=1)) == 1
    assert db.session.scalar(select(MultiFiling.status)) == "EXPIRED"
