"""Counting wrong tries per subject (an identity, an account), whoever makes them.

A try is reserved before the answer is checked, with one conditional UPDATE
(``count < limit``), so tries made at the same moment from many sessions or addresses
cannot pass the limit; a right answer gives its reservation back. The caller commits, also
when it then refuses (the reservation must stay counted).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.extensions import db
from app.models import AttemptCounter
from app.models.base import utcnow
from app.services.platform.database import is_postgres
from app.services.platform.database import rowcount

LONGEST_WINDOW = timedelta(days=31)  # the longest window any caller counts in is 30 days
SWEEP_ONE_IN = 200  # one claim in this many also deletes the counters no window still needs


def key(kind: str, subject: str) -> str:
    """The counter's key: the kind and a keyed hash of the subject (no ID number stored)."""
    secret = str(current_app.config.get("SECRET_KEY") or "").encode("utf-8")
    digest = hashlib.blake2b(subject.encode("utf-8"), key=secret[:64], digest_size=24).hexdigest()
    return f"{kind}:{digest}"


def claim(kind: str, subject: str, limit: int, window: timedelta) -> bool:
    """Reserve one try; False when ``limit`` tries were already used in the window."""
    k, now = key(kind, subject), utcnow()
    insert = pg_insert if is_postgres() else sqlite_insert
    db.session.execute(insert(AttemptCounter).values(key=k, window_start=now, count=0)
                       .on_conflict_do_nothing(index_elements=["key"]))
    db.session.execute(update(AttemptCounter).where(
        AttemptCounter.key == k, AttemptCounter.window_start < now - window)
        .values(window_start=now, count=0))
    taken = db.session.execute(update(AttemptCounter).where(
        AttemptCounter.key == k, AttemptCounter.count < limit)
        .values(count=AttemptCounter.count + 1))
    if secrets.randbelow(SWEEP_ONE_IN) == 0:
        sweep()
    return bool(rowcount(taken))


def sweep() -> None:
    """Delete the counters whose last window started longer ago than any window lasts: an
    anonymous client opening a counter per request (a new ID number or phone number each
    time) leaves rows for at most that long."""
    db.session.execute(delete(AttemptCounter).where(
        AttemptCounter.window_start < utcnow() - LONGEST_WINDOW))


def give_back(kind: str, subject: str) -> None:
    """A right answer: its reserved try does not count."""
    db.session.execute(update(AttemptCounter).where(
        AttemptCounter.key == key(kind, subject), AttemptCounter.count > 0)
        .values(count=AttemptCounter.count - 1))


def used(kind: str, subject: str, window: timedelta) -> int:
    row = db.session.scalar(select(AttemptCounter).where(AttemptCounter.key == key(kind, subject)))
    if row is None or row.window_start < utcnow() - window:
        return 0
    return row.count
