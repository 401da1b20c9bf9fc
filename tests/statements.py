"""Counting the SQL statements a request makes (a count, never a timing)."""

from __future__ import annotations

from collections.abc import Callable
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
