"""CSV imports of reference data, processed in batches with a per-row error report."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import JSONType
from app.models.base import UTCDateTime
from app.models.base import str_enum
from app.models.base import utcnow


class ImportStatus(enum.StrEnum):
    """Where an import stands: waiting, part-way through its batches, finished."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"


class ImportJob(db.Model):  # type: ignore[name-defined]
    """One uploaded file: its rows are applied in batches; each row all or nothing."""

    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # institutions / qualifications / registrations
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text, deferred=True)  # up to 20 MB: a batch reads its part
    # where the next row starts in ``content`` (characters; 0: no batch applied yet) and the
    # lines before it, so a batch reads and parses its own rows only
    position: Mapped[int] = mapped_column(default=0)
    line: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    processed: Mapped[int] = mapped_column(default=0)
    imported: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list[Any]] = mapped_column(JSONType, default=list)  # [line, column, message]
    status: Mapped[ImportStatus] = mapped_column(str_enum(ImportStatus, 12), default=ImportStatus.PENDING)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
