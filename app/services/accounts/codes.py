"""SMS and e-mail verification codes: 6 digits, 5 minutes, resend after 60 s, 5 tries."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy import update

from app.extensions import db
from app.models import VerificationCode
from app.models.base import utcnow
from app.services.accounts import attempts
from app.services.errors import DomainError
from app.services.platform import outbox
from app.services.platform.database import rowcount

VALID_MINUTES = 5
RESEND_SECONDS = 60
MAX_TRIES = 5
TARGET_TRIES = 10  # wrong codes per phone/e-mail in 24 hours, over every code sent to it
TARGET_SENDS = 10  # codes sent to one phone/e-mail in 24 hours
DAY = timedelta(hours=24)
UNIFORM = "校验码不正确或已失效，请重新获取"


def _hash(purpose: str, target: str, code: str) -> str:
    return hashlib.sha256(f"{purpose}:{target}:{code}".encode()).hexdigest()


def latest(purpose: str, target: str) -> VerificationCode | None:
    return db.session.scalar(select(VerificationCode).where(
        VerificationCode.purpose == purpose, VerificationCode.target == target)
        .order_by(VerificationCode.id.desc()).limit(1))


def seconds_until_resend(purpose: str, target: str) -> int:
    last = latest(purpose, target)
    if last is None:
        return 0
    left = RESEND_SECONDS - (utcnow() - last.created_at).total_seconds()
    return max(0, int(left + 0.999))


def send(purpose: str, channel: str, target: str, user_id: int | None) -> None:
    """Create and send a code (flushes; the caller commits).

    :raise DomainError: when asked again within 60 seconds.
    """
    wait = seconds_until_resend(purpose, target)
    if wait:
        raise DomainError(_("校验码已发送，请在 %(s)s 秒后再重新获取", s=wait))
    if not attempts.claim("code_send", target, TARGET_SENDS, DAY):
        raise DomainError(_("今天向该号码/邮箱发送的校验码已达上限，请明天再试"))
    code = f"{secrets.randbelow(10**6):06d}"
    now = utcnow()
    db.session.add(VerificationCode(purpose=purpose, channel=channel, target=target,
                                    user_id=user_id, code_hash=_hash(purpose, target, code),
                                    created_at=now,
                                    expires_at=now + timedelta(minutes=VALID_MINUTES)))
    text = _("您的校验码是 %(code)s，%(m)s分钟内有效。请勿将校验码告诉他人。", code=code,
             m=VALID_MINUTES)
    outbox.enqueue(channel, target, _("医师电子化注册信息系统校验码"), text, user_id=user_id,
                   secret=True)
    db.session.flush()


def check(purpose: str, target: str, code: str, reveal_tries: bool = True) -> VerificationCode:
    """Use the newest code for ``target``; wrong tries are counted (the caller must commit
    even when this raises, see :func:`consume`).

    The try is reserved before comparing, with one conditional UPDATE (``attempts < 5``), so
    30 simultaneous guesses get 5 comparisons, not more; a code is used at most once. Wrong
    codes are also counted per phone/e-mail over every code sent to it (10 in 24 hours), so
    asking for new codes does not buy new guesses. Without ``reveal_tries`` (sign-in and
    recovery, where the asker is unknown) every refusal has the same words, so a registered
    number cannot be told from an unknown one.
    """
    def refuse(message: str) -> DomainError:
        return DomainError(_(message) if reveal_tries else _(UNIFORM))

    row = latest(purpose, target)
    if row is None or row.used_at is not None:
        raise DomainError(_(UNIFORM))
    if row.expires_at < utcnow():
        raise refuse("校验码已过期，请重新获取")
    if not attempts.claim("code_target", target, TARGET_TRIES, DAY):
        raise refuse("校验码错误次数过多，请24小时后再试")
    taken = db.session.execute(update(VerificationCode).where(
        VerificationCode.id == row.id, VerificationCode.attempts < MAX_TRIES,
        VerificationCode.used_at.is_(None)).values(attempts=VerificationCode.attempts + 1))
    if not rowcount(taken):
        raise refuse("校验码错误次数过多，请重新获取")
    db.session.refresh(row)
    if not hmac.compare_digest(row.code_hash, _hash(purpose, target, (code or "").strip())):
        left = MAX_TRIES - row.attempts
        if not reveal_tries:
            raise DomainError(_(UNIFORM))
        raise DomainError(_("校验码不正确，还可以再试 %(n)s 次", n=left) if left else
                          _("校验码错误次数过多，请重新获取"))
    attempts.give_back("code_target", target)
    used = db.session.execute(update(VerificationCode).where(
        VerificationCode.id == row.id, VerificationCode.used_at.is_(None)).values(used_at=utcnow()))
    if not rowcount(used):
        raise DomainError(_(UNIFORM))
    db.session.refresh(row)
    return row


def consume(purpose: str, target: str, code: str, reveal_tries: bool = True) -> VerificationCode:
    """:func:`check`, committing the counted try when the code is wrong."""
    try:
        return check(purpose, target, code, reveal_tries)
    except DomainError:
        db.session.commit()
        raise
