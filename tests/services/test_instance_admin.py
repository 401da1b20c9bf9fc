"""Instance administration: suspend stops tasks and timers, resume lets them run, terminate
ends an application with a reason, retry runs a failed timer step again."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from app.errors import Conflict
from app.errors import InvalidInput
from app.extensions import db
from app.models import AuditEvent
from app.models import OutboxMessage
from app.services.applications import operations
from app.services.backoffice import instances
from app.services.engine import processes
from tests.factories import World
from tests.factories import user
from tests.services.test_timers import REMINDER
from tests.services.test_timers import _clock
from tests.services.test_timers import _instance
from tests.services.test_timers import _messages
from tests.services.test_timers import _open_task
from tests.services.test_timers import _open_tasks
from tests.services.test_timers import _waiting_on_accept


def _admin(world: World) -> Any:
    return user(world.admin_id)


def test_suspended_applications_take_no_steps_until_resumed(world: World) -> None:
    iid = _waiting_on_accept(world)
    with pytest.raises(InvalidInput, match="请填写原因"):
        processes.set_suspended(_admin(world), iid, True, " ")
    processes.set_suspended(_admin(world), iid, True, "核查材料真实性")
    task = _open_task(iid)
    with pytest.raises(Conflict, match="暂停办理"):
        processes.complete_task(user(world.officer_id), task.id, {"decision": "accept"})
    remind_at = datetime.fromisoformat(_clock(iid)["remind_at"])
    with time_machine.travel(remind_at + timedelta(minutes=5), tick=False):
        assert iid not in processes.due_instance_ids(remind_at + timedelta(minutes=5))
        assert processes.fire_timers(iid) is False
        assert _messages(REMINDER, iid) == []
        processes.set_suspended(_admin(world), iid, False)
        assert iid in processes.due_instance_ids(remind_at + timedelta(minutes=5))
        assert processes.fire_timers(iid) is True  # the reminder that came due meanwhile
    assert len(_messages(REMINDER, iid)) == 1
    processes.complete_task(user(world.officer_id), _open_task(iid).id, {"decision": "accept"})
    actions = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_id == str(iid), AuditEvent.action.like("instance.%")))
    assert list(actions) == ["instance.suspended", "instance.resumed"]


def test_terminate_ends_the_application_and_says_why(world: World) -> None:
    iid = _waiting_on_accept(world)
    processes.terminate(_admin(world), iid, "申请人已死亡，依职权注销另行办理")
    inst = _instance(iid)
    assert inst.completed_at is not None and inst.outcome == "terminated"
    assert inst.business_status == "已终止" and inst.next_timer_at is None
    assert _open_tasks(iid) == []
    notice = db.session.scalar(select(OutboxMessage).where(
        OutboxMessage.recipient_user_id == world.doctor_id, OutboxMessage.subject.like("%已终止%")))
    assert notice is not None and "申请人已死亡" in notice.body
    with pytest.raises(Conflict, match="已办结"):
        processes.terminate(_admin(world), iid, "再次")


def test_retry_runs_a_failed_timer_step_again(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    iid = _waiting_on_accept(world)
    remind_at = datetime.fromisoformat(_clock(iid)["remind_at"])
    real = operations._REGISTRY["statutory_reminder"]

    def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("消息服务暂不可用")

    with time_machine.travel(remind_at + timedelta(minutes=5), tick=False):
        monkeypatch.setitem(operations._REGISTRY, "statutory_reminder", unavailable)
        assert processes.fire_timers(iid) is False
        inst = _instance(iid)
        assert inst.error and inst.next_timer_at is None  # the sweeper stops retrying it
        assert [r.state for r in instances.search(state="failed").rows] == ["步骤失败"]
        with pytest.raises(Exception, match="办理失败"):
            processes.retry(_admin(world), iid)  # still failing: nothing changes
        assert _instance(iid).error
        monkeypatch.setitem(operations._REGISTRY, "statutory_reminder", real)
        processes.retry(_admin(world), iid)
    inst = _instance(iid)
    assert inst.error is None and inst.next_timer_at is not None
    assert len(_messages(REMINDER, iid)) == 1
    with pytest.raises(Conflict, match="没有失败的步骤"):
        processes.retry(_admin(world), iid)


def test_search_filters_by_type_state_and_name(world: World) -> None:
    running = _waiting_on_accept(world)
    doctor2 = user(world.doctor2_id)
    from tests.factories import application_payload

    other = processes.start_application(doctor2, "registration",
                                        application_payload(world, doctor2.id)).instance_id
    processes.set_suspended(_admin(world), other, True, "核查")
    assert [r.id for r in instances.search(state="running").rows] == [running]
    assert [r.id for r in instances.search(state="suspended").rows] == [other]
    assert [r.id for r in instances.search(q="李明华").rows] == [other]
    assert [r.id for r in instances.search(q=str(running)).rows] == [running]
    assert instances.search(process_id="cancellation").rows == []
    page = instances.search(process_id="registration")
    assert [r.id for r in page.rows] == [other, running] and page.next_before is None
