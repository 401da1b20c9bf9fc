"""Many people complete the same task at the same moment: exactly one of them wins.

Each thread opens its own app context (its own session and connection), waits on
a barrier so all of them really start together, then calls the service layer.
Runs on SQLite (serial ``BEGIN IMMEDIATE`` writers) and on PostgreSQL (row locks).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import func
from sqlalchemy import select

from app.errors import Conflict
from app.extensions import db
from app.models import AuditEvent
from app.models import HumanTask
from app.models import ProcessInstance
from app.models import Registration
from app.services.backoffice import definitions
from app.services.engine import processes
from app.services.platform import audit
from app.workflow import Runtime
from tests.factories import CONFIRMED
from tests.factories import World
from tests.factories import application_payload
from tests.factories import user

THREADS = 20
ALREADY_HANDLED = "该任务已被处理"


@dataclass
class Outcome:
    index: int
    submission: dict[str, Any]
    result: int | None = None
    error: BaseException | None = None


def _open_task(instance_id: int) -> HumanTask:
    t = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                  HumanTask.status == "open"))
    assert t is not None
    return t


def _submit_and_confirm(world: World) -> int:
    doctor = user(world.doctor_id)
    iid = processes.start_application(doctor, "registration",
                                      application_payload(world, doctor.id)).instance_id
    processes.complete_task(user(world.staff_id), _open_task(iid).id, CONFIRMED)
    return iid


def _race(app: Flask, actor_id: int, task_id: int,
          submission_of: Callable[[int], dict[str, Any]]) -> list[Outcome]:
    """Complete ``task_id`` from THREADS threads at once; every outcome is returned."""
    barrier = threading.Barrier(THREADS)
    outcomes = [Outcome(i, submission_of(i)) for i in range(THREADS)]

    def work(out: Outcome) -> None:
        with app.app_context():
            try:
                # Nothing touches the database before the barrier: on SQLite the first
                # query would take the write lock and the others could never get here.
                barrier.wait(timeout=30)
                actor = user(actor_id)
                out.result = processes.complete_task(actor, task_id, out.submission)
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                out.error = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(o,), name=f"race-{o.index}")
               for o in outcomes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a completing thread hung"
    return outcomes


def _check_one_winner(outcomes: list[Outcome], instance_id: int) -> Outcome:
    winners = [o for o in outcomes if o.error is None]
    unexpected = [(o.index, repr(o.error)) for o in outcomes
                  if o.error is not None and not (isinstance(o.error, Conflict)
                                                  and str(o.error) == ALREADY_HANDLED)]
    assert unexpected == [], f"only '{ALREADY_HANDLED}' may be refused: {unexpected}"
    assert len(winners) == 1, f"{len(winners)} threads completed the task"
    assert winners[0].result == instance_id
    return winners[0]


def _workflow_completed(inst: ProcessInstance) -> bool:
    row = db.session.get(definitions.ProcessDefinition, inst.definition_id)
    assert row is not None
    return Runtime.restore(definitions.definition_of(row), inst.workflow_json).completed


def test_twenty_officers_approve_at_once_one_registration(app: Flask, world: World) -> None:
    iid = _submit_and_confirm(world)
    processes.complete_task(user(world.officer_id), _open_task(iid).id, {"decision": "accept"})
    task = _open_task(iid)
    assert task.task_spec_id == "commission_decide"
    task_id = task.id
    db.session.remove()

    outcomes = _race(app, world.officer_id, task_id, lambda i: {"decision": "approve"})
    _check_one_winner(outcomes, iid)

    db.session.expire_all()
    inst = db.session.get(ProcessInstance, iid)
    assert inst is not None
    assert inst.business_status == "已批准"
    assert inst.outcome == "approved" and inst.completed_at is not None
    assert inst.next_timer_at is None
    regs = list(db.session.scalars(select(Registration)))
    assert len(regs) == 1
    assert regs[0].id == inst.registration_id and regs[0].process_instance_id == iid
    assert regs[0].status == "ACTIVE"
    tasks = list(db.session.scalars(select(HumanTask).where(HumanTask.instance_id == iid)))
    assert [t for t in tasks if t.status == "open"] == []
    decided = [t for t in tasks if t.task_spec_id == "commission_decide"]
    assert [(t.id, t.status) for t in decided] == [(task_id, "completed")]
    assert decided[0].data == {"decision": "approve"}
    assert _workflow_completed(inst)
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 1
    assert audit.verify() == []


def test_twenty_staff_confirm_or_return_at_once_state_follows_winner(app: Flask,
                                                                      world: World) -> None:
    doctor = user(world.doctor_id)
    iid = processes.start_application(doctor, "registration",
                                      application_payload(world, doctor.id)).instance_id
    task = _open_task(iid)
    assert task.task_spec_id == "institution_confirm"
    task_id = task.id
    db.session.remove()

    def submission(i: int) -> dict[str, Any]:
        if i % 2 == 0:
            return dict(CONFIRMED)
        return {"decision": "return", "note": f"请补充聘用证明（{i}）", "fields": ["employment_proof"]}

    outcomes = _race(app, world.staff_id, task_id, submission)
    winner = _check_one_winner(outcomes, iid)

    db.session.expire_all()
    inst = db.session.get(ProcessInstance, iid)
    assert inst is not None
    tasks = list(db.session.scalars(select(HumanTask).where(HumanTask.instance_id == iid)
                                    .order_by(HumanTask.id)))
    confirm = [t for t in tasks if t.task_spec_id == "institution_confirm"]
    assert [(t.id, t.status) for t in confirm] == [(task_id, "completed")]
    assert confirm[0].data == winner.submission
    open_tasks = [t for t in tasks if t.status == "open"]
    assert len(open_tasks) == 1
    if winner.submission["decision"] == "confirm":
        assert inst.business_status == "待卫健委受理"
        assert open_tasks[0].task_spec_id == "commission_accept"
        assert (open_tasks[0].scope_kind, open_tasks[0].scope_id) == ("authority",
                                                                      world.authority_id)
        assert inst.due_on is not None and inst.next_timer_at is not None
    else:
        assert inst.business_status == "已退回补正"
        assert open_tasks[0].task_spec_id == "physician_apply"
        assert (open_tasks[0].scope_kind, open_tasks[0].scope_id) == ("user", world.doctor_id)
        assert inst.due_on is None and inst.next_timer_at is None
    assert inst.completed_at is None and not _workflow_completed(inst)
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0
    actions = [e for e in _audit_actions() if e == "task.institution_confirm"]
    assert len(actions) == 1
    assert audit.verify() == []


def _audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
