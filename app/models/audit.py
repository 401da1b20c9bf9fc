"""The hash-chained audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import JSONType
from app.models.base import UTCDateTime
from app.models.base import utcnow
from app.models.compact import HexDigest


class AuditEvent(db.Model):  # type: ignore[name-defined]
    """Who did what to which record, and when; ``hash`` covers ``prev_hash`` and the event."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column()
    actor_name: Mapped[str] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(40), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    prev_hash: Mapped[str] = mapped_column(HexDigest)  # hex in Python, its 32 bytes stored
    hash: Mapped[str] = mapped_column(HexDigest)


class AuditHead(db.Model):  # type: ignore[name-defined]
    """The chain's head in one row (``id`` 1): appenders lock it with an UPDATE that returns the
    newest hash, so locking and reading the head are one statement and the chain cannot fork."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(HexDigest)
