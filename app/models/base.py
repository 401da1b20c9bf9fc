"""Shared column helpers."""

from __future__ import annotations

import enum
import json
from datetime import UTC
from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import DateTime
from sqlalchemy import Enum
from sqlalchemy import TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite returns naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def compact_json(value: Any) -> str:
    """How JSON columns are written on SQLite: no spaces, Chinese as UTF-8 (three bytes a
    character, not a six-byte ``\\uXXXX``). PostgreSQL's JSONB stores its own binary form."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


JSONType = JSON().with_variant(JSONB(), "postgresql")


def str_enum(enum_class: type[enum.StrEnum], length: int) -> Enum:
    """A status column of ``enum_class`` stored as its plain value in VARCHAR(length), no CHECK."""
    return Enum(enum_class, native_enum=False, length=length, create_constraint=False,
                values_callable=lambda members: [m.value for m in members])
