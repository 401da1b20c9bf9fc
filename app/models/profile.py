"""The practice-side copy of a physician's personal information (信息维护).

Changes approved by the institution land here; the qualification record is never changed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import UTCDateTime
from app.models.base import utcnow


class PhysicianProfile(db.Model):  # type: ignore[name-defined]
    """学历, 毕业学校, 所学专业, 任职资格 as approved, and the approved photo."""

    __tablename__ = "physician_profile"

    qualification_id: Mapped[int] = mapped_column(ForeignKey("qualification.id"), primary_key=True,
                                                  autoincrement=False)
    education: Mapped[str | None] = mapped_column(String(20))
    school: Mapped[str | None] = mapped_column(String(100))
    major: Mapped[str | None] = mapped_column(String(60))
    title: Mapped[str | None] = mapped_column(String(20))
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
