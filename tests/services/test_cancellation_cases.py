"""注销 started by the institution (报告注销) and by the commission ex officio."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.errors import Forbidden
from app.errors import InvalidInput
from app.extensions import db
from app.models import HumanTask
from app.models import ProcessInstance
from app.models import Registration
from app.services.engine import processes
from app.services.engine.clock import today_cst
from app.services.inbox import tasks
from tests.factories import World
from tests.factories import make_qualification
from tests.factories import user


def _registration(world: World, with_account: bool = False) -> Registration:
    qual = user(world.doctor_id).qualification if with_account else make_qualification("周八", 40)
    reg = Registration(qualification_id=qual.id, level="执业医师", category="1", scopes=["11"],
                       place_region="140000", institution_id=world.hospital_id,
                       authority_id=world.authority_id, status="ACTIVE", cert_no="110140100004444")
    db.session.add(reg)
    db.session.commit()
    return reg


def _report(reg_id: int) -> dict[str, object]:
    return {"registration_id": reg_id, "reason": "death", "event_date": today_cst().isoformat()}


def _open(iid: int) -> HumanTask:
    task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid,
                                                     HumanTask.status == "open"))
    assert task is not None
    return task


def test_institution_reports_a_physician_without_an_account(world: World) -> None:
    # 医师法 第十七条; 医师执业注册管理办法 第十八条: the institution reports a 注销 ground
    reg = _registration(world)
    iid = processes.start_case(user(world.staff_id), "cancellation_report",
                               _report(reg.id)).instance_id
    inst = db.session.get(ProcessInstance, iid)
    assert inst.subject_user_id is None and inst.business_status == "待卫健委受理"
    rows = tasks.inbox(user(world.officer_id))
    assert [r.physician_name for r in rows] == ["周八"]
    processes.complete_task(user(world.officer_id), _open(iid).id, {"decision": "accept"})
    processes.complete_task(user(world.officer_id), _open(iid).id, {"decision": "approve"})
    db.session.expire_all()
    assert db.session.get(Registration, reg.id).status == "CANCELLED"


def test_commission_cancels_ex_officio_and_the_physician_is_told(world: World) -> None:
    reg = _registration(world, with_account=True)
    iid = processes.start_case(user(world.officer_id), "cancellation_ex_officio",
                               _report(reg.id)).instance_id
    assert db.session.get(ProcessInstance, iid).subject_user_id == world.doctor_id
    processes.complete_task(user(world.officer_id), _open(iid).id, {"decision": "approve"})
    db.session.expire_all()
    assert db.session.get(Registration, reg.id).status == "CANCELLED"
    mine = tasks.my_applications(user(world.doctor_id))
    assert [i.id for i in mine] == [iid]


def test_scope_and_roles(world: World) -> None:
    reg = _registration(world)
    with pytest.raises(InvalidInput) as err:
        processes.start_case(user(world.other_staff_id), "cancellation_report", _report(reg.id))
    assert "本机构" in err.value.errors["registration_id"]
    with pytest.raises(Forbidden):
        processes.start_case(user(world.staff_id), "cancellation_ex_officio", _report(reg.id))
    processes.start_case(user(world.staff_id), "cancellation_report", _report(reg.id))
    with pytest.raises(InvalidInput) as err:
        processes.start_case(user(world.officer_id), "cancellation_ex_officio", _report(reg.id))
    assert err.value.errors["registration_id"] == "该执业注册已有正在办理的注销"


def test_two_years_in_filing_raise_a_case_for_the_commission(world: World) -> None:
    from datetime import timedelta

    from app.services.engine import rules
    reg = _registration(world)
    today = today_cst()
    reg.status = "FILED"
    reg.status_changed_on = rules.two_years_before(today) + timedelta(days=1)
    db.session.commit()
    assert rules.raise_long_filed(today) == 0  # one day short of two years
    assert rules.raise_long_filed(today + timedelta(days=1)) == 1
    assert rules.raise_long_filed(today + timedelta(days=2)) == 0  # already under way
    rows = tasks.inbox(user(world.officer_id))
    assert [(r.business_type, r.title) for r in rows] == [("依职权注销", "审查决定")]
    inst = db.session.get(ProcessInstance, rows[0].instance_id)
    assert inst.application["reason"] == "filed_two_years"
    processes.complete_task(user(world.officer_id), rows[0].task_id, {"decision": "approve"})
    db.session.expire_all()
    reg = db.session.get(Registration, reg.id)
    assert reg.status == "CANCELLED" and reg.status_changed_on == today


def test_assessment_due_reminder_once_per_cycle(world: World) -> None:
    from datetime import date

    from app.models import Assessment
    from app.models import OutboxMessage
    from app.services.engine import rules
    _registration(world, with_account=True)
    assert rules.assessment_cycle(date(2026, 11, 25)) == (2025, 2027)
    assert rules.remind_assessments(date(2027, 3, 1)) == 0  # more than 180 days left
    assert rules.remind_assessments(date(2027, 8, 1)) == 1
    assert rules.remind_assessments(date(2027, 9, 1)) == 0  # once per cycle
    body = db.session.scalar(select(OutboxMessage.body).where(
        OutboxMessage.subject == "定期考核提醒"))
    assert "2025-2027" in body
    db.session.add(Assessment(qualification_id=user(world.doctor_id).qualification_id,
                              cycle="2028-2030", body="太原市卫生健康委员会", result="合格"))
    db.session.commit()
    assert rules.remind_assessments(date(2030, 9, 1)) == 0  # assessed in that cycle
