"""Server-side sessions: created, read, updated and ended here; ending every session of a
user (password, phone or e-mail changed, account recovered, disabled or unlocked) is one
statement, so a copied cookie stops working at once."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from app.extensions import db
from app.models.base import utcnow
from app.models.user import User
from app.models.websession import WebSession
from app.services.platform import messages
from app.services.platform import pagehead
from app.services.platform.database import rowcount

TOUCH_SECONDS = 60  # seen_at is written at most once a minute per session


@dataclass(frozen=True)
class Stored:
    sid: str  # the hash of the cookie's token
    data: str
    user_id: int | None
    touch: bool  # seen_at is old enough to be written again
    # the signed-in person, read in the same query: while the request holds it, Flask-Login's
    # user loader finds it in the ORM session without a second round trip
    user: User | None = None


def sid_of(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _limits() -> tuple[timedelta, timedelta]:
    cfg = current_app.config
    return (timedelta(minutes=int(cfg["MEDREG_SESSION_IDLE_MINUTES"])),
            timedelta(hours=int(cfg["MEDREG_SESSION_MAX_HOURS"])))


# built once: every request asks; the person's unread 消息 count (the header's 消息（N）) and
# the publication and configured types' stamps (app.services.platform.pagehead) come in the
# same round trip
_LOAD = (select(WebSession.id, WebSession.data, WebSession.user_id, WebSession.seen_at,
                WebSession.created_at, User, messages.unread_of(WebSession.user_id),
                pagehead.PUBLISHED_NEWEST, pagehead.PUBLISHED_COUNT, pagehead.TYPES_STAMP)
         .outerjoin(User, User.id == WebSession.user_id)
         .where(WebSession.id == bindparam("sid")))


def load(token: str) -> Stored | None:
    """The live session of this cookie token (None when unknown, ended or expired)."""
    if not token or len(token) > 100:
        return None
    found = db.session.execute(_LOAD, {"sid": sid_of(token)}).first()
    if found is None:
        return None
    sid, data, user_id, seen_at, created_at, user, unread, newest, published, types_stamp = found
    pagehead.remember_stamp(newest, published)
    pagehead.remember_types_stamp(types_stamp)
    now = utcnow()
    idle, most = _limits()
    if seen_at < now - idle or created_at < now - most:
        return None
    if user_id is not None:
        messages.remember_unread(user_id, int(unread or 0))
    return Stored(sid, data, user_id, (now - seen_at).total_seconds() > TOUCH_SECONDS, user)


def create(data: str, user_id: int | None) -> str:
    """A new session row; returns the cookie token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(WebSession(id=sid_of(token), user_id=user_id, data=data, created_at=now,
                              seen_at=now))
    if secrets.randbelow(200) == 0:
        _sweep()
    db.session.commit()
    return token


def save(sid: str, data: str, user_id: int | None) -> bool:
    """Store the values of a live session; False when it was ended meanwhile (not revived)."""
    done = db.session.execute(update(WebSession).where(WebSession.id == sid).values(
        data=data, user_id=user_id, seen_at=utcnow()))
    db.session.commit()
    return bool(rowcount(done))


def swap(sid: str, old: str, new: str) -> bool:
    """Store ``new`` only if the session still holds ``old`` (a one-time value taken once,
    even by two requests racing with the same cookie)."""
    done = db.session.execute(update(WebSession).where(
        WebSession.id == sid, WebSession.data == old).values(data=new, seen_at=utcnow()))
    db.session.commit()
    return bool(rowcount(done))


def touch(sid: str) -> None:
    db.session.execute(update(WebSession).where(WebSession.id == sid).values(seen_at=utcnow()))
    db.session.commit()


def end(sid: str) -> bool:
    """退出: this session only; False when it had already been ended."""
    done = db.session.execute(delete(WebSession).where(WebSession.id == sid))
    db.session.commit()
    return bool(rowcount(done))


def end_all(user_id: int, keep: str | None = None) -> None:
    """Every session of the user but ``keep`` (flushes; the caller's transaction commits)."""
    stmt = delete(WebSession).where(WebSession.user_id == user_id)
    if keep:
        stmt = stmt.where(WebSession.id != keep)
    db.session.execute(stmt)


def count(user_id: int) -> int:
    return len(db.session.scalars(select(WebSession.id).where(WebSession.user_id == user_id)).all())


def _sweep() -> None:
    now = utcnow()
    idle, most = _limits()
    db.session.execute(delete(WebSession).where(or_(
        WebSession.seen_at < now - idle, WebSession.created_at < now - most)))
