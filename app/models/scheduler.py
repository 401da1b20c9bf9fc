"""When a timer sweep last finished: one row, updated by every scheduler process."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import UTCDateTime


class SchedulerBeat(db.Model):  # type: ignore[name-defined]
    """The heartbeat /healthz reads: ``swept_at`` of the newest finished sweep (row id 1)."""

    __tablename__ = "scheduler_beat"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    swept_at: Mapped[datetime] = mapped_column(UTCDateTime)
