"""How instance rows are stored (issue 14 goal 2, bytes per completed instance): the workflow
state zlib-compressed behind a text interface, the audit hashes as their 32 bytes; the
migration converts rows written before it, both ways, and the chain still verifies."""

from __future__ import annotations

import base64
import json
import os
import zlib
from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import downgrade
from flask_migrate import upgrade
from sqlalchemy import String
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import type_coerce

from app import create_app
from app.extensions import db
from app.models import AuditEvent
from app.models import HumanTask
from app.models import ProcessInstance
from app.models.compact import HexDigest
from app.models.compact import UnknownDictionary
from app.models.compact import ZlibText
from app.services.engine import processes
from app.services.inbox import tasks
from app.services.platform import audit
from tests import conftest
from tests.factories import CONFIRMED
from tests.factories import World
from tests.factories import application_payload
from tests.factories import user

REVISION = "0025s"
SCHEMA = "test_compact_storage"
OPEN_STATE = json.dumps({"tasks": {f"t{i}": {"state": 16, "data": {"姓名": "张三"}} for i in range(60)},
                         "completed": False}, ensure_ascii=False)
APPLICATION = {"contact_mobile": "15175070658", "practice_scopes": ["11"], "declare_health": True}
FINISHED_STATE = json.dumps({"tasks": {}, "completed": True, "data": {"decision": "approve"}})


def _down_revision(app: Flask) -> str:
    config = app.extensions["migrate"].migrate.get_config()
    rev = ScriptDirectory.from_config(config).get_revision(REVISION)
    assert rev is not None and isinstance(rev.down_revision, str)
    return rev.down_revision


def _database(tmp_path: Path) -> str:
    """SQLite in a file of its own, or on the PostgreSQL pass a schema of its own (the session's
    database stays as it is)."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        return f"sqlite:///{tmp_path / 'm.db'}"
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{SCHEMA}"


def _stored(column: str, table: str = "process_instance") -> list[object]:
    return list(db.session.execute(text(f"SELECT {column} FROM {table} ORDER BY id")).scalars())  # noqa: S608


def test_an_open_application_is_stored_compressed_and_restores_as_before(ctx: Flask, world: World) -> None:
    # issue 14 goal 2 (no rule row): the open state, rewritten at every step, is compressed
    iid = processes.start_application(user(world.doctor_id), "registration",
                                      application_payload(world, world.doctor_id)).instance_id
    db.session.remove()
    inst = db.session.get(ProcessInstance, iid)
    assert inst is not None and inst.business_status
    state = json.loads(inst.workflow_json)  # plain JSON text for every caller
    assert state["completed"] is False
    stored = db.session.scalar(text("SELECT workflow_json FROM process_instance WHERE id = :i"), {"i": iid})
    assert isinstance(stored, bytes) and len(stored) * 3 < len(inst.workflow_json.encode())
    # … and the next step reads it back: the institution confirms, the application moves on
    task = next(t for t in inst.tasks if t.status == "open")
    processes.complete_task(user(world.staff_id), task.id, CONFIRMED)
    db.session.remove()
    inst = db.session.get(ProcessInstance, iid)
    assert inst is not None and inst.business_status == "待卫健委受理"


def test_the_submit_step_keeps_no_second_copy_of_the_application(ctx: Flask, world: World) -> None:
    # issue 14 goal 2: the submitted data is the instance's application (a resubmission records
    # its changes old → new on its own step); 办理记录 and the application page still show it
    iid = processes.start_application(user(world.doctor_id), "registration",
                                      application_payload(world, world.doctor_id)).instance_id
    db.session.remove()
    submit = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid,
                                                       HumanTask.task_spec_id == "submit"))
    assert submit is not None and submit.data is None and submit.status == "completed"
    view = tasks.application_view(user(world.doctor_id), iid)
    assert view.instance.application["contact_mobile"] == "15175070658"
    assert [h.title for h in view.history] == ["提交申请"]


def test_audit_hashes_are_stored_as_bytes_and_the_chain_verifies(ctx: Flask) -> None:
    # issue 14 goal 2: 32 bytes a hash instead of 64 hex characters; the trail and verify unchanged
    first = audit.record(None, "registration.change", "registration", 1, {"value": "内科"})
    second = audit.record(None, "registration.change", "registration", 2, {"value": "外科"})
    db.session.commit()
    assert second.prev_hash == first.hash and len(first.hash) == 64 and int(first.hash, 16) >= 0
    assert [len(h) for h in _stored("hash", "audit_event")] == [32, 32]
    assert audit.verify() == []
    db.session.execute(text("UPDATE audit_event SET detail = '{\"value\": \"伪造\"}' WHERE id = :i"),
                       {"i": first.id})
    db.session.commit()
    assert audit.verify() == [first.id]


def test_the_column_types_read_what_was_written_before_them() -> None:
    # rows written by hand (a bulk load) or before the migration are still read as text
    z, h = ZlibText(), HexDigest()
    packed = "zlib:" + base64.b64encode(zlib.compress(FINISHED_STATE.encode(), 6)).decode()
    assert z.process_result_value(z.process_bind_param(packed, None), None) == FINISHED_STATE
    assert z.process_result_value(b"{}", None) == "{}" and z.process_result_value("{}", None) == "{}"
    assert h.process_result_value(h.process_bind_param("ab" * 32, None), None) == "ab" * 32
    # without the preset dictionary (as migration 0029 writes) or with it (as the column writes)
    assert z.process_result_value(zlib.compress(OPEN_STATE.encode()), None) == OPEN_STATE
    primed = z.process_bind_param(OPEN_STATE, None)
    assert primed is not None and primed[1] & 0x20 and z.process_result_value(primed, None) == OPEN_STATE
    other = zlib.compressobj(6, zdict=b"another dictionary")
    with pytest.raises(UnknownDictionary):
        z.process_result_value(other.compress(b"{}") + other.flush(), None)


def test_the_migration_converts_states_and_hashes_both_ways(tmp_path: Path) -> None:
    # issue 14 goal 2: existing rows (open state as JSON text, finished one packed, hex hashes)
    app = create_app(conftest.test_config(tmp_path, _database(tmp_path)))
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}"))
        before = _down_revision(app)
        upgrade(revision=before)
        now = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
        db.session.execute(text(
            "INSERT INTO process_definition (id, process_id, version, name, bpmn_xml, forms, spec_json, sha256, "
            "author, created_at) VALUES (1, 'registration', 1, '注册', '<x/>', '{}', '{}', 'x', 'system', :now)"),
            {"now": now})
        packed = "zlib:" + base64.b64encode(zlib.compress(FINISHED_STATE.encode(), 6)).decode()
        for iid, state in ((1, OPEN_STATE), (2, packed)):
            db.session.execute(text(
                "INSERT INTO process_instance (id, process_id, definition_id, business_status, application, "
                "workflow_json, serializer_version, clock_paused, extended, overdue, suspended, lock_version, "
                "created_at, updated_at) VALUES (:id, 'registration', 1, '处理中', :app, :state, '1.5', "
                "false, false, false, false, 0, :now, :now)"),
            {"id": iid, "state": state, "now": now, "app": json.dumps(APPLICATION)})
        prev = audit.GENESIS
        for i in range(3):  # a keyed chain as the code before the migration wrote it (hex text)
            ev = AuditEvent(at=now, actor_name="system", action="registration.change",
                            object_type="registration", object_id=str(i), detail={"value": f"科室{i}"})
            digest = audit._digest(audit.chain_key(), prev, now, "system", ev.action, ev.object_type,
                                   ev.object_id, ev.detail)
            db.session.execute(insert(AuditEvent).values(
                at=now, actor_name="system", action=ev.action, object_type=ev.object_type,
                object_id=ev.object_id, detail=ev.detail, prev_hash=type_coerce(prev, String),
                hash=type_coerce(digest, String)))
            prev = digest
        db.session.execute(text("UPDATE audit_head SET hash = :h WHERE id = 1"), {"h": prev})
        db.session.execute(text(
            "INSERT INTO outbox_message (created_at, channel, recipient, recipient_user_id, subject, body, secret, "
            "status, attempts, sent_at) VALUES (:now, 'inbox', 'doctor01', 1, '受理通知', '已受理。', false, 'sent', "
            "0, :now)"), {"now": now})
        db.session.commit()
        db.session.remove()

        upgrade()
        states = [db.session.get(ProcessInstance, i) for i in (1, 2)]
        assert [s.workflow_json for s in states if s] == [OPEN_STATE, FINISHED_STATE]
        assert [s.application for s in states if s] == [APPLICATION, APPLICATION]
        assert all(isinstance(v, bytes) and len(v) < 400 for v in _stored("workflow_json"))
        assert audit.verify() == []
        assert [len(h) for h in _stored("hash", "audit_event")] == [32, 32, 32]
        assert audit.record(None, "registration.change", "registration", 9).prev_hash == prev
        db.session.commit()
        assert audit.verify() == []
        assert _stored("sent_at", "outbox_message") == [None]  # 站内消息: delivered when stored
        db.session.remove()

        downgrade(revision=before)
        assert _stored("workflow_json") == [OPEN_STATE, FINISHED_STATE]
        assert [a if isinstance(a, dict) else json.loads(str(a)) for a in _stored("application")] == [APPLICATION] * 2
        hashes = _stored("hash", "audit_event")
        assert hashes[2] == prev and all(isinstance(h, str) and len(h) == 64 for h in hashes)
        assert _stored("hash", "audit_head") == [hashes[-1]]
        assert _stored("sent_at", "outbox_message") != [None]
        db.session.remove()
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {SCHEMA} CASCADE"))
        db.engine.dispose()
