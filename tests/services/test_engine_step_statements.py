"""One step of a process (the institution confirms a 注册 application) costs few round trips:
counted with an event listener on the engine, statements only (no timings)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.models import AuditEvent
from app.models import HumanTask
from app.models import ProcessInstance
from app.models import ScopeKind
from app.models import TaskStatus
from app.services.backoffice import definitions
from app.services.engine import processes
from app.services.platform import audit
from tests.factories import CONFIRMED
from tests.factories import World
from tests.factories import application_payload
from tests.factories import user


@contextmanager
def _statements() -> Iterator[list[str]]:
    """Every statement sent to the database inside the block (BEGIN and COMMIT included)."""
    seen: list[str] = []

    def on_execute(_conn: Any, _cur: Any, statement: str, *_a: Any) -> None:
        seen.append(" ".join(statement.split()))

    def on_begin(_conn: Any) -> None:
        seen.append("BEGIN")  # sent by the driver (psycopg; on SQLite app.services.platform.database)

    def on_commit(_conn: Any) -> None:
        seen.append("COMMIT")

    engine = db.engine
    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "begin", on_begin)
    event.listen(engine, "commit", on_commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "begin", on_begin)
        event.remove(engine, "commit", on_commit)


def test_completing_a_task_makes_at_most_five_round_trips_on_postgresql(world: World) -> None:
    # issue 14 goal 4 (no statute; a performance rule): BEGIN, the locked read, ONE statement with
    # the read model's writes (UPDATE instance, UPDATE task, INSERT next task, as writable CTEs)
    # and the audit head locked and read, the audit event with the new head, COMMIT. Before: eight
    # (each read-model write and the head lock a statement of their own), nine before that.
    # SQLite has no writable CTE (and no network): its read-model writes stay three statements.
    doctor = user(world.doctor_id)
    iid = processes.start_application(doctor, "registration",
                                      application_payload(world, doctor.id)).instance_id
    task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == iid,
                                                           HumanTask.status == "open"))
    assert task_id is not None
    definitions.version_by_id(db.session.get(ProcessInstance, iid).definition_id)  # warm, as in a worker
    signed_in = user(world.staff_id)
    assert signed_in.username  # the request has the person from the sign-in, before the step
    db.session.expunge(signed_in)
    db.session.commit()
    postgres = db.engine.dialect.name == "postgresql"
    with _statements() as seen:
        staff = db.session.merge(signed_in, load=False)
        processes.complete_task(staff, task_id, CONFIRMED)
    sql = [s for s in seen if s not in ("BEGIN", "BEGIN IMMEDIATE", "COMMIT")]
    assert seen[0].startswith("BEGIN") and seen[-1] == "COMMIT", seen
    if postgres:
        assert len(seen) <= 5, seen
        writes = sql[1]
        assert writes.startswith("WITH ") and "UPDATE process_instance" in writes, seen
        assert "UPDATE human_task" in writes and "INSERT INTO human_task" in writes, seen
        assert "UPDATE audit_head" in writes, seen
    else:
        assert len(sql) <= 1 + 3 + 3, seen
    assert not any("pg_advisory" in s for s in seen), seen
    # ...and the step did what the person sees next: the application waits for the commission,
    # and the audit trail has the confirmation, still a verifiable chain.
    db.session.remove()
    inst = db.session.get(ProcessInstance, iid)
    assert inst is not None
    assert db.session.scalar(select(HumanTask.lane).where(HumanTask.instance_id == iid,
                                                          HumanTask.status == "open")) == "commission"
    last = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    assert last is not None and last.action.startswith("task.") and last.object_id == str(iid)
    assert audit.verify() == []


def test_an_audit_event_costs_two_statements_and_keeps_the_chain(ctx: Flask) -> None:
    # issue 14 goal 4: the head's lock and read are one statement (the row lock serialises
    # appenders; its RETURNING reads the newest committed head, so the chain cannot fork).
    audit.record(None, "registration.change", "registration", 1, {"value": "内科"})
    db.session.commit()
    with _statements() as seen:
        ev = audit.record(None, "registration.change", "registration", 2, {"value": "外科"})
    db.session.commit()
    sql = [s for s in seen if s not in ("BEGIN", "BEGIN IMMEDIATE", "COMMIT")]
    assert len(sql) == (2 if db.engine.dialect.name == "postgresql" else 3), seen
    first = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id).limit(1))
    assert first is not None and ev.prev_hash == first.hash
    assert audit.verify() == []


def test_audit_detail_is_stored_compactly_and_still_verifies(ctx: Flask) -> None:
    # issue 14 goal 2 (audit detail stored compactly): no empty values (the trail
    # page skips them), on SQLite UTF-8 JSON without spaces; the hash is over the canonical form.
    ev = audit.record(None, "registration.change", "registration", 7,
                      {"field": "department", "value": "内科", "note": "", "via": None})
    db.session.commit()
    assert ev.detail == {"field": "department", "value": "内科"}
    raw = db.session.execute(text("SELECT detail FROM audit_event WHERE id = :i"), {"i": ev.id}).scalar_one()
    if db.engine.dialect.name == "sqlite":
        assert raw == '{"field":"department","value":"内科"}'
    else:
        assert raw == {"field": "department", "value": "内科"}
    assert audit.verify() == []


def _waiting_application(world: World) -> tuple[ProcessInstance, HumanTask]:
    doctor = user(world.doctor_id)
    iid = processes.start_application(doctor, "registration",
                                      application_payload(world, doctor.id)).instance_id
    db.session.remove()
    inst = db.session.get(ProcessInstance, iid)
    task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.status == "open"))
    assert inst is not None and task is not None
    return inst, task


def test_writes_sent_with_the_audit_head_leave_the_session_as_the_database(world: World) -> None:
    # issue 14 goal 4: the step's read-model writes travel with the audit head's statement on
    # PostgreSQL; afterwards the ORM objects are what the database holds (the new task has its
    # id, nothing is written twice at the commit), in the same call and in the next request.
    inst, task = _waiting_application(world)
    iid, task_id, version = inst.id, task.id, inst.lock_version
    inst.business_status = "待卫生健康行政部门审核"
    task.status = TaskStatus.CANCELLED
    new = HumanTask(instance_id=inst.id, process_id=inst.process_id, task_guid="t-sync", task_spec_id="x",
                    title="审核", lane="commission", form_id="f", scope_kind=ScopeKind.AUTHORITY, scope_id=1)
    db.session.add(new)
    with _statements() as seen:
        audit.record(None, "task.x", "process_instance", inst.id, pending=(ProcessInstance, HumanTask))
        assert new.id is not None and new.status == TaskStatus.OPEN and new.created_at is not None
        assert not db.session.is_modified(inst) and not db.session.is_modified(task)
        assert inst.lock_version == version + 1
        same_call = db.session.scalar(select(HumanTask.title).where(HumanTask.id == new.id))
        db.session.commit()
    assert same_call == "审核"
    writes = [s for s in seen if s.startswith(("UPDATE process_instance", "UPDATE human_task",
                                               "INSERT INTO human_task"))]
    if db.engine.dialect.name == "postgresql":
        assert writes == [], seen  # all in the head's WITH statement, none again at the commit
    else:
        assert len(writes) == 3, seen  # the unit of work's flush, once
    db.session.remove()
    fresh = db.session.get(ProcessInstance, iid)
    assert fresh is not None and fresh.business_status == "待卫生健康行政部门审核"
    assert fresh.lock_version == version + 1
    assert [(t.title, t.status) for t in fresh.tasks if t.status == TaskStatus.OPEN] == [("审核", TaskStatus.OPEN)]
    assert db.session.get(HumanTask, task_id).status == TaskStatus.CANCELLED  # type: ignore[union-attr]
    assert audit.verify() == []


def test_a_row_changed_meanwhile_refuses_the_writes_sent_with_the_audit_head(world: World) -> None:
    # issue 14 goal 4: the instance's version is checked in the CTE as in the unit of work's
    # UPDATE; a stale row raises StaleDataError (a person sees 该任务已被处理) and nothing is kept.
    inst, _task = _waiting_application(world)
    iid, before = inst.id, inst.business_status
    set_committed_value(inst, "lock_version", inst.lock_version - 1)  # as if read before a change
    inst.business_status = "已办结"
    with pytest.raises(StaleDataError):
        audit.record(None, "task.x", "process_instance", inst.id, pending=(ProcessInstance, HumanTask))
    db.session.rollback()
    db.session.remove()
    assert db.session.get(ProcessInstance, iid).business_status == before  # type: ignore[union-attr]
    assert audit.verify() == []
