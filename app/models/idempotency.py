"""Submitted forms: one row per idempotency token, holding the first submission's result."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import UTCDateTime
from app.models.base import utcnow


class SubmissionToken(db.Model):  # type: ignore[name-defined]
    """A form's hidden token, written in the same transaction as the effect it caused, so a
    resubmission (double-click, reload, retry) finds the first result instead of acting again."""

    __tablename__ = "submission_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(40))
    result_id: Mapped[int | None] = mapped_column()  # e.g. the application's number
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
