"""The transactional outbox of SMS, e-mail and in-app messages."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import UTCDateTime
from app.models.base import str_enum
from app.models.base import utcnow


class OutboxStatus(enum.StrEnum):
    """Whether a message waits to be sent, was sent, or failed for good."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(db.Model):  # type: ignore[name-defined]
    """A message written in a step's transaction and sent after commit."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        # 消息: a person's unread count (the header of every page) is read from this index alone
        Index("ix_outbox_message_unread", "recipient_user_id", "channel", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    channel: Mapped[str] = mapped_column(String(10))  # sms / email / inbox
    recipient: Mapped[str] = mapped_column(String(120))
    recipient_user_id: Mapped[int | None] = mapped_column()  # indexed first in ix_outbox_message_unread
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    secret: Mapped[bool] = mapped_column(default=False)  # holds a code: body cleared once sent
    status: Mapped[OutboxStatus] = mapped_column(str_enum(OutboxStatus, 10), default=OutboxStatus.PENDING,
                                                 index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # channel inbox: when its person read it
