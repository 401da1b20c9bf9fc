"""Idempotency tokens (issue 11 §2): a form that changes state carries a token made for that
rendering; the first submission records (token, user) → result in its own transaction, and a
resubmission of the same token gets that result back instead of acting again.

The row is written first, so on PostgreSQL a simultaneous twin waits on the unique token and
then reads the winner's result; on SQLite every service call is already a serial writer.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import SubmissionToken
from app.services.errors import Conflict

KEEP_FOR = timedelta(days=2)  # a page left open longer is submitted as a new one
MAX_LENGTH = 64


def new_token() -> str:
    """A fresh token for one rendering of a form."""
    return secrets.token_urlsafe(24)


@dataclass
class Claim:
    """This submission's hold on its token; ``first`` is set when the token was used before."""

    row: SubmissionToken | None
    first: int | None = None

    def done(self, result_id: int) -> None:
        """Record the result, in the transaction of the effect."""
        if self.row is not None:
            self.row.result_id = result_id
            db.session.flush()


def _usable(token: str | None) -> str | None:
    token = (token or "").strip()
    return token if 16 <= len(token) <= MAX_LENGTH else None


def _first(token: str, user_id: int | None, action: str) -> int | None:
    row = db.session.scalar(select(SubmissionToken).where(SubmissionToken.token == token))
    if row is None:
        return None
    if row.user_id != user_id or row.action != action or row.result_id is None:
        raise Conflict(_("页面已过期或表单无效，请刷新页面后重新提交。"))
    return row.result_id


def claim(token: str | None, user_id: int | None, action: str) -> Claim:
    """Hold ``token`` for this submission, or name the first submission's result.

    Without a (well-formed) token the submission simply runs: nothing is recorded.
    :raise Conflict: the token belongs to another person's or another form's submission.
    """
    token = _usable(token)
    if token is None:
        return Claim(None)
    first = _first(token, user_id, action)
    if first is not None:
        return Claim(None, first)
    row = SubmissionToken(token=token, user_id=user_id, action=action)
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:  # a twin committed it meanwhile (PostgreSQL waits, then lands here)
        first = _first(token, user_id, action)
        if first is None:
            raise Conflict(_("页面已过期或表单无效，请刷新页面后重新提交。")) from None
        return Claim(None, first)
    return Claim(row)


def prune(now: datetime) -> int:
    """Forget tokens older than :data:`KEEP_FOR` (run by the hourly sweep); returns rows removed."""
    result = db.session.execute(delete(SubmissionToken).where(
        SubmissionToken.created_at < now - KEEP_FOR))
    db.session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
