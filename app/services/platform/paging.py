"""Keyset pagination, one way for every long list (inbox, 流程实例, accounts): a page continues
after the last row it showed, so the cost does not grow with the table and no row is shown
twice or skipped when rows arrive meanwhile.

A cursor is plain text in a link, so a person may change it: :meth:`Keyset.read` accepts only
what :meth:`Keyset.cursor` writes (time-zoned moments, whole numbers within the database's
range) and treats anything else as "from the first page".
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import Generic
from typing import TypeVar

from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy.sql.elements import ColumnElement

from app.extensions import db
from app.services.platform.database import is_postgres
from app.services.records.validators import whole_number

T = TypeVar("T")
Value = datetime | int | None
MAX_CURSOR = 80
_FAR = datetime(9999, 12, 31, tzinfo=UTC)  # where NULL sorts when the database cannot say


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows and the cursor of the next page (None: this is the last)."""

    rows: list[T]
    next: str | None


@dataclass(frozen=True)
class Keyset:
    """An order over ``keys`` whose last key is unique (the id), and how to continue it.

    ``kinds`` says what each key holds (``datetime`` or ``int``) to read a cursor back;
    with ``nulls_last`` the first key may be NULL and such rows come last (e.g. tasks
    without a due time).
    """

    keys: tuple[Any, ...]
    kinds: tuple[type, ...]
    descending: bool = False
    nulls_last: bool = False

    def cursor(self, values: Sequence[Value]) -> str:
        """The cursor that continues after a row with these key values."""
        return "|".join("" if v is None else v.astimezone(UTC).isoformat()
                        if isinstance(v, datetime) else str(v) for v in values)

    def read(self, cursor: str | None) -> tuple[Value, ...] | None:
        """The key values a cursor names, or None (first page) for anything
        :meth:`cursor` would not have written."""
        if not cursor or len(cursor) > MAX_CURSOR:
            return None
        parts = cursor.split("|")
        if len(parts) != len(self.kinds):
            return None
        out: list[Value] = []
        for i, (part, kind) in enumerate(zip(parts, self.kinds, strict=True)):
            if part == "" and i == 0 and self.nulls_last:
                out.append(None)
            elif kind is int:
                number = whole_number(part)
                if number is None:
                    return None
                out.append(number)
            else:
                try:
                    moment = datetime.fromisoformat(part)
                    if moment.tzinfo is None:
                        return None
                    out.append(moment.astimezone(UTC))
                except (ValueError, OverflowError):  # e.g. 0001-01-01T00:00+01:00
                    return None
        return tuple(out)

    def order_by(self) -> list[Any]:
        """The ORDER BY of the keyset (index friendly on PostgreSQL)."""
        cols: list[Any] = list(self.keys)
        if self.nulls_last:
            cols[0] = cols[0].asc().nulls_last() if is_postgres() else func.coalesce(cols[0], _FAR)
        return [c.desc() for c in cols] if self.descending else cols

    def after(self, values: Sequence[Value]) -> ColumnElement[bool]:
        """Rows that come after the row with ``values``, written out key by key so the
        database can walk its index: k1 > v1 OR (k1 = v1 AND (k2 > v2 OR ...))."""

        def beyond(col: Any, value: Value) -> Any:
            return col < value if self.descending else col > value

        def from_(i: int) -> Any:
            col, value = self.keys[i], values[i]
            if i == len(self.keys) - 1:
                return beyond(col, value)
            rest = from_(i + 1)
            if i == 0 and self.nulls_last:
                if value is None:  # already among the rows without a value
                    return and_(col.is_(None), rest)
                return or_(beyond(col, value), col.is_(None), and_(col == value, rest))
            return or_(beyond(col, value), and_(col == value, rest))

        return from_(0)  # type: ignore[no-any-return]

    def page(self, stmt: Any, cursor: str | None, limit: int,
             key_of: Callable[[Any], Sequence[Value]]) -> Page[Any]:
        """Up to ``limit`` rows of ``stmt`` after ``cursor``, in keyset order, and the next
        page's cursor (one row more is read to know whether there is a next page)."""
        values = self.read(cursor)
        if values is not None:
            stmt = stmt.where(self.after(values))
        found = list(db.session.execute(stmt.order_by(*self.order_by()).limit(limit + 1)))
        rows = found[:limit]
        return Page(rows, self.cursor(key_of(rows[-1])) if len(found) > limit else None)
