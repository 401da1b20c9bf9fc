"""Sign-in and staff accounts (passwords hashed with argon2)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import union_all

from app.extensions import db
from app.models import Qualification
from app.models import Role
from app.models import User
from app.models import canonical_username
from app.models.base import utcnow
from app.services.accounts import codes
from app.services.errors import DomainError
from app.services.errors import InvalidInput
from app.services.platform import audit
from app.services.platform import outbox
from app.services.records.validators import is_mobile

_HASHER = PasswordHasher()
_FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
MAX_FAILURES = 5
LOCK_MINUTES = 15
UNACTIVATED_DAYS = 7
BAD_LOGIN = "用户名或密码错误"


def _hasher() -> PasswordHasher:
    return _FAST if current_app and current_app.config.get("MEDREG_FAST_HASH") else _HASHER


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_secret(hashed: str, secret: str) -> bool:
    """Check a secret (password, activation code) against its argon2 hash."""
    return _check(hashed, secret)


def _check(hashed: str, password: str) -> bool:
    try:
        return _hasher().verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _find(login: str) -> User | None:
    """The account signing in as ``login``: its 用户名, verified 手机号码 or (physicians)
    资格证书编码. Three index lookups (user name, mobile, qualification), not one OR over
    every account."""
    login = (login or "").strip()
    candidates = union_all(
        select(User.id).where(User.username == canonical_username(login)),
        select(User.id).where(User.mobile == login, User.mobile_verified.is_(True), User.active.is_(True)),
        select(User.id).join(Qualification, Qualification.id == User.qualification_id).where(
            Qualification.cert_no == login.upper(), User.role == Role.PHYSICIAN, User.activated.is_(True)),
    ).subquery()
    return db.session.scalar(select(User).where(User.id.in_(select(candidates.c.id)))
                             .order_by(User.activated.desc(), User.id).limit(1))


def _wait_after(failures: int) -> timedelta:
    """How long password tries wait after ``failures`` wrong ones in a row: none for the
    first four, then 1, 2, 4, 8 minutes, at most 15."""
    if failures < MAX_FAILURES:
        return timedelta(0)
    return timedelta(minutes=min(LOCK_MINUTES, 2 ** (failures - MAX_FAILURES)))


def password_try(user: User, password: str) -> bool:
    """One password try against ``user``, counted under a row lock.

    A try during the wait after repeated failures is not checked (the answer is the same as
    for a wrong password, in the same time), so guessing slows down for everyone, while the
    owner can still sign in with a code sent to a verified phone (:func:`sign_in_with_code`).
    """
    db.session.refresh(user, with_for_update=True)
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        _hasher().hash("timing-equaliser")
        db.session.commit()
        return False
    if user.active and _check(user.password_hash, password or ""):
        return True
    user.failed_logins += 1
    wait = _wait_after(user.failed_logins)
    user.locked_until = now + wait if wait else None
    if user.failed_logins == MAX_FAILURES:
        audit.record(user, "account.throttled", "user", user.id)
        outbox.notify_user(user, _("账户安全提醒"), _(
            "您的账户连续多次密码错误，密码登录已放慢。如非本人操作，请修改密码；"
            "您可以随时使用已验证的手机号接收校验码登录。"), key=f"throttled:{now:%Y%m%d%H}")
    db.session.commit()
    return False


def authenticate(login: str, password: str) -> User:
    """The user for a 用户名, verified 手机号 or 资格证书编码 and password.

    Existing and unknown accounts get the same answer in the same time; repeated failures
    make an account's password tries wait (never a lockout of its owner, see
    :func:`password_try`).
    """
    user = _find(login)
    if user is None:
        _hasher().hash("timing-equaliser")
        raise DomainError(BAD_LOGIN)
    if not password_try(user, password):
        raise DomainError(BAD_LOGIN)
    if expired_unactivated(user):
        raise DomainError(_("该账户注册后%(d)s天内未激活，已失效，请重新注册", d=UNACTIVATED_DAYS))
    _signed_in(user, "password")
    return user


def confirm_password(user: User, password: str) -> None:
    """Re-authentication before a security change; failures count as failed sign-ins."""
    if not password_try(user, password):
        raise InvalidInput(_("请按提示修改"), {"password": _("密码不正确")})
    audit.record(user, "account.reauthenticated", "user", user.id)
    db.session.commit()


def _signed_in(user: User, how: str) -> None:
    user.failed_logins = 0
    user.locked_until = None
    audit.record(user, "account.login", "user", user.id, {"via": how})
    db.session.commit()


def holds_contacts() -> Any:
    """SQL: the account still holds its verified phone/e-mail (activated, or within the 7 days
    an unactivated account stays open)."""
    return or_(User.activated.is_(True),
               User.created_at >= utcnow() - timedelta(days=UNACTIVATED_DAYS))


def expired_unactivated(user: User) -> bool:
    """A physician account not activated within 7 days of sign-up no longer opens."""
    return (user.role is Role.PHYSICIAN and not user.activated
            and user.created_at < utcnow() - timedelta(days=UNACTIVATED_DAYS))


LOGIN_PURPOSE = "login"


def send_login_code(mobile: str) -> str:
    """手机校验码登录: a code to a verified phone; the same answer for any number."""
    mobile = (mobile or "").strip()
    if not is_mobile(mobile):
        raise InvalidInput(_("请按提示修改"), {"target": _("请输入11位手机号码")}, {"target": mobile})
    user = db.session.scalar(select(User).where(User.mobile == mobile, User.mobile_verified.is_(True),
                                                User.active.is_(True), holds_contacts()).limit(1))
    if user is not None:
        try:
            codes.send(LOGIN_PURPOSE, "sms", mobile, user.id)
        except DomainError:
            pass  # asked again within 60 s: the same answer
        db.session.commit()
    else:
        _hasher().hash("timing-equaliser")
    return _("如果该手机号已通过验证，校验码已发送，请查收。")


def sign_in_with_code(mobile: str, code: str) -> User:
    """Sign in with the code sent to a verified phone (lifts the wait on password tries)."""
    mobile = (mobile or "").strip()
    codes.consume(LOGIN_PURPOSE, mobile, code, reveal_tries=False)
    user = db.session.scalar(select(User).where(User.mobile == mobile, User.mobile_verified.is_(True),
                                                User.active.is_(True), holds_contacts()).limit(1))
    if user is None:
        raise DomainError(_("校验码不正确或已失效，请重新获取"))
    _signed_in(user, "sms")
    return user


def load_user(user_id: str) -> User | None:
    """Flask-Login's user loader."""
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None
