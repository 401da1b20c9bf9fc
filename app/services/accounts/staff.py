"""Accounts of staff: the administrator manages every account (users and roles); an
institution's 机构管理员 manages the staff accounts of that institution only.

New accounts and reset passwords get a random initial password, shown once to the person
who made it and never stored in clear.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import or_
from sqlalchemy import select

from app.extensions import db
from app.models import Authority
from app.models import Institution
from app.models import Role
from app.models import User
from app.models import canonical_username
from app.services.accounts import accounts
from app.services.accounts import websessions
from app.services.accounts.signup import password_errors
from app.services.errors import Forbidden
from app.services.errors import InvalidInput
from app.services.errors import NotFound
from app.services.platform import audit
from app.services.platform.paging import Keyset

USERNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,29}$")
PAGE = 50
STAFF_ROLES = (Role.INSTITUTION, Role.COMMISSION, Role.ADMIN)


@dataclass(frozen=True)
class Issued:
    """A new account or a reset password (the password is shown once)."""

    user_id: int
    username: str
    password: str


def _new_password() -> str:
    """12 letters and digits (the password rule allows 6–16 of them), with both kinds."""
    alphabet = string.ascii_letters + string.digits
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(12))
        if any(c.isdigit() for c in pw) and any(c.isalpha() for c in pw):
            return pw


def is_org_admin(actor: User) -> bool:
    return actor.role is Role.INSTITUTION and actor.org_admin and actor.institution_id is not None


def _require_manager(actor: User) -> None:
    if actor.role is not Role.ADMIN and not is_org_admin(actor):
        raise Forbidden(_("您无权管理账户"))


def _target(actor: User, user_id: int) -> User:
    """A user the actor may manage (others are 'not found' to an institution)."""
    _require_manager(actor)
    target = db.session.get(User, user_id)
    if target is None or (actor.role is not Role.ADMIN and (
            target.role is not Role.INSTITUTION or target.institution_id != actor.institution_id)):
        raise NotFound(_("账户不存在"))
    return target


NEWEST_FIRST = Keyset((User.id,), (int,), descending=True)


def search(actor: User, role: str = "", q: str = "", before: str = "") -> list[User]:
    """Accounts the actor manages, newest first, ``PAGE`` at a time after the ``before``
    cursor (a forged one shows the first page); ``q`` matches username or name."""
    _require_manager(actor)
    stmt = select(User)
    if actor.role is not Role.ADMIN:
        stmt = stmt.where(User.role == Role.INSTITUTION, User.institution_id == actor.institution_id)
    elif role in {r.value for r in Role}:
        stmt = stmt.where(User.role == Role(role))
    if q.strip():
        needle = q.strip()
        stmt = stmt.where(or_(User.username == canonical_username(needle),
                              User.display_name.contains(needle, autoescape=True)))
    after = NEWEST_FIRST.read(before)
    if after is not None:
        stmt = stmt.where(NEWEST_FIRST.after(after))
    return list(db.session.scalars(stmt.order_by(*NEWEST_FIRST.order_by()).limit(PAGE)))


def create(actor: User, role: str, username: str, display_name: str, org_code: str = "",
           org_admin: bool = False) -> Issued:
    """Create a staff account. An institution's 机构管理员 creates staff of its own institution."""
    _require_manager(actor)
    errors: dict[str, str] = {}
    values = {"role": role, "username": username, "display_name": display_name, "org_code": org_code}
    username, display_name, org_code = username.strip(), display_name.strip(), org_code.strip()
    if actor.role is not Role.ADMIN:
        role, org_admin = Role.INSTITUTION.value, False
    if role not in {r.value for r in STAFF_ROLES}:
        errors["role"] = _("请选择角色（医师账户由医师本人注册）")
    errors.update(_name_errors(username, display_name))
    institution_id = authority_id = None
    if actor.role is not Role.ADMIN:
        institution_id = actor.institution_id
    elif role == Role.INSTITUTION.value:
        institution_id = db.session.scalar(select(Institution.id).where(Institution.reg_no == org_code))
        if institution_id is None:
            errors["org_code"] = _("没有登记号为 %(c)s 的医疗机构", c=org_code or "（空）")
    elif role == Role.COMMISSION.value:
        authority_id = db.session.scalar(select(Authority.id).where(Authority.region_code == org_code))
        if authority_id is None:
            errors["org_code"] = _("没有区划代码为 %(c)s 的卫生健康行政部门", c=org_code or "（空）")
    if errors:
        raise InvalidInput(_("请按提示修改"), errors, values)
    password = _new_password()
    user = User(username=username, password_hash=accounts.hash_password(password), role=Role(role),
                display_name=display_name, institution_id=institution_id, authority_id=authority_id,
                org_admin=bool(org_admin) and role == Role.INSTITUTION.value)
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "account.created", "user", user.id,
                 {"username": user.username, "role": role, "org_admin": user.org_admin})
    db.session.commit()
    return Issued(user.id, user.username, password)


def set_active(actor: User, user_id: int, active: bool) -> User:
    """停用 / 启用 an account (never one's own)."""
    target = _target(actor, user_id)
    if target.id == actor.id:
        raise InvalidInput(_("不能停用自己的账户"), {"user": _("不能停用自己的账户")})
    target.active = active
    if not active:
        websessions.end_all(target.id)
    audit.record(actor, "account.enabled" if active else "account.disabled", "user", target.id)
    db.session.commit()
    return target


def reset_password(actor: User, user_id: int) -> Issued:
    """A new random password (shown once); also lifts a lockout."""
    target = _target(actor, user_id)
    password = _new_password()
    target.password_hash = accounts.hash_password(password)
    target.failed_logins, target.locked_until = 0, None
    websessions.end_all(target.id)
    audit.record(actor, "account.password_reset", "user", target.id)
    db.session.commit()
    return Issued(target.id, target.username, password)


def unlock(actor: User, user_id: int) -> User:
    """Lift a lockout after failed sign-ins."""
    target = _target(actor, user_id)
    target.failed_logins, target.locked_until = 0, None
    websessions.end_all(target.id)  # the person who was guessing may have got in meanwhile
    audit.record(actor, "account.unlocked", "user", target.id)
    db.session.commit()
    return target


def set_org_admin(actor: User, user_id: int, value: bool) -> User:
    """Make an institution account its 机构管理员 (administrators only)."""
    if actor.role is not Role.ADMIN:
        raise Forbidden(_("只有系统管理员可以指定机构管理员"))
    target = _target(actor, user_id)
    if target.role is not Role.INSTITUTION:
        raise InvalidInput(_("只有医疗机构账户可以设为机构管理员"), {"user": _("只有医疗机构账户可以设为机构管理员")})
    target.org_admin = value
    audit.record(actor, "account.org_admin", "user", target.id, {"value": value})
    db.session.commit()
    return target


def _name_errors(username: str, display_name: str) -> dict[str, str]:
    """The user name (free, of the allowed shape) and the display name of a new staff account."""
    errors: dict[str, str] = {}
    if not USERNAME_RE.fullmatch(username):
        errors["username"] = _("用户名为 4–30 位字母、数字或下划线，以字母开头")
    elif db.session.scalar(select(User.id).where(User.username == canonical_username(username))):
        errors["username"] = _("该用户名已被使用")
    if not 2 <= len(display_name) <= 60:
        errors["display_name"] = _("请填写姓名或科室名称（2–60 个字）")
    return errors


def create_admin(username: str, password: str, display_name: str = "系统管理员") -> int:
    """Create an administrator with a chosen password (the install's first administrator,
    from the command line); the password follows the guide's rule. Returns the user id."""
    username, display_name = username.strip(), display_name.strip()
    errors = {k: v for k, v in password_errors(password, password).items() if k == "password"}
    errors.update(_name_errors(username, display_name))
    if errors:
        raise InvalidInput(_("请按提示修改"), errors, {"username": username, "display_name": display_name})
    user = User(username=username, password_hash=accounts.hash_password(password), role=Role.ADMIN,
                display_name=display_name)
    db.session.add(user)
    db.session.flush()
    audit.record(None, "account.created", "user", user.id,
                 {"username": user.username, "role": Role.ADMIN.value, "via": "command line"})
    db.session.commit()
    return user.id
