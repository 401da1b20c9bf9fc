"""One step of a process (the institution confirms a 注册 application) costs few round trips:
counted with an event listener on the engine, statements only (no timings)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy import select
from sqlalchemy import text

from app.extensions import db
from app.models import AuditEvent
from app.models import HumanTask
from app.models import ProcessInstance
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
        if db.engine.dialect.name != "sqlite":  # SQLite's BEGIN IMMEDIATE is a statement of its own
            seen.append("BEGIN")

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


def test_completing_a_task_makes_at_most_eight_round_trips(world: World) -> None:
    # issue 14 goal 4 (no statute; a performance rule): BEGIN, the locked read, the read model (UPDATE instance,
    # UPDATE task, INSERT next task), the audit head locked and read (one UPDATE … RETURNING),
    # the audit event with the new head (one statement on PostgreSQL), COMMIT. Before: nine on
    # PostgreSQL, with the advisory lock and the head read as two statements of their own.
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
    audit_writes = 1 if postgres else 2  # SQLite has no writable CTE (and no network)
    assert seen[0].startswith("BEGIN") and seen[-1] == "COMMIT", seen
    assert len(sql) <= 1 + 3 + 1 + audit_writes, seen  # with BEGIN and COMMIT: 8 on PostgreSQL
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
