"""Engine set-up per backend: SQLite serialises writers; PostgreSQL locks rows."""

from __future__ import annotations

from typing import Any
from typing import cast

from sqlalchemy import event
from sqlalchemy import text
from sqlalchemy.engine import CursorResult
from sqlalchemy.engine import Engine
from sqlalchemy.engine import Result

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
        conn.exec_driver_sql("BEGIN IMMEDIATE")


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
