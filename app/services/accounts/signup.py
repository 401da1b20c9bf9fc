"""Physician accounts: sign-up in two steps, matching against the records, activation.

Wording and rules follow the 2017 guide (个人用户注册, 医师账户激活).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import ActivationCode
from app.models import Institution
from app.models import Qualification
from app.models import RegistrationStatus
from app.models import Role
from app.models import User
from app.models import canonical_username
from app.models.base import utcnow
from app.services.accounts import accounts
from app.services.accounts import attempts
from app.services.accounts import websessions
from app.services.errors import DomainError
from app.services.errors import Forbidden
from app.services.errors import InvalidInput
from app.services.platform import audit
from app.services.platform import outbox
from app.services.platform.database import rowcount
from app.services.records.validators import MOBILE_RE
from app.services.records.validators import normalize_resident_id
from app.services.records.validators import resident_id_error

# DOMAIN §5 姓名: 2–30 characters, Chinese characters (生僻字 of CJK Ext-A to Ext-I and the
# compatibility ideographs included; 〇), runs joined by one 间隔号 for ethnic-minority names:
# "·" U+00B7 and the look-alikes people type for it (・ ･ • ‧ ∙ ⋅ ．).
_HAN = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U000323af"
_DOT = "\u00b7\u30fb\uff65\u2022\u2027\u2219\u22c5\uff0e"
NAME_RE = re.compile(rf"^(?=.{{2,30}}$)[{_HAN}]+(?:[{_DOT}][{_HAN}]+)*$")
_DOTS = str.maketrans({c: "\u00b7" for c in _DOT})
USERNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]{5,11}$")
PASSWORD_RE = re.compile(r"^[A-Za-z0-9]{6,16}$")
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
PATH_A_STATUSES = {RegistrationStatus.ACTIVE, RegistrationStatus.PENDING_CHANGE, RegistrationStatus.SUSPENDED}
MAX_CODE_TRIES = 5


@dataclass(frozen=True)
class Identity:
    name: str
    id_number: str


def normalize_name(name: str) -> str:
    """The name as stored and matched: trimmed, every 间隔号 look-alike written "·" (U+00B7),
    as the national records write it ("阿依古丽•买买提" is "阿依古丽·买买提")."""
    return (name or "").strip().translate(_DOTS)


def name_error(name: str) -> str | None:
    if not name:
        return _("请填写您的姓名")
    if not NAME_RE.fullmatch(name):
        return _("姓名应为2至30个汉字（少数民族姓名可用间隔号·），不要输入字母及数字")
    return None


def password_errors(password: str, confirm: str, field: str = "password") -> dict[str, str]:
    """The guide's password rule: 6–16 letters and digits, both present, case-sensitive."""
    errors: dict[str, str] = {}
    if not PASSWORD_RE.fullmatch(password or ""):
        errors[field] = _("密码要求6至16位数字和字母组合")
    elif not (re.search(r"[A-Za-z]", password) and re.search(r"\d", password)):
        errors[field] = _("密码必须同时包含字母和数字")
    if not errors and password != confirm:
        errors["confirm"] = _("两次输入的密码不一致")
    elif not confirm:
        errors.setdefault("confirm", _("请再次输入密码"))
    return errors


def check_identity(name: str, id_number: str) -> Identity:
    """Step 1 (您的姓名, 身份证号): a valid name and ID number.

    Whether an account already names this ID is not told (the same answer either way): an
    identity belongs to an account only once it is activated, so a second sign-up is
    allowed, and the activated owner is told at activation time (:func:`_close_others`).
    """
    name = (name or "").strip()
    errors: dict[str, str] = {}
    if msg := name_error(name):
        errors["name"] = msg
    else:
        name = normalize_name(name)
    number = normalize_resident_id(id_number)
    if not (id_number or "").strip():
        errors["id_number"] = _("请填写身份证号")
    elif msg := resident_id_error(number):
        errors["id_number"] = msg
    if errors:
        raise InvalidInput(_("请按提示修改后继续"), errors,
                           {"name": name, "id_number": (id_number or "").strip()})
    return Identity(name, number)


def match_qualification(name: str, id_number: str) -> Qualification | None:
    """The qualification record of this name and ID number, if the records hold one."""
    return db.session.scalar(select(Qualification).where(
        Qualification.id_number == id_number, Qualification.name == normalize_name(name)).limit(1))


def create_account(identity: Identity, mobile: str, email: str, username: str,
                   password: str, confirm: str) -> User:
    """Step 2: contacts, user name and password; the account is matched to the records."""
    mobile, email, username = (mobile or "").strip(), (email or "").strip(), (username or "").strip()
    errors: dict[str, str] = {}
    if not MOBILE_RE.fullmatch(mobile):
        errors["mobile"] = _("请如实填写11位手机号码")
    if not EMAIL_RE.fullmatch(email) or len(email) > 120:
        errors["email"] = _("请如实填写有效的电子邮箱")
    if not USERNAME_RE.fullmatch(username):
        errors["username"] = _("用户名以字母开头，6至12位数字和字母组合")
    elif db.session.scalar(select(User.id).where(User.username == canonical_username(username))):
        errors["username"] = _("该用户名已被使用，请换一个")
    errors.update(password_errors(password, confirm))
    if errors:
        raise InvalidInput(_("请按提示修改后继续"), errors,
                           {"mobile": mobile, "email": email, "username": username})
    qual = match_qualification(identity.name, identity.id_number)
    user = User(username=username, password_hash=accounts.hash_password(password),
                role=Role.PHYSICIAN, display_name=identity.name, id_number=identity.id_number,
                mobile=mobile, email=email, activated=False,
                qualification_id=qual.id if qual else None)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:  # the same name taken a moment ago, by a sign-up running alongside
        db.session.rollback()
        raise InvalidInput(_("请按提示修改后继续"), {"username": _("该用户名已被使用，请换一个")},
                           {"mobile": mobile, "email": email, "username": username}) from None
    audit.record(user, "account.register", "user", user.id, {"matched": qual is not None})
    db.session.commit()
    return user


@dataclass(frozen=True)
class ActivationStatus:
    """Where a physician's account stands (医师账户激活)."""

    path: str | None  # "A" (activation code), "B" (资格证书编码), None (no match / barred)
    qualification_found: bool
    registration_found: bool
    institution_name: str
    contact_verified: bool
    activated: bool
    barred: str | None = None


def _physician(user: User) -> None:
    if user.role is not Role.PHYSICIAN:
        raise Forbidden(_("只有医师账户需要激活"))


def status(user: User) -> ActivationStatus:
    """Match the account against the qualification and registration records."""
    _physician(user)
    qual = user.qualification or match_qualification(user.display_name, user.id_number or "")
    if qual is not None and user.qualification_id != qual.id:
        user.qualification_id = qual.id
        db.session.commit()
    contact = user.mobile_verified or user.email_verified
    if qual is None:
        return ActivationStatus(None, False, False, "", contact, user.activated)
    regs = list(qual.registrations)
    current = [r for r in regs if r.status in PATH_A_STATUSES]
    if current:
        inst = db.session.get(Institution, current[-1].institution_id)
        return ActivationStatus("A", True, True, inst.name if inst else "", contact,
                                user.activated)
    # a 吊销 never blocks the account (医师法 第十六条 bars re-registration for two years, not
    # access to one's own records): a revoked-only person takes path B like other invalid statuses
    return ActivationStatus("B", True, bool(regs), "", contact, user.activated)


IDENTITY_UPDATES = 5  # 检查和更新我的身份信息 per account in 24 hours
DAY = timedelta(hours=24)
MONTH_TRIES, MONTH = 10, timedelta(days=30)  # slow guessing over weeks is capped too


def update_identity(user: User, name: str, id_number: str) -> None:
    """检查和更新我的身份信息: correct name and ID number before activation (5 times a day)."""
    _physician(user)
    if user.activated:
        raise DomainError(_("账户已激活，身份信息不能再修改"))
    if not attempts.claim("identity_update", str(user.id), IDENTITY_UPDATES, DAY):
        db.session.commit()
        raise DomainError(_("身份信息修改次数过多，请24小时后再试，或到所在医疗机构核实"))
    name = (name or "").strip()
    errors: dict[str, str] = {}
    if msg := name_error(name):
        errors["name"] = msg
    else:
        name = normalize_name(name)
    number = normalize_resident_id(id_number)
    if msg := resident_id_error(number):
        errors["id_number"] = msg
    if errors:
        raise InvalidInput(_("请按提示修改后继续"), errors,
                           {"name": name, "id_number": (id_number or "").strip()})
    user.display_name, user.id_number = name, number
    qual = match_qualification(name, number)
    user.qualification_id = qual.id if qual else None
    audit.record(user, "account.identity_update", "user", user.id)
    db.session.commit()


def _ready(user: User, path: str) -> ActivationStatus:
    st = status(user)
    if user.activated:
        raise DomainError(_("您的账户已经激活"))
    if accounts.expired_unactivated(user):
        raise DomainError(_("该账户注册后%(d)s天内未激活，已失效，请重新注册", d=accounts.UNACTIVATED_DAYS))
    if not st.contact_verified:
        raise DomainError(_("请先验证您的手机号（或邮箱），再激活账户"))
    if st.path != path:
        raise DomainError(st.barred or _("您的账户不能用此方式激活"))
    return st


def activate_with_qualification(user: User, cert_no: str) -> None:
    """Path B: the 资格证书编码 entered equals the qualification record's."""
    _ready(user, "B")
    qual = user.qualification
    assert qual is not None
    given = (cert_no or "").strip().upper()
    if not given:
        raise InvalidInput(_("请输入您的医师资格证书编码"),
                           {"cert_no": _("请输入您的医师资格证书编码")})
    # counted per identity (ID number), across every account that names it
    if not (attempts.claim("activate_b", user.id_number or "", MAX_CODE_TRIES, DAY)
            and attempts.claim("activate_b_month", user.id_number or "", MONTH_TRIES, MONTH)):
        db.session.commit()
        raise InvalidInput(_("错误次数过多"), {"cert_no": _(
            "资格证书编码错误次数过多，请24小时后再试，或到所在医疗机构核实您的资格信息")},
            {"cert_no": given})
    if given != qual.cert_no.upper() or _owned_by_another(user):
        audit.record(user, "account.activate_failed", "user", user.id, {"path": "B"})
        db.session.commit()
        raise InvalidInput(_("资格证书编码不正确"), {"cert_no": _("资格证书编码与您的资格信息不符")},
                           {"cert_no": given})
    attempts.give_back("activate_b", user.id_number or "")
    attempts.give_back("activate_b_month", user.id_number or "")
    _activate(user, "B", {"path": "B"})


def activate_with_code(user: User, code: str) -> None:
    """Path A: the activation code issued by the main institution (single use, 30 days)."""
    _ready(user, "A")
    given = (code or "").strip().upper()
    if not given:
        raise InvalidInput(_("请输入账户激活码"), {"code": _("请输入账户激活码")})
    row = db.session.scalar(select(ActivationCode).where(
        ActivationCode.id_number == user.id_number, ActivationCode.revoked_at.is_(None),
        ActivationCode.used_at.is_(None)).order_by(ActivationCode.id.desc()).limit(1))
    wrong = InvalidInput(_("激活码不正确"), {"code": _("激活码不正确或已失效，请向医疗机构重新申领")})
    if row is None or row.expires_at < utcnow():
        raise wrong
    # reserve the try first (one UPDATE), so simultaneous guesses cannot pass the limit
    taken = db.session.execute(update(ActivationCode).where(
        ActivationCode.id == row.id, ActivationCode.attempts < MAX_CODE_TRIES,
        ActivationCode.used_at.is_(None)).values(attempts=ActivationCode.attempts + 1))
    if not rowcount(taken):
        db.session.commit()
        raise wrong
    try:
        ok = accounts.verify_secret(row.code_hash, given)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or _owned_by_another(user):
        db.session.commit()
        raise wrong
    used = db.session.execute(update(ActivationCode).where(
        ActivationCode.id == row.id, ActivationCode.used_at.is_(None)).values(used_at=utcnow()))
    if not rowcount(used):
        db.session.commit()
        raise wrong
    _activate(user, "A", {"path": "A", "code": row.id})


def _owned_by_another(user: User) -> bool:
    """Another, activated account already owns this ID number: its owner is told."""
    owner = db.session.scalar(select(User).where(
        User.id_number == user.id_number, User.activated.is_(True), User.id != user.id).limit(1))
    if owner is None:
        return False
    audit.record(user, "account.activate_refused_owned", "user", owner.id)
    outbox.notify_user(owner, _("账户安全提醒"), _(
        "有人使用您的身份信息注册了另一个账户并尝试激活，已被拒绝。您的账户不受影响；"
        "如有疑问，请联系所在医疗机构。"), key=f"owned:{user.id}")
    return True


def _activate(user: User, path: str, detail: dict[str, object]) -> None:
    """The account owns its ID number now: every other unactivated account that names it is
    closed (signed out, cannot sign in). The partial unique index keeps it to one."""
    user.activated, user.activation_path = True, path
    audit.record(user, "account.activate", "user", user.id, detail)
    for other in db.session.scalars(select(User).where(
            User.id_number == user.id_number, User.id != user.id, User.activated.is_(False),
            User.active.is_(True))):
        other.active = False
        other.mobile_verified = other.email_verified = False  # the phone is free for its owner
        websessions.end_all(other.id)
        audit.record(user, "account.closed_duplicate", "user", other.id)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise DomainError(_("该身份证号已有已激活的账户，本账户不能激活")) from None
