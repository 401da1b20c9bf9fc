"""The transactional outbox: messages are written in the step and sent after commit."""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import delete
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMessage
from app.models import OutboxStatus
from app.models import User
from app.models.base import utcnow

log = logging.getLogger("medreg.outbox")
MAX_ATTEMPTS = 10
INBOX = "inbox"  # the in-app channel: the 消息 page
REDACTED_BODY = "（内容含校验码或激活码，发送后已清除）"


def enqueue(channel: str, recipient: str, subject: str, body: str, *,
            user_id: int | None = None, dedupe_key: str | None = None,
            secret: bool = False) -> OutboxMessage | None:
    """Write a message (flushes). With ``dedupe_key``, a second message with the key is dropped.

    An ``inbox`` message (站内消息) is delivered by being stored: it is written as sent, so the
    outbox worker never picks it up (nor marks it failed); its person reads it on 消息. Its
    ``sent_at`` stays empty: it would repeat ``created_at`` (26 bytes a message on SQLite)."""
    if dedupe_key and db.session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
    ):
        return None
    msg = OutboxMessage(channel=channel, recipient=recipient, subject=subject, body=body,
                        recipient_user_id=user_id, dedupe_key=dedupe_key, secret=secret)
    if channel == INBOX:
        msg.status = OutboxStatus.SENT
        if user_id is not None:
            unread_changed(user_id)
    db.session.add(msg)
    db.session.flush()
    return msg


def unread_changed(user_id: int) -> None:
    """The person's unread 消息 count changed in this request: the count this request read with
    its session (app.services.platform.messages.remember_unread) is read again for the header."""
    from flask import has_request_context
    from flask import request

    if has_request_context():
        known = getattr(request, "medreg_unread", None)
        if known is not None and known[0] == user_id:
            request.medreg_unread = None  # type: ignore[attr-defined]


def notify_user(user: User, subject: str, body: str, key: str | None = None) -> None:
    """Tell a user in the app, and by SMS/e-mail where they have verified contacts."""
    enqueue(INBOX, user.username, subject, body, user_id=user.id,
            dedupe_key=f"{key}:inbox:{user.id}" if key else None)
    if user.mobile:
        enqueue("sms", user.mobile, subject, body, user_id=user.id,
                dedupe_key=f"{key}:sms:{user.id}" if key else None)
    if user.email:
        enqueue("email", user.email, subject, body, user_id=user.id,
                dedupe_key=f"{key}:email:{user.id}" if key else None)


def _send(msg: OutboxMessage, config: dict[str, Any]) -> None:
    backend = config.get("MEDREG_MAIL_BACKEND", "log")
    if msg.channel == "email" and backend == "smtp":
        em = EmailMessage()
        em["From"] = config["MEDREG_MAIL_FROM"]
        em["To"] = msg.recipient
        em["Subject"] = msg.subject
        em.set_content(msg.body)
        with smtplib.SMTP(config["MEDREG_SMTP_HOST"], int(config["MEDREG_SMTP_PORT"]),
                          timeout=10) as smtp:
            smtp.send_message(em)
    else:
        log.info("[%s] to %s: %s", msg.channel, msg.recipient, msg.subject)


def dispatch_pending(config: dict[str, Any], limit: int = 100) -> int:
    """Send pending messages; failures are retried later. Returns how many were sent."""
    sent = 0
    rows = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING,
                                    OutboxMessage.channel != INBOX)
        .order_by(OutboxMessage.id).limit(limit)
    ).all()
    for msg in rows:
        try:
            _send(msg, config)
        except Exception as exc:  # noqa: BLE001 - any transport failure is retried
            msg.attempts += 1
            msg.last_error = str(exc)[:300]
            if msg.attempts >= MAX_ATTEMPTS:
                msg.status = OutboxStatus.FAILED
        else:
            msg.status = OutboxStatus.SENT
            msg.sent_at = utcnow()
            if msg.secret and config.get("MEDREG_MAIL_BACKEND", "log") != "log":
                msg.body = REDACTED_BODY  # the code has left; do not keep it readable
            sent += 1
    db.session.commit()
    return sent


def prune_delivered(now: datetime, retention_days: int) -> int:
    """Delete SMS and e-mail messages sent more than ``retention_days`` ago (run by the
    hourly sweep); returns rows removed. Pending and failed messages stay (still to send,
    or for an administrator to see), and so do 站内消息 (channel ``inbox``): they are the
    person's own messages on 消息."""
    result = db.session.execute(delete(OutboxMessage).where(
        OutboxMessage.status == OutboxStatus.SENT,
        OutboxMessage.channel != INBOX,
        OutboxMessage.sent_at < now - timedelta(days=retention_days)))
    db.session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def recent(limit: int = 200) -> list[OutboxMessage]:
    """The newest messages (the development outbox page)."""
    return list(db.session.scalars(
        select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)))
