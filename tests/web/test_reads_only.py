"""Pages that only read do so without a write lock on SQLite and without BEGIN/ROLLBACK on
PostgreSQL (issue 14 goal 1; ``app.web.common.reads_only``): a staff member's 待办任务 or an
opened task no longer holds back anyone's save on the embedded database, and costs two round
trips fewer on PostgreSQL. A write in such a transaction fails loudly and stores nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update

from app.extensions import db
from app.models import AuditEvent
from app.models import User
from app.services.platform import database
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import submit_registration


def _others_save_during(app: Flask, marker: str, action: Callable[[], Any]) -> tuple[Any, list[str]]:
    """Run ``action`` (a request); when it sends its statement containing ``marker``, someone
    else saves on a connection of their own, waiting at most 0.3 s for a lock. Returns the
    action's result and what the other save met (empty: it went through)."""
    with app.app_context():
        engine = db.engine
    met: list[str] = []
    done: list[bool] = []

    def during(conn: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        if marker not in statement or done:
            return
        done.append(True)
        with engine.connect() as other:
            try:
                if engine.dialect.name == "sqlite":
                    other.exec_driver_sql("PRAGMA busy_timeout=300")
                else:
                    other.exec_driver_sql("SET LOCAL lock_timeout = '300ms'")
                other.execute(text("UPDATE user_account SET display_name = display_name WHERE username = 'doctor01'"))
                other.commit()
            except Exception as exc:  # noqa: BLE001 - what the other person would have met
                met.append(str(exc))
                other.rollback()
            finally:
                if engine.dialect.name == "sqlite":
                    other.exec_driver_sql("PRAGMA busy_timeout=30000")

    event.listen(engine, "before_cursor_execute", during)
    try:
        result = action()
    finally:
        event.remove(engine, "before_cursor_execute", during)
    assert done, f"the request sent no statement with {marker!r}"
    return result, met


def _autocommit_of(app: Flask, action: Callable[[], Any]) -> list[bool]:
    """For each SELECT ``action`` sends on PostgreSQL: whether it went without a BEGIN."""
    with app.app_context():
        engine = db.engine
    seen: list[bool] = []

    def record(conn: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append(bool(conn.connection.dbapi_connection.autocommit))

    event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def test_the_lists_and_an_opened_task_hold_back_no_one_who_saves(app: Flask, web_world: World) -> None:
    task_id = submit_registration(app, web_world)
    staff = WebClient.signed_in(app, "jigou01")
    resp, met = _others_save_during(app, "FROM human_task", lambda: staff.get("/inbox/"))
    assert resp.status_code == 200 and "待办任务" in resp.get_data(as_text=True)
    assert met == []  # before: "database is locked" on SQLite (the page held BEGIN IMMEDIATE)
    resp, met = _others_save_during(app, "human_task", lambda: staff.get(f"/inbox/tasks/{task_id}"))
    assert resp.status_code == 200 and "医疗机构确认" in resp.get_data(as_text=True)
    assert met == []
    doctor = WebClient.signed_in(app, "doctor02")
    resp, met = _others_save_during(app, "qualification",
                                    lambda: doctor.get("/physician/apply/registration"))
    assert resp.status_code == 200 and met == []
    officer = WebClient.signed_in(app, "weijian01")
    resp, met = _others_save_during(app, "SELECT", lambda: officer.get("/inbox/dashboard"))  # 办理统计
    assert resp.status_code == 200 and "办理统计" in resp.get_data(as_text=True)
    assert met == []


def test_a_page_that_only_reads_sends_no_begin_on_postgresql(app: Flask, web_world: World) -> None:
    with app.app_context():
        if not database.is_postgres():
            pytest.skip("PostgreSQL only: SQLite has no round trips to save (the test above runs on both)")
    task_id = submit_registration(app, web_world)
    staff = WebClient.signed_in(app, "jigou01")
    for url in ("/inbox/", f"/inbox/tasks/{task_id}"):
        seen = _autocommit_of(app, lambda url=url: staff.get(url))  # type: ignore[misc]
        assert seen and all(seen), (url, seen)
    # a page that writes still reads and writes in one transaction
    seen = _autocommit_of(app, lambda: staff.post(f"/inbox/tasks/{task_id}/complete",
                                                  {"decision": "confirm", "paper_held": "on"}))
    assert seen and not any(seen)


def test_a_write_in_a_transaction_that_only_reads_fails_and_stores_nothing(app: Flask, web_world: World) -> None:
    with app.app_context():
        before = db.session.scalar(select(User.display_name).where(User.username == "doctor01"))
        events = len(db.session.scalars(select(AuditEvent.id)).all())
        db.session.rollback()
        database.begin_reading()
        doctor = db.session.scalar(select(User).where(User.username == "doctor01"))
        assert doctor is not None
        doctor.display_name = "改过的名字"
        with pytest.raises(database.ReadOnlyViolation):
            db.session.flush()  # the ORM's UPDATE
        db.session.rollback()
        database.begin_reading()
        with pytest.raises(database.ReadOnlyViolation):  # Core, as the audit trail writes
            db.session.connection().execute(insert(AuditEvent.__table__).values(
                actor_id=None, actor_name="x", action="x", object_type="x", object_id="1",
                detail={}, prev_hash="00" * 32, hash="11" * 32))
        db.session.rollback()
        database.begin_reading()
        with pytest.raises(database.ReadOnlyViolation):  # plain SQL
            db.session.execute(text("UPDATE user_account SET display_name = '改过的名字' WHERE username = 'doctor01'"))
        db.session.rollback()
        database.begin_reading()
        changed = (update(User).where(User.username == "doctor01").values(display_name="改过的名字")
                   .returning(User.id).cte("changed"))
        with pytest.raises(database.ReadOnlyViolation):  # a SELECT whose WITH writes (as pending.py does)
            db.session.execute(select(changed.c.id))
        db.session.rollback()
        assert db.session.scalar(select(User.display_name).where(User.username == "doctor01")) == before
        assert len(db.session.scalars(select(AuditEvent.id)).all()) == events
        db.session.rollback()


def test_a_page_opened_from_another_address_or_browser_writes_nothing(app: Flask, web_world: World) -> None:
    # Flask-Login's "basic" session protection marked the session not fresh when the address
    # or browser changed (a phone moving between networks): an UPDATE of the row on a page
    # that only reads. Nothing here uses freshness (a security change asks for the password).
    from tests.statements import sent_of

    staff = WebClient.signed_in(app, "jigou01")
    sent, resp = sent_of(app, lambda: staff.client.get(
        "/inbox/", headers={"User-Agent": "另一个浏览器"}, environ_base={"REMOTE_ADDR": "10.9.8.7"}))
    assert resp.status_code == 200 and "待办任务" in resp.get_data(as_text=True)
    assert [s for s, _ in sent if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))] == []


def test_what_a_request_did_not_commit_is_rolled_back_and_a_read_is_committed(app: Flask, web_world: World) -> None:
    # app.services.platform.database.finish, at the end of every request: a transaction that
    # only read is committed (the same for the data), one that wrote without its service's
    # commit is rolled back, whichever way it wrote
    with app.app_context():
        engine = db.engine
    ended: list[str] = []

    def on_commit(_conn: Any) -> None:
        ended.append("COMMIT")

    def on_rollback(_conn: Any) -> None:
        ended.append("ROLLBACK")

    def name() -> str | None:
        return db.session.scalar(select(User.display_name).where(User.username == "doctor01"))

    with app.app_context():
        before = name()
        db.session.rollback()
        event.listen(engine, "commit", on_commit)
        event.listen(engine, "rollback", on_rollback)
        try:
            doctor = db.session.scalar(select(User).where(User.username == "doctor01"))
            assert doctor is not None
            doctor.display_name = "未提交的名字"  # an ORM change, not flushed
            database.finish()
            db.session.execute(text("UPDATE user_account SET display_name = '未提交' WHERE username = 'doctor01'"))
            database.finish()  # plain SQL
            db.session.connection().execute(insert(AuditEvent.__table__).values(
                actor_id=None, actor_name="x", action="x", object_type="x", object_id="1",
                detail={}, prev_hash="00" * 32, hash="11" * 32))
            database.finish()  # Core, as the audit trail writes
            assert name() == before
            database.finish()  # it only read
        finally:
            event.remove(engine, "commit", on_commit)
            event.remove(engine, "rollback", on_rollback)
        assert ended == ["ROLLBACK", "ROLLBACK", "ROLLBACK", "COMMIT"]
        assert name() == before
        assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.actor_name == "x")) is None
        db.session.rollback()


def test_a_page_after_a_page_finds_its_statements_prepared_on_postgresql(app: Flask, web_world: World) -> None:
    # issue 14 goal 1: psycopg forgets what it prepared on a connection at every ROLLBACK, and
    # every request ended with one, so each page's statements were parsed and planned every time
    with app.app_context():
        if not database.is_postgres():
            pytest.skip("PostgreSQL only: psycopg's prepared statements (the test above runs on both)")
    staff = WebClient.signed_in(app, "jigou01")
    for _ in range(7):  # psycopg prepares a statement on its 5th run on a connection
        assert staff.get("/messages/").status_code == 200  # a page not marked reads_only
    with app.app_context():  # the pool hands out the connection used last
        prepared = db.session.scalars(text(
            "SELECT statement FROM pg_prepared_statements WHERE statement LIKE '%FROM web_session%'")).all()
        db.session.rollback()
    assert prepared, "the session's statement is prepared on the connection the pages used"


def test_a_transaction_that_only_reads_may_ask_what_tables_there_are(app: Flask, web_world: World) -> None:
    # the first page a fresh web worker serves may be a marked one whose service asks whether a
    # table exists (the configured business types: an inspector, a PRAGMA on SQLite); the
    # side-by-side smoke run met a 500 there before the guard let such reads through
    from sqlalchemy import inspect

    with app.app_context():
        db.session.rollback()
        database.begin_reading()
        assert inspect(db.session.connection()).has_table("configured_type")
        with_read = select(User.id).where(User.username == "doctor01").cte("found")
        assert db.session.execute(select(with_read.c.id)).scalar() is not None  # a WITH that only reads
        db.session.rollback()


def test_the_roster_holds_back_no_one_who_saves(app: Flask, web_world: World) -> None:
    # the 医师名册 reads its rows on a connection of its own that only reads (database.reading):
    # before, the page held SQLite's write lock (BEGIN IMMEDIATE) while a 5,000-physician list
    # was read and rendered; on PostgreSQL its server-side cursor gets the transaction it needs
    from app.services.records.rosters import KINDS
    staff = WebClient.signed_in(app, "jigou01")
    for kind, title in KINDS.items():
        resp, met = _others_save_during(app, "JOIN qualification",
                                        lambda kind=kind: staff.get(f"/institution/rosters/{kind}"))
        assert resp.status_code == 200 and title in resp.get_data(as_text=True)
        assert met == [], kind  # the other save went through
