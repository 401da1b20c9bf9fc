"""安全设置: verify or change the phone and e-mail, change the password."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services.accounts import accounts
from app.services.accounts import activation
from app.services.accounts import codes
from app.services.accounts import websessions
from app.services.accounts.signup import EMAIL_RE
from app.services.accounts.signup import password_errors
from app.services.errors import DomainError
from app.services.errors import InvalidInput
from app.services.platform import audit
from app.services.platform import outbox
from app.services.records.validators import MOBILE_RE
from app.services.records.validators import mask_mobile

FIELDS = {"sms": ("mobile", "mobile_verified"), "email": ("email", "email_verified")}


def _target(channel: str, value: str) -> str:
    value = (value or "").strip()
    if channel == "sms" and not MOBILE_RE.fullmatch(value):
        raise InvalidInput(_("请按提示修改"), {"target": _("请输入11位手机号码")}, {"target": value})
    if channel == "email" and not EMAIL_RE.fullmatch(value):
        raise InvalidInput(_("请按提示修改"), {"target": _("请输入有效的电子邮箱")}, {"target": value})
    return value


def send_code(user: User, channel: str, new_value: str | None = None) -> None:
    """Send a code to the current contact (to verify it) or to a new one (to change it)."""
    field, _flag = FIELDS[channel]
    target = _target(channel, new_value if new_value is not None else getattr(user, field) or "")
    if new_value is not None and target == getattr(user, field) and getattr(user, _flag):
        raise InvalidInput(_("请按提示修改"), {"target": _("这已是您已验证的号码/邮箱")},
                           {"target": target})
    taken = select(User.id).where(getattr(User, field) == target,
                                  getattr(User, _flag).is_(True), User.id != user.id,
                                  User.active.is_(True), accounts.holds_contacts())
    if db.session.scalar(taken):
        raise InvalidInput(_("请按提示修改"), {"target": _("该号码/邮箱已被其他账户验证使用")},
                           {"target": target})
    codes.send(f"verify_{channel}:{user.id}", channel, target, user.id)
    db.session.commit()


def confirm(user: User, channel: str, target: str, code: str, keep_session: str | None = None) -> bool:
    """Check the code and make ``target`` the user's verified phone/e-mail; every other
    session of the user ends. True when an activation code was sent to the phone just
    verified (:func:`activation.send_on_verified`)."""
    field, flag = FIELDS[channel]
    target = _target(channel, target)
    codes.consume(f"verify_{channel}:{user.id}", target, code)
    old = getattr(user, field)
    changed = old != target
    setattr(user, field, target)
    setattr(user, flag, True)
    audit.record(user, f"account.{field}_{'change' if changed else 'verify'}", "user", user.id,
                 {"to": mask_mobile(target) if channel == "sms" else target.split("@")[-1]})
    what = _("手机号") if channel == "sms" else _("邮箱")
    body = _("您的%(what)s已%(act)s。如非本人操作，请立即修改密码并联系所在医疗机构。",
             what=what, act=_("更换") if changed else _("验证"))
    outbox.notify_user(user, _("账户安全提醒"), body)
    if changed and old:
        outbox.enqueue(channel, old, _("账户安全提醒"), body, user_id=user.id)
    websessions.end_all(user.id, keep=keep_session)
    sent = channel == "sms" and activation.send_on_verified(user)
    db.session.commit()
    return sent


def change_password(user: User, old: str, new: str, confirm_: str,
                    keep_session: str | None = None) -> None:
    """修改密码: the old password is required; every other session of the user ends."""
    errors = password_errors(new, confirm_)
    if not accounts.password_try(user, old or ""):  # counted like a failed sign-in
        errors["old"] = _("原密码不正确")
    elif old == new and not errors:
        errors["password"] = _("新密码不能与原密码相同")
    if errors:
        raise InvalidInput(_("请按提示修改"), errors)
    user.password_hash = accounts.hash_password(new)
    websessions.end_all(user.id, keep=keep_session)
    audit.record(user, "account.password_change", "user", user.id)
    outbox.notify_user(user, _("账户安全提醒"), _("您的登录密码已修改。如非本人操作，请立即联系所在医疗机构。"))
    db.session.commit()


def ensure_physician(user: User) -> None:
    if user.role.value != "physician":
        raise DomainError(_("只有医师账户可以在此设置"))
