"""Engine set-up per backend: SQLite serialises writers; PostgreSQL locks rows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from typing import cast

from sqlalchemy import event
from sqlalchemy import text
from sqlalchemy.engine import CursorResult
from sqlalchemy.engine import Engine
from sqlalchemy.engine import Result
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.extensions import db


def configure_engine(engine: Engine) -> None:
    """On every database: a transaction that only reads (:func:`begin_reading`, :func:`reading`)
    refuses to write. On SQLite: foreign keys, a busy timeout and ``BEGIN IMMEDIATE`` for every
    other transaction.

    Immediate transactions make each service call a serial writer, which is what
    the instance lock means on an embedded database.
    """
    if getattr(engine, "_medreg_configured", False):
        return
    engine._medreg_configured = True  # type: ignore[attr-defined]

    @event.listens_for(engine, "before_cursor_execute")
    def _writes(conn: Any, _cursor: Any, statement: str, _params: Any, context: Any,
                _many: bool) -> None:
        # for finish(), anything but a plain SELECT is taken as a write (plain SQL, SET,
        # SAVEPOINT, a PRAGMA, and WITH, which may hold an UPDATE)
        dml = context is not None and (context.isinsert or context.isupdate or context.isdelete)
        if not dml and statement.lstrip()[:6].upper() == "SELECT":
            return
        if conn.get_execution_options().get(READ_ONLY) and (dml or _may_write(statement)):
            raise ReadOnlyViolation(f"a transaction that only reads was asked to write: {statement[:80]}")
        conn.info[WROTE] = True

    @event.listens_for(engine, "begin")
    def _begun(conn: Any) -> None:
        conn.info[WROTE] = False

    if not event.contains(Session, "after_begin", _holds):
        event.listen(Session, "after_begin", _holds)

    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _rec: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # a reader of its own (see :func:`reading`) takes no write lock: it only reads, and a
        # streamed download must not hold back everyone's writes while it is sent
        # (sent by the driver itself: the statement machinery of SQLAlchemy around a plain BEGIN
        # cost more than the statement; the ``begin`` event still marks it for any listener)
        conn.connection.dbapi_connection.execute(
            "BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


READ_ONLY = "medreg_read_only"
WROTE = "medreg_wrote"  # on a connection's info: its transaction sent something but a SELECT
HELD = "medreg_connection"  # on a session's info: its transaction and that one's connection


_READS = ("SELECT", "WITH", "PRAGMA", "SHOW", "EXPLAIN", "VALUES")
_DML = re.compile(r"\b(?:INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM|MERGE\s+INTO)\b", re.IGNORECASE)


def _may_write(statement: str) -> bool:
    """The statement is not one that only reads: it begins with another word (INSERT, SET,
    CREATE …), or it is a WITH holding an INSERT, UPDATE or DELETE (pending.py's counters, the
    audit trail's head on PostgreSQL). A PRAGMA or SHOW reads (an inspector asking for a table)."""
    words = statement.lstrip().split(None, 1)
    first = words[0].upper() if words else ""
    return first not in _READS or (first == "WITH" and _DML.search(statement) is not None)


def _holds(session: Session, transaction: Any, connection: Any) -> None:
    """The session's ``transaction`` took ``connection`` (:func:`finish` reads what it sent)."""
    session.info[HELD] = (transaction, connection)


class ReadOnlyViolation(RuntimeError):
    """A write was sent in a transaction that said it only reads (a programming error: the page
    is marked :func:`app.web.common.reads_only` but its service writes)."""


def begin_reading() -> None:
    """The request's transaction only reads (a page that shows and changes nothing): on SQLite
    it takes no write lock (a deferred ``BEGIN``), so everyone's saves go on while it reads; on
    PostgreSQL it sends neither ``BEGIN`` nor ``ROLLBACK`` (each SELECT reads in a snapshot of
    its own, autocommit). A write in it raises :class:`ReadOnlyViolation`. Must come before the
    request's first statement; once it ends (:func:`finish`, as the session's save does first)
    the next statement begins an ordinary transaction."""
    session = db.session()
    if session.in_transaction():  # (a request made inside an app context that already reads)
        return
    options: dict[str, Any] = {READ_ONLY: True}
    if is_postgres():
        options["isolation_level"] = "AUTOCOMMIT"
    session.connection(execution_options=options)


@contextmanager
def reading() -> Iterator[Session]:
    """A session on a connection of its own that only reads (a download streamed after the
    request's transaction ended): on SQLite a deferred transaction, so writers go on while it
    is open; on PostgreSQL a READ ONLY one."""
    with db.engine.connect() as conn:
        options: dict[str, Any] = {READ_ONLY: True}
        if conn.dialect.name == "postgresql":
            options["postgresql_readonly"] = True
        conn.execution_options(**options)
        with Session(bind=conn) as own:
            yield own


def finish() -> None:
    """End the request's transaction: what a view did not commit through its service is rolled
    back, and a transaction that only read is committed instead (the same for the data: it
    changed nothing). On PostgreSQL a ROLLBACK makes psycopg forget the statements it prepared
    on that connection, so every page's statements were parsed and planned again each time."""
    session = db.session()
    took, held = session.info.pop(HELD, (None, None))
    transaction = session.get_transaction()
    if transaction is None:
        return
    try:
        only_read = (transaction.is_active and took is transaction and not held.invalidated
                     and not (session.new or session.dirty or session.deleted)
                     and held.info.get(WROTE) is False)
    except SQLAlchemyError:
        only_read = False
    if only_read:
        session.commit()
    else:
        session.rollback()  # (also a transaction that failed, or never took a connection)


def is_postgres() -> bool:
    return bool(db.engine.dialect.name == "postgresql")


def advisory_lock(key: int) -> None:
    """Serialise a critical section across transactions (PostgreSQL; SQLite already is)."""
    if is_postgres():
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE touched (``Session.execute`` is typed as a plain Result;
    for these statements it returns a CursorResult)."""
    return cast("CursorResult[Any]", result).rowcount
