"""Business types an administrator configured in the browser (新建流程): chosen from lists,
never code (see :mod:`app.services.applications.types.configured`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import JSONType
from app.models.base import UTCDateTime
from app.models.base import utcnow


class ConfiguredType(db.Model):  # type: ignore[name-defined]
    """One configured business type: its process, who starts it, the named refusal rules
    (app/services/applications/refusal_rules.py) and the service operations its service tasks
    may call (the @operation registry)."""

    __tablename__ = "configured_type"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    starter: Mapped[str] = mapped_column(String(20))  # physician / institution / commission
    template: Mapped[str] = mapped_column(String(20))  # skeleton / empty
    refusal_rules: Mapped[list[str]] = mapped_column(JSONType)
    operations: Mapped[list[str]] = mapped_column(JSONType)
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
