"""One way to start a business (issue 11 §1): who may start a type and how its first step is
recorded come from its BusinessType (types/*.py: starters, kind)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.errors import DomainError
from app.errors import Forbidden
from app.extensions import db
from app.models import HumanTask
from app.models import ProcessInstance
from app.models import Registration
from app.services.applications import types
from app.services.engine import processes
from app.services.engine.clock import today_cst
from tests.factories import World
from tests.factories import application_payload
from tests.factories import user


def _registration(world: World, cert_no: str = "110140100005555") -> Registration:
    reg = Registration(qualification_id=user(world.doctor_id).qualification_id, level="执业医师",
                       category="1", scopes=["11"], place_region="140000",
                       institution_id=world.hospital_id, authority_id=world.authority_id,
                       status="ACTIVE", cert_no=cert_no)
    db.session.add(reg)
    db.session.commit()
    return reg


def test_only_the_starters_of_a_type_may_start_it(world: World) -> None:
    # 医师执业注册管理办法 第十九条: the institution reports a 注销, the physician applies for one
    reg = _registration(world)
    report = {"registration_id": reg.id, "reason": "death", "event_date": today_cst().isoformat()}
    assert types.get("registration").starters == ("physician",)  # type: ignore[union-attr]
    with pytest.raises(Forbidden, match="只有医师可以提交业务申请"):
        processes.start(user(world.staff_id), "registration",
                        application_payload(world, world.doctor_id))
    with pytest.raises(Forbidden, match="您无权发起此项业务"):  # the commission's type
        processes.start(user(world.staff_id), "cancellation_ex_officio", report)
    with pytest.raises(DomainError, match="不支持的业务类型"):  # a physician cannot report
        processes.start(user(world.doctor_id), "cancellation_report", report)
    assert db.session.scalar(select(ProcessInstance.id)) is None  # nothing started


def test_the_first_step_shows_who_started(world: World) -> None:
    reg = _registration(world)
    report = {"registration_id": reg.id, "reason": "death", "event_date": today_cst().isoformat()}
    case = processes.start(user(world.staff_id), "cancellation_report", report).instance_id
    other = _registration(world, "110140100006666")
    by_rule = processes.start(None, "cancellation_ex_officio",  # a scheduled rule
                              {**report, "registration_id": other.id})
    assert by_rule.instance_id != case
    submits = {t.instance_id: (t.lane, t.title, t.scope_kind, t.scope_id) for t in db.session.scalars(
        select(HumanTask).where(HumanTask.task_spec_id == "submit"))}
    assert submits[case] == ("institution", "报告注销", "institution", world.hospital_id)
    assert submits[by_rule.instance_id] == ("commission", "依职权注销", "authority",
                                            world.authority_id)
    inst = db.session.get(ProcessInstance, case)
    assert inst is not None and inst.subject_user_id == world.doctor_id  # the owner's account
    assert inst.open_key is None  # cases do not hold the physician's one open application
