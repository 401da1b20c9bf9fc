"""站内消息: the in-app messages of one person (outbox rows of channel ``inbox``), newest first.

The read state is the ``read_at`` column of the message's own outbox row: an in-app message has
exactly one recipient, so a separate table would only add a join to the header's unread count
(one indexed count per page: ``ix_outbox_message_unread``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.sql.elements import ColumnElement

from app.extensions import db
from app.models import OutboxMessage
from app.models import User
from app.models.base import utcnow
from app.services.errors import NotFound
from app.services.platform.database import rowcount
from app.services.platform.outbox import INBOX
from app.services.platform.paging import Keyset

PAGE = 20
NEWEST_FIRST = Keyset((OutboxMessage.id,), (int,), descending=True)


@dataclass(frozen=True)
class Message:
    """One message as its person sees it."""

    id: int
    subject: str
    body: str
    created_at: datetime
    read: bool


@dataclass(frozen=True)
class MessagePage:
    """A page of messages, the cursor of the next page (None: the last) and the unread count."""

    rows: list[Message]
    next_before: str | None
    unread: int


def _own(user_id: int) -> list[ColumnElement[bool]]:
    return [OutboxMessage.recipient_user_id == user_id, OutboxMessage.channel == INBOX]


def unread_of(recipient: Any) -> Any:
    """The unread count of the person ``recipient`` (a column of another statement, e.g. the
    session's user id, or a bound value) as a scalar subquery (answered from
    ``ix_outbox_message_unread``): the page's header asks no statement of its own."""
    return select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.recipient_user_id == recipient, OutboxMessage.channel == INBOX,
        OutboxMessage.read_at.is_(None)).scalar_subquery()


_UNREAD_COUNT = select(unread_of(bindparam("unread_of")))  # built once; a request binds the person


def unread_count(user_id: int) -> int:
    """How many of the person's messages are unread (one query, on the index alone; none when
    this request's session already read it, see :func:`unread_of`)."""
    from flask import has_request_context
    from flask import request

    known = getattr(request, "medreg_unread", None) if has_request_context() else None
    if known is not None and known[0] == user_id:
        return int(known[1])
    return int(db.session.scalar(_UNREAD_COUNT, {"unread_of": user_id}) or 0)


def remember_unread(user_id: int, count: int) -> None:
    """The unread count read with another statement of this request (the header shows it)."""
    from flask import has_request_context
    from flask import request

    if has_request_context():
        request.medreg_unread = (user_id, count)  # type: ignore[attr-defined]


def _forget_unread() -> None:
    from flask import has_request_context
    from flask import request

    if has_request_context():
        request.medreg_unread = None  # type: ignore[attr-defined]


def page(user: User, before: str = "") -> MessagePage:
    """The person's messages, newest first, ``PAGE`` at a time (a forged cursor: the first page)."""
    stmt = select(OutboxMessage).where(*_own(user.id))
    found = NEWEST_FIRST.page(stmt, before, PAGE, lambda row: (row[0].id,))
    rows = [Message(m.id, m.subject, m.body, m.created_at, m.read_at is not None)
            for (m,) in found.rows]
    return MessagePage(rows, found.next, unread_count(user.id))


def mark_read(user: User, message_id: int) -> None:
    """Mark one of the person's messages read (again: nothing changes); another's: NotFound."""
    msg = db.session.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id,
                                                        *_own(user.id)))
    if msg is None:
        raise NotFound("没有这条消息")
    if msg.read_at is None:
        msg.read_at = utcnow()
    db.session.commit()
    _forget_unread()


def mark_all_read(user: User) -> int:
    """全部标为已读: every unread message of the person; returns how many were unread."""
    result = db.session.execute(update(OutboxMessage).where(
        *_own(user.id), OutboxMessage.read_at.is_(None)).values(read_at=utcnow()))
    db.session.commit()
    _forget_unread()
    return rowcount(result)
