"""Every business type end to end through the service layer, with its effect on the records,
and each type's precondition refusal in Chinese."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.errors import DomainError
from app.extensions import db
from app.models import HumanTask
from app.models import Institution
from app.models import MultiFiling
from app.models import Qualification
from app.models import Registration
from app.models import Role
from app.services.applications import attachments
from app.services.applications import eligibility
from app.services.engine import processes
from app.services.engine.clock import today_cst
from tests.factories import PDF
from tests.factories import World
from tests.factories import application_payload
from tests.factories import make_user
from tests.factories import user


def _att(world: World, name: str) -> dict[str, Any]:
    return attachments.store(world.upload_dir, attachments.Upload(name, PDF + name.encode()),
                             world.doctor_id)


def _reg(world: World, **kw: Any) -> Registration:
    doctor = user(world.doctor_id)
    fields: dict[str, Any] = dict(
        qualification_id=doctor.qualification_id, level="执业医师", category="1", scopes=["11"],
        place_region="140000", institution_id=world.hospital_id, department_id=world.department_id,
        authority_id=world.authority_id, status="ACTIVE", cert_no="110140100000888")
    fields.update(kw)
    reg = Registration(**fields)
    db.session.add(reg)
    db.session.flush()
    return reg


def _second_hospital(world: World) -> tuple[Institution, int]:
    second = Institution(name="太原市中心医院", reg_no="R-140-2", kind="综合医院",
                         region_code="140106", authority_id=world.authority_id)
    db.session.add(second)
    db.session.flush()
    from app.models import Department

    dept = Department(institution_id=second.id, code="01", name="内科", subject_code="0300")
    db.session.add(dept)
    staff = make_user("jigou07", Role.INSTITUTION, "中心医院医务科", institution_id=second.id)
    db.session.flush()
    return second, staff.id


def _run(world: World, pid: str, data: dict[str, Any], target_staff: int | None = None) -> int:
    iid = processes.start_application(user(world.doctor_id), pid, data).instance_id
    steps = [(world.staff_id, {"decision": "confirm"})]
    if target_staff:
        steps.append((target_staff, {"decision": "confirm"}))
    steps += [(world.officer_id, {"decision": "accept"}), (world.officer_id, {"decision": "approve"})]
    for actor, decision in steps:
        task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid,
                                                         HumanTask.status == "open"))
        assert task is not None
        if task.form_id == "institution_confirm_paper":  # the signed 申请审核表 is held
            decision = {**decision, "paper_held": True}
        processes.complete_task(user(actor), task.id, decision)
    return iid


def test_upgrade_issues_a_physician_registration(world: World) -> None:
    # G-15: 指南 2.4 #5 助理医师升执业医师
    # 医师执业注册管理办法 第七条; DOMAIN [S4][S13]: old certificate withdrawn, new issued, 执业地点 widens
    doctor = user(world.doctor_id)
    assistant = doctor.qualification
    assistant.level = "执业助理医师"
    db.session.add(Qualification(
        cert_no="2016141" + assistant.cert_no[7:], name=assistant.name, sex=assistant.sex,
        id_number=assistant.id_number, birth_date=assistant.birth_date, level="执业医师",
        category="1", year=2016, issued_on=assistant.issued_on, issuer=assistant.issuer))
    old = _reg(world, level="执业助理医师", cert_no="211140100000001", place_region="140105")
    db.session.commit()
    _run(world, "upgrade", {"registration_id": old.id, "practice_scopes": ["11"],
                            "old_certificate": _att(world, "证.pdf"), "declare_true": True})
    db.session.expire_all()
    assert db.session.get(Registration, old.id).status == "CHANGED_OUT"
    new = db.session.scalar(select(Registration).where(Registration.status == "ACTIVE"))
    assert new.level == "执业医师" and new.place_region == "140000" and new.cert_no != old.cert_no
    # issue 11 §3: the account follows the person to the new qualification, so the physician is
    # not locked out: 变更/注销/备案/补办 act on the new registration
    doctor = user(world.doctor_id)
    assert doctor.qualification.level == "执业医师"
    reasons = {pid: why for pid, _name, why in eligibility.available_types(doctor)}
    assert reasons["change"] is None and reasons["cancellation"] is None
    assert reasons["filing"] is None and reasons["reissue"] is None
    assert [r.id for r in eligibility.registrations_in(doctor, ("ACTIVE",))] == [new.id]
    cert_no = new.cert_no
    db.session.commit()  # the physician's next page, in a browser session of their own
    from flask import current_app

    from tests.conftest import WebClient

    web = WebClient(current_app.test_client())
    assert web.login("doctor01").status_code == 302
    page = web.get("/physician/practice").get_data(as_text=True)
    assert cert_no in page and "有效" in page


def test_change_of_main_institution_in_the_same_province(world: World) -> None:
    # DOMAIN [S9]: the new institution confirms a 变更
    reg = _reg(world)
    second, staff2 = _second_hospital(world)
    db.session.commit()
    dept = second.departments[0].id if second.departments else None
    _run(world, "change", {"registration_id": reg.id, "institution_id": second.id,
                           "department_id": dept, "practice_scopes": ["11"], "reason": "工作调动",
                           "employment_proof": _att(world, "聘.pdf"), "declare_true": True},
         target_staff=staff2)
    db.session.expire_all()
    reg = db.session.get(Registration, reg.id)
    assert reg.institution_id == second.id and reg.status == "ACTIVE"


def test_military_in_creates_a_registration(world: World) -> None:
    # DOMAIN [S13]: 军队变更入 on the local qualification
    data = application_payload(world, world.doctor_id, military_unit="某部队医院",
                               placement_proof=_att(world, "安置证明.pdf"))
    _run(world, "military_in", data)
    reg = db.session.scalar(select(Registration))
    assert reg is not None and reg.status == "ACTIVE" and len(reg.cert_no or "") == 15


def test_to_military_changes_out(world: World) -> None:
    reg = _reg(world)
    db.session.commit()
    _run(world, "to_military", {"registration_id": reg.id, "military_unit": "某部队医院",
                                "effective_date": today_cst().isoformat(),
                                "transfer_order": _att(world, "调令.pdf"), "declare_true": True})
    db.session.expire_all()
    assert db.session.get(Registration, reg.id).status == "CHANGED_OUT"


def test_filing_cancel_closes_the_filing(world: World) -> None:
    reg = _reg(world)
    second, _staff2 = _second_hospital(world)
    filing = MultiFiling(registration_id=reg.id, institution_id=second.id, scopes=["11"],
                         valid_from=today_cst(), valid_to=today_cst() + timedelta(days=300),
                         authority_id=world.authority_id, filed_on=today_cst())
    db.session.add(filing)
    db.session.commit()
    end = today_cst() + timedelta(days=10)
    _run(world, "filing_cancel", {"filing_id": filing.id, "end_date": end.isoformat(),
                                  "reason": "协议到期", "declare_true": True})
    db.session.expire_all()
    filing = db.session.get(MultiFiling, filing.id)
    assert filing.status == "CANCELLED" and filing.valid_to == end


def test_legacy_site_is_removed(world: World) -> None:
    reg = _reg(world, legacy_sites=["太原市第二人民医院", "太原市第三人民医院"])
    db.session.commit()
    _run(world, "legacy_cancel", {"registration_id": reg.id, "site": "太原市第二人民医院",
                                  "reason": "不再在该地点执业", "declare_true": True})
    db.session.expire_all()
    assert db.session.get(Registration, reg.id).legacy_sites == ["太原市第三人民医院"]


def test_reissue_keeps_the_number_and_is_marked(world: World) -> None:
    # 医师执业注册管理办法 第十六条: 补办 by the issuing authority, same number, marked 补发
    reg = _reg(world)
    db.session.commit()
    _run(world, "reissue", {"registration_id": reg.id, "cause": "lost",
                            "loss_notice": _att(world, "遗失声明.pdf"), "declare_true": True})
    db.session.expire_all()
    reg = db.session.get(Registration, reg.id)
    assert reg.cert_no == "110140100000888" and reg.reissued_on == today_cst()
    assert reg.reissue_count == 1 and reg.status == "ACTIVE"


REFUSALS = {
    "reissue": "您当前没有有效的执业注册，不能申请证书补办",
    "upgrade": "您当前没有有效的执业助理医师执业注册，不能申请升级",
    "to_military": "您当前没有有效的执业注册，不能申请变更到军队",
    "change": "您当前没有有效的执业注册，不能申请变更",
    "cancellation": "您当前没有可以注销的执业注册（有效、暂停执业或备案状态）",
    "filing": "您当前没有有效的执业注册，不能申请多执业机构备案",
    "filing_cancel": "您当前没有有效的多执业机构备案，不能申请取消备案",
    "legacy_cancel": "您的执业注册中没有“多地点执业”记录，无需申请取消",
}


@pytest.mark.parametrize("pid", sorted(REFUSALS))
def test_each_type_explains_why_it_cannot_be_applied_for(world: World, pid: str) -> None:
    doctor = user(world.doctor_id)  # qualification only: no registration yet
    assert eligibility.refusal(doctor, pid) == REFUSALS[pid]
    with pytest.raises(DomainError, match=REFUSALS[pid][:6]):
        processes.start_application(doctor, pid, {})


@pytest.mark.parametrize("pid", ["registration", "military_in"])
def test_one_open_application_per_type(world: World, pid: str) -> None:
    data = application_payload(world, world.doctor_id)
    if pid == "military_in":
        data.update(military_unit="某部队医院", placement_proof=_att(world, "安置证明.pdf"))
    processes.start_application(user(world.doctor_id), pid, data)
    assert "正在办理的同类申请" in (eligibility.refusal(user(world.doctor_id), pid) or "")
