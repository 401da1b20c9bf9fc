"""Sign-in and staff accounts (passwords hashed with argon2)."""

from __future__ import annotations

from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_
from sqlalchemy import select

from app.errors import DomainError
from app.extensions import db
from app.models import Qualification
from app.models import Role
from app.models import User
from app.models.base import utcnow
from app.services import audit

_HASHER = PasswordHasher()
_FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
MAX_FAILURES = 5
LOCK_MINUTES = 15
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


def authenticate(login: str, password: str) -> User:
    """The user for a 用户名, verified 手机号 or 资格证书编码 and password.

    Five failures lock the account for 15 minutes.
    """
    login = (login or "").strip()
    cert_owner = select(Qualification.id).where(Qualification.cert_no == login.upper())
    user = db.session.scalar(select(User).where(or_(
        User.username == login,
        (User.mobile == login) & User.mobile_verified.is_(True),
        User.qualification_id.in_(cert_owner) & (User.role == Role.PHYSICIAN),
    )).order_by(User.id).limit(1))
    now = utcnow()
    if user is None:
        _hasher().hash("timing-equaliser")
        raise DomainError(BAD_LOGIN)
    if user.locked_until is not None and user.locked_until > now:
        raise DomainError(_("登录失败次数过多，账户已锁定15分钟，请稍后再试"))
    if not user.active or not _check(user.password_hash, password or ""):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            user.failed_logins = 0
            audit.record(user, "account.locked", "user", user.id)
        db.session.commit()
        raise DomainError(BAD_LOGIN)
    user.failed_logins = 0
    user.locked_until = None
    audit.record(user, "account.login", "user", user.id)
    db.session.commit()
    return user


def load_user(user_id: str) -> User | None:
    """Flask-Login's user loader."""
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None
