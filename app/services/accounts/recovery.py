"""找回您的登录账户: by verified phone, by verified e-mail, or by personal information.

Answers never reveal whether an account exists.
"""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services.accounts import accounts
from app.services.accounts import attempts
from app.services.accounts import codes
from app.services.accounts import websessions
from app.services.accounts.signup import EMAIL_RE
from app.services.accounts.signup import normalize_name
from app.services.accounts.signup import password_errors
from app.services.errors import DomainError
from app.services.errors import InvalidInput
from app.services.platform import audit
from app.services.platform import outbox
from app.services.records.validators import MOBILE_RE
from app.services.records.validators import normalize_resident_id

PURPOSE = "recover"
IDENTITY_KIND = "recover_identity"



def _owner(channel: str, target: str) -> User | None:
    col, verified = ((User.mobile, User.mobile_verified) if channel == "sms"
                     else (User.email, User.email_verified))
    return db.session.scalar(select(User).where(col == target, verified.is_(True), User.active.is_(True),
                                                accounts.holds_contacts()).limit(1))


def _target(channel: str, target: str) -> str:
    target = (target or "").strip()
    rule = MOBILE_RE if channel == "sms" else EMAIL_RE
    if not rule.fullmatch(target):
        field = "mobile" if channel == "sms" else "email"
        raise InvalidInput(_("请按提示修改"), {field: _("请输入11位手机号码") if channel == "sms"
                                            else _("请输入有效的电子邮箱")}, {field: target})
    return target


def send_code(channel: str, target: str) -> str:
    """Send a recovery code when the phone/e-mail belongs to a verified account.

    The answer is the same either way.
    """
    target = _target(channel, target)
    user = _owner(channel, target)
    if user is not None:
        try:
            codes.send(PURPOSE, channel, target, user.id)
        except DomainError:
            pass  # asked again within 60 s: the same answer, so nothing is revealed
        db.session.commit()
    return _("如果该手机号已通过验证，校验码已发送，请查收。") if channel == "sms" else _(
        "如果该邮箱已通过验证，校验码已发送，请查收。")


def reset_with_code(channel: str, target: str, code: str, password: str,
                    confirm: str) -> str:
    """Set a new password with the code; returns the user name to sign in with."""
    target = _target(channel, target)
    errors = password_errors(password, confirm)
    if errors:
        raise InvalidInput(_("请按提示修改"), errors, {"target": target})
    codes.consume(PURPOSE, target, code, reveal_tries=False)
    user = _owner(channel, target)
    if user is None:  # only reachable if the contact was unverified after the code was sent
        raise DomainError(_("校验码不正确或已失效，请重新获取"))
    _set_password(user, password, f"account.recover_{channel}")
    return user.username


IDENTITY_TRIES = 5
IDENTITY_WINDOW = timedelta(hours=24)
NO_MATCH = "您输入的信息与我们的记录不符，或该账户已绑定手机号/邮箱（请通过手机或邮箱找回），无法通过个人信息找回"


def _identity_account(number: str, name: str, mobile: str, cert_no: str) -> User | None:
    """The open account of this ID number whose sign-up details are these: the name, the
    mobile number given at sign-up, and the 资格证书编码 when the account is matched to a
    qualification (empty when it is not); never one with a verified phone or e-mail."""
    candidates = db.session.scalars(select(User).where(
        User.id_number == number, User.active.is_(True), accounts.holds_contacts())
        .order_by(User.activated.desc(), User.id)).all()
    owner = next((u for u in candidates if u.activated), None)
    for user in [owner] if owner is not None else candidates:
        qual = user.qualification
        if (user.mobile_verified or user.email_verified or user.display_name != name
                or not user.mobile or user.mobile != mobile):
            continue
        if qual is not None and qual.cert_no.upper() == cert_no:
            return user
        if qual is None and not cert_no:
            return user
    return None


def reset_with_identity(name: str, id_number: str, mobile: str, cert_no: str, password: str,
                        confirm: str) -> str:
    """通过个人信息找回: "如果您的手机号和邮箱都未验证可通过账户注册时填写的个人信息找回登录账户"
    — name + ID number + the mobile number given at sign-up, and the 资格证书编码 when the
    account is matched to a qualification (an account not matched leaves it empty). Only an
    account with neither a verified phone nor a verified e-mail; an activated account owns
    its ID number, so then only that one.

    Wrong tries are counted per ID number, whoever makes them: after 5 in 24 hours the path
    is closed for that identity, the right answer too, and the owner is told. Every refusal
    has the same words, whether or not an account exists.
    """
    errors = password_errors(password, confirm)
    if errors:
        raise InvalidInput(_("请按提示修改"), errors, {"name": name, "id_number": id_number})
    number = normalize_resident_id(id_number)
    if not number:
        raise DomainError(_(NO_MATCH))
    if not (attempts.claim(IDENTITY_KIND, number, IDENTITY_TRIES, IDENTITY_WINDOW)
            and attempts.claim(IDENTITY_KIND + "_month", number, 10, timedelta(days=30))):
        db.session.commit()
        raise DomainError(_("通过个人信息找回的错误次数过多，该身份的此找回方式已关闭24小时。"
                            "请到所在医疗机构核实身份后重置密码"))
    user = _identity_account(number, normalize_name(name), (mobile or "").strip(),
                             (cert_no or "").strip().upper())
    if user is None:
        used = attempts.used(IDENTITY_KIND, number, IDENTITY_WINDOW)
        if used >= IDENTITY_TRIES:  # the try that closed the path: told once per window
            open_ = list(db.session.scalars(select(User).where(
                User.id_number == number, User.active.is_(True), accounts.holds_contacts())))
            for warned in [u for u in open_ if u.activated] or open_:
                audit.record(None, "account.recover_identity_closed", "user", warned.id)
                outbox.notify_user(warned, _("账户安全提醒"), _(
                    "有人多次尝试通过个人信息找回您的账户，此找回方式已关闭24小时。"
                    "如非本人操作，请联系所在医疗机构。"))
        db.session.commit()
        raise DomainError(_(NO_MATCH))
    attempts.give_back(IDENTITY_KIND, number)
    attempts.give_back(IDENTITY_KIND + "_month", number)
    _set_password(user, password, "account.recover_identity")
    return user.username


def _set_password(user: User, password: str, action: str) -> None:
    user.password_hash = accounts.hash_password(password)
    user.failed_logins, user.locked_until = 0, None
    websessions.end_all(user.id)  # whoever held a session of this account is out
    audit.record(user, action, "user", user.id)
    outbox.notify_user(user, _("密码已重置"), _("您的登录密码已重置。如非本人操作，请立即联系所在医疗机构。"))
    db.session.commit()
