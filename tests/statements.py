"""Counting the SQL statements a request makes (a count, never a timing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from typing import TypeVar

from flask import Flask
from sqlalchemy import event

from app.extensions import db

T = TypeVar("T")


def selects_of(app: Flask, action: Callable[[], T]) -> tuple[list[str], T]:
    """The SELECT (and WITH) statements ``action`` sends to the app's database, and its result."""
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        result = action()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))], result


def sent_of(app: Flask, action: Callable[[], T]) -> tuple[list[tuple[str, Any]], T]:
    """Every statement ``action`` sends, with its parameters (to EXPLAIN it), and its result."""
    with app.app_context():
        engine = db.engine
    sent: list[tuple[str, Any]] = []

    def keep(_conn: object, _cursor: object, statement: str, parameters: Any, *_rest: object) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        result = action()
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    return sent, result


def plan_of(app: Flask, statement: str, parameters: Any) -> str:
    """The database's plan for a statement as sent: EXPLAIN QUERY PLAN on SQLite, EXPLAIN on
    PostgreSQL with sequential scans discouraged (a test's tables are tiny: where an index can
    serve the query, the plan shows it; where none can, it still shows the Seq Scan)."""
    with app.app_context():
        conn = db.session.connection()
        try:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
                return "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
            return "\n".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                                                      parameters))
        finally:
            db.session.rollback()
