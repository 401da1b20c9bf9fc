"""Idempotent forms (issue 11 §2): every form that changes state carries a token made for
that rendering; the same token submitted again (double-click, reload, retry after a timeout)
leads to the first result instead of doing it again or refusing it."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func
from sqlalchemy import select

from app.errors import Conflict
from app.errors import DomainError
from app.extensions import db
from app.models import AuditEvent
from app.models import HumanTask
from app.models import ProcessInstance
from app.models import SubmissionToken
from app.models.base import utcnow
from app.services.engine import processes
from app.services.platform import idempotency
from tests.factories import World
from tests.factories import application_payload
from tests.factories import user


def _count(model: type, *where: object) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_twenty_threads_with_one_token_make_one_application(app: Flask, world: World) -> None:
    # issue 11 §2: one submission is one application, however often it arrives
    payloads = [application_payload(world, world.doctor_id) for _ in range(20)]
    token = idempotency.new_token()
    db.session.remove()
    results: list[object] = []
    start = threading.Barrier(20)

    def submit(payload: dict[str, object]) -> None:
        with app.app_context():
            start.wait()
            try:
                results.append(processes.start_application(
                    user(world.doctor_id), "registration", payload, token=token).instance_id)
            except DomainError as exc:
                results.append(exc.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 20 and len(set(results)) == 1, results  # all point to the first
    iid = results[0]
    assert isinstance(iid, int)
    assert _count(ProcessInstance) == 1
    assert _count(AuditEvent, AuditEvent.action == "application.submit") == 1
    assert _count(HumanTask, HumanTask.status == "open") == 1  # one 医疗机构确认 in the inbox
    row = db.session.scalar(select(SubmissionToken))
    assert row is not None and (row.token, row.user_id, row.result_id) == (
        token, world.doctor_id, iid)


def test_a_decision_submitted_twice_counts_once(world: World) -> None:
    iid = processes.start_application(user(world.doctor_id), "registration",
                                      application_payload(world, world.doctor_id)).instance_id
    task = db.session.scalar(select(HumanTask).where(HumanTask.status == "open"))
    assert task is not None
    token = idempotency.new_token()
    first = processes.complete_task(user(world.staff_id), task.id,
                                    {"decision": "confirm", "paper_held": True}, token=token)
    again = processes.complete_task(user(world.staff_id), task.id,
                                    {"decision": "confirm", "paper_held": True}, token=token)
    assert first == again == iid  # the retry lands on the same application, not on an error
    assert _count(AuditEvent, AuditEvent.action == "task.institution_confirm") == 1
    inst = db.session.get(ProcessInstance, iid)
    assert inst is not None and inst.business_status == "待卫健委受理"
    with pytest.raises(Conflict, match="该任务已被处理"):  # a new form (new token) is refused
        processes.complete_task(user(world.staff_id), task.id, {"decision": "confirm", "paper_held": True},
                                token=idempotency.new_token())


def test_a_withdrawal_submitted_twice_is_not_refused(world: World) -> None:
    iid = processes.start_application(user(world.doctor_id), "registration",
                                      application_payload(world, world.doctor_id)).instance_id
    token = idempotency.new_token()
    processes.withdraw(user(world.doctor_id), iid, token=token)
    processes.withdraw(user(world.doctor_id), iid, token=token)  # reload: no error, no second
    assert _count(AuditEvent, AuditEvent.action == "application.withdraw") == 1
    inst = db.session.get(ProcessInstance, iid)
    assert inst is not None and inst.completed_at is not None


def test_another_persons_token_is_refused(world: World) -> None:
    token = idempotency.new_token()
    processes.start_application(user(world.doctor_id), "registration",
                                application_payload(world, world.doctor_id), token=token)
    with pytest.raises(Conflict, match="请刷新页面后重新提交"):
        processes.withdraw(user(world.doctor2_id), 1, token=token)


def test_a_refused_form_keeps_its_token_free(world: World) -> None:
    token = idempotency.new_token()
    with pytest.raises(DomainError):
        processes.start_application(user(world.doctor_id), "registration",
                                    application_payload(world, world.doctor_id,
                                                        contact_mobile="12345"), token=token)
    assert _count(SubmissionToken) == 0  # rolled back with the refused submission
    iid = processes.start_application(user(world.doctor_id), "registration",
                                      application_payload(world, world.doctor_id),
                                      token=token).instance_id
    assert _count(ProcessInstance) == 1 and iid == db.session.scalar(select(ProcessInstance.id))


def test_old_tokens_are_pruned_by_the_sweep(world: World) -> None:
    token = idempotency.new_token()
    processes.start_application(user(world.doctor_id), "registration",
                                application_payload(world, world.doctor_id), token=token)
    assert idempotency.prune(utcnow()) == 0
    assert idempotency.prune(utcnow() + idempotency.KEEP_FOR + timedelta(minutes=1)) == 1
    assert _count(SubmissionToken) == 0


def test_the_hourly_sweep_forgets_old_tokens(app: Flask, world: World) -> None:
    from app.services.platform import scheduler

    old = SubmissionToken(token=idempotency.new_token(), user_id=world.doctor_id,
                          action="application.submit", result_id=1,
                          created_at=utcnow() - idempotency.KEEP_FOR - timedelta(hours=1))
    fresh = SubmissionToken(token=idempotency.new_token(), user_id=world.doctor_id,
                            action="application.submit", result_id=2, created_at=utcnow())
    db.session.add_all([old, fresh])
    db.session.commit()
    db.session.remove()
    saved = list(scheduler._last_rules)
    scheduler._last_rules.clear()  # the day rules (and the token prune) run on this sweep
    try:
        scheduler.sweep(app)
    finally:
        scheduler._last_rules[:] = saved
    assert [t.result_id for t in db.session.scalars(select(SubmissionToken))] == [2]


def test_a_comment_sent_twice_is_saved_once(world: World) -> None:
    # issue 11 §2: a double-click on 保存备注 leaves one 备注
    from app.models import TaskComment
    from app.services.inbox import comments

    iid = processes.start_application(user(world.doctor_id), "registration",
                                      application_payload(world, world.doctor_id)).instance_id
    token = idempotency.new_token()
    first = comments.add(user(world.staff_id), iid, "聘用合同原件已核对", token=token)
    again = comments.add(user(world.staff_id), iid, "聘用合同原件已核对", token=token)
    assert first.id == again.id
    assert [c.body for c in comments.for_instance(user(world.staff_id), iid)] == ["聘用合同原件已核对"]
    assert _count(TaskComment) == 1


def test_a_bulk_confirmation_sent_twice_reports_the_same(world: World) -> None:
    # issue 11 §2: 批量确认 pressed twice confirms each application once, and says so twice
    from app.services.inbox import bulk

    iid = processes.start_application(user(world.doctor_id), "registration",
                                      application_payload(world, world.doctor_id)).instance_id
    iid2 = processes.start_application(user(world.doctor2_id), "registration",
                                       application_payload(world, world.doctor2_id)).instance_id
    ids = list(db.session.scalars(select(HumanTask.id).where(HumanTask.status == "open")
                                  .order_by(HumanTask.id)))
    token = idempotency.new_token()
    first = bulk.confirm(user(world.staff_id), ids, paper_held=True, token=token)
    again = bulk.confirm(user(world.staff_id), ids, paper_held=True, token=token)
    assert first == again and first.confirmed == [iid, iid2] and first.refused == []
    assert _count(AuditEvent, AuditEvent.action == "task.institution_confirm") == 2
