"""注册 through the service layer on a real database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.errors import Conflict
from app.errors import DomainError
from app.errors import Forbidden
from app.errors import InvalidInput
from app.extensions import db
from app.models import HumanTask
from app.models import OutboxMessage
from app.models import ProcessInstance
from app.models import Registration
from app.services.engine import processes
from app.services.inbox import tasks
from app.services.platform import audit
from tests.factories import CONFIRMED
from tests.factories import World
from tests.factories import application_payload
from tests.factories import user


def _open_task(instance_id: int) -> HumanTask:
    t = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                  HumanTask.status == "open"))
    assert t is not None
    return t


def _submit(world: World) -> int:
    doctor = user(world.doctor_id)
    return processes.start_application(doctor, "registration",
                                       application_payload(world, doctor.id)).instance_id


def test_registration_happy_path_creates_active_registration(world: World) -> None:
    # 行政许可法 第四十四条: the certificate is issued with the decision
    iid = _submit(world)
    inst = db.session.get(ProcessInstance, iid)
    assert inst.business_status == "待机构确认"
    task = _open_task(iid)
    assert (task.scope_kind, task.scope_id) == ("institution", world.hospital_id)

    processes.complete_task(user(world.staff_id), task.id, CONFIRMED)
    task = _open_task(iid)
    assert task.task_spec_id == "commission_accept"
    assert (task.scope_kind, task.scope_id) == ("authority", world.authority_id)
    assert task.due_at is not None
    processes.complete_task(user(world.officer_id), task.id, {"decision": "accept"})
    task = _open_task(iid)
    processes.complete_task(user(world.officer_id), task.id, {"decision": "approve"})

    db.session.expire_all()
    inst = db.session.get(ProcessInstance, iid)
    assert inst.business_status == "已批准" and inst.completed_at is not None
    reg = db.session.scalar(select(Registration).where(Registration.id == inst.registration_id))
    assert reg.status == "ACTIVE" and reg.cert_no and len(reg.cert_no) == 15
    assert reg.cert_no.isdigit()
    assert reg.institution_id == world.hospital_id
    to = {m.recipient_user_id for m in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.subject.like("%已批准%")))}
    assert {world.doctor_id, world.staff_id} <= to
    assert audit.verify() == []


def test_refusal_leaves_records_unchanged_and_keeps_reasons(world: World) -> None:
    # 医师法 第十六条; 行政许可法 第三十八条: a refusal gives its reasons and the right to appeal
    iid = _submit(world)
    processes.complete_task(user(world.staff_id), _open_task(iid).id, CONFIRMED)
    processes.complete_task(user(world.officer_id), _open_task(iid).id, {"decision": "accept"})
    with pytest.raises(InvalidInput) as err:
        processes.complete_task(user(world.officer_id), _open_task(iid).id,
                                {"decision": "refuse"})
    assert "note" in err.value.errors
    processes.complete_task(user(world.officer_id), _open_task(iid).id,
                            {"decision": "refuse", "note": "聘用证明与拟执业机构不符"})
    assert db.session.scalar(select(Registration.id)) is None
    inst = db.session.get(ProcessInstance, iid)
    assert inst.business_status == "已不予批准"
    body = db.session.scalar(select(OutboxMessage.body).where(
        OutboxMessage.recipient_user_id == world.doctor_id,
        OutboxMessage.subject.like("%不予批准%")))
    assert "聘用证明与拟执业机构不符" in body and "行政复议" in body


def test_second_completion_is_told_already_handled(world: World) -> None:
    iid = _submit(world)
    task_id = _open_task(iid).id
    processes.complete_task(user(world.staff_id), task_id, CONFIRMED)
    with pytest.raises(Conflict, match="该任务已被处理"):
        processes.complete_task(user(world.staff_id), task_id, {"decision": "refuse",
                                                                 "note": "再次提交"})


def test_other_institution_may_not_complete(world: World) -> None:
    # 医师执业注册管理办法 第九条: the registration authority is the commission of the institution
    iid = _submit(world)
    with pytest.raises(Forbidden):
        processes.complete_task(user(world.other_staff_id), _open_task(iid).id,
                                CONFIRMED)
    assert tasks.inbox(user(world.other_staff_id)) == []
    assert [r.instance_id for r in tasks.inbox(user(world.staff_id))] == [iid]


def test_withdraw_until_institution_confirms(world: World) -> None:
    iid = _submit(world)
    processes.withdraw(user(world.doctor_id), iid)
    inst = db.session.get(ProcessInstance, iid)
    assert inst.business_status == "已撤回"
    assert db.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid,
                                                     HumanTask.status == "open")) is None
    iid2 = _submit(world)
    processes.complete_task(user(world.staff_id), _open_task(iid2).id, CONFIRMED)
    with pytest.raises(Conflict, match="不能再撤回"):
        processes.withdraw(user(world.doctor_id), iid2)


def test_one_open_application_at_a_time(world: World) -> None:
    _submit(world)
    with pytest.raises(DomainError, match="正在办理"):
        _submit(world)


def test_invalid_application_stores_nothing(world: World) -> None:
    doctor = user(world.doctor_id)
    data = application_payload(world, doctor.id, contact_mobile="12345", declare_health=False)
    del data["employment_proof"]
    with pytest.raises(InvalidInput) as err:
        processes.start_application(doctor, "registration", data)
    assert err.value.errors == {"contact_mobile": "请输入11位有效的手机号码",
                                "declare_health": "请阅读并勾选此项",
                                "employment_proof": "请上传聘用证明"}
    assert db.session.scalar(select(ProcessInstance.id)) is None


def test_failure_in_the_middle_of_a_step_leaves_nothing_half_written(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    from app.services.applications import operations
    iid = _submit(world)
    processes.complete_task(user(world.staff_id), _open_task(iid).id, CONFIRMED)
    processes.complete_task(user(world.officer_id), _open_task(iid).id, {"decision": "accept"})
    real = operations._REGISTRY["apply_registration"]

    def broken(ctx, data):  # type: ignore[no-untyped-def]
        real(ctx, data)  # the registration row is flushed ...
        raise OperationalError("INSERT ...", {}, Exception("disk I/O error"))  # ... then it fails

    monkeypatch.setitem(operations._REGISTRY, "apply_registration", broken)
    task_id = _open_task(iid).id
    with pytest.raises(DomainError) as err:
        processes.complete_task(user(world.officer_id), task_id, {"decision": "approve"})
    assert "申请未作任何更改" in err.value.message and "INSERT" not in err.value.message
    db.session.expire_all()
    assert db.session.scalar(select(Registration.id)) is None
    inst = db.session.get(ProcessInstance, iid)
    assert inst.business_status == "审查中" and inst.completed_at is None
    assert _open_task(iid).id == task_id
    monkeypatch.setitem(operations._REGISTRY, "apply_registration", real)
    processes.complete_task(user(world.officer_id), task_id, {"decision": "approve"})
    assert db.session.scalar(select(Registration.status)) == "ACTIVE"
