"""One-time codes: SMS/e-mail verification codes and institution activation codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import UTCDateTime
from app.models.base import utcnow


class VerificationCode(db.Model):  # type: ignore[name-defined]
    """A 6-digit code sent to a phone or mailbox (stored hashed; 5 minutes; 5 tries)."""

    __tablename__ = "verification_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20), index=True)
    channel: Mapped[str] = mapped_column(String(10))  # sms / email
    target: Mapped[str] = mapped_column(String(120), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ActivationCode(db.Model):  # type: ignore[name-defined]
    """An account activation code issued by the main institution (path A).

    Bound to the ID number, the institution and the registration; single use, 30 days,
    hashed at rest; issuing a new one revokes the previous one.
    """

    __tablename__ = "activation_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"))
    code_hash: Mapped[str] = mapped_column(String(200))
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AttemptCounter(db.Model):  # type: ignore[name-defined]
    """Wrong tries of one kind against one subject (an identity, an account) in a window.

    ``key`` is the kind and a hash of the subject, so no ID number is kept here; a try is
    reserved with one conditional UPDATE before the answer is checked (see
    :mod:`app.services.accounts.attempts`), so concurrent tries cannot exceed the limit.
    """

    __tablename__ = "attempt_counter"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    # indexed: counters whose longest window has passed are swept (anyone can open a counter
    # by typing a new ID number or phone number, so they must not stay for ever)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    count: Mapped[int] = mapped_column(default=0)
