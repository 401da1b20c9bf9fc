"""Engine set-up per backend: SQLite serialises writers; PostgreSQL locks rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from typing import cast

from sqlalchemy import event
from sqlalchemy import text
from sqlalchemy.engine import CursorResult
from sqlalchemy.engine import Engine
from sqlalchemy.engine import Result
from sqlalchemy.orm import Session

from app.extensions import db


def configure_engine(engine: Engine) -> None:
    """On SQLite: foreign keys, a busy timeout and ``BEGIN IMMEDIATE`` for every transaction.

    Immediate transactions make each service call a serial writer, which is what
    the instance lock means on an embedded database.
    """
    if engine.dialect.name != "sqlite" or getattr(engine, "_medreg_configured", False):
        return
    engine._medreg_configured = True  # type: ignore[attr-defined]

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
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


READ_ONLY = "medreg_read_only"


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
