"""Activation codes issued by the main institution (path A of 医师账户激活)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import ActivationCode
from app.models import OutboxMessage
from app.models import Qualification
from app.models import Registration
from app.models import RegistrationStatus
from app.models import Role
from app.models import User
from app.models.base import utcnow
from app.services.accounts import accounts
from app.services.accounts import attempts
from app.services.errors import Forbidden
from app.services.errors import InvalidInput
from app.services.errors import NotFound
from app.services.platform import audit
from app.services.platform import outbox
from app.services.records.validators import is_mobile
from app.services.records.validators import mask_id
from app.services.records.validators import mask_mobile

VALID_DAYS = 30
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
ISSUABLE = (RegistrationStatus.ACTIVE, RegistrationStatus.PENDING_CHANGE, RegistrationStatus.SUSPENDED)


@dataclass(frozen=True)
class RosterRow:
    registration_id: int
    name: str
    id_masked: str
    cert_no: str
    account: str  # 未注册账户 / 待激活 / 已激活
    code_expires_at: datetime | None
    roster_mobile: str  # masked; "" when the institution keeps no phone


def _staff(actor: User) -> int:
    if actor.role is not Role.INSTITUTION or actor.institution_id is None:
        raise Forbidden(_("只有医疗机构用户可以生成激活码"))
    return actor.institution_id


def roster(actor: User) -> list[RosterRow]:
    """Physicians whose registration is with the actor's institution, and their accounts."""
    inst_id = _staff(actor)
    rows = db.session.execute(
        select(Registration, Qualification).join(
            Qualification, Qualification.id == Registration.qualification_id)
        .where(Registration.institution_id == inst_id, Registration.status.in_(ISSUABLE))
        .order_by(Qualification.name)).all()
    ids = [q.id_number for _r, q in rows]
    users: dict[str | None, User] = {}
    for u in db.session.scalars(select(User).where(User.id_number.in_(ids), User.active.is_(True))
                                .order_by(User.activated)):
        users[u.id_number] = u  # an activated account, else any open one
    codes: dict[str, datetime] = {}
    for c in db.session.scalars(select(ActivationCode).where(
            ActivationCode.id_number.in_(ids), ActivationCode.revoked_at.is_(None),
            ActivationCode.used_at.is_(None))):
        codes[c.id_number] = c.expires_at
    out = []
    for reg, qual in rows:
        user = users.get(qual.id_number)
        account = _("未注册账户") if user is None else (
            _("已激活") if user.activated else _("待激活"))
        out.append(RosterRow(reg.id, qual.name, mask_id(qual.id_number), reg.cert_no or "",
                             account, codes.get(qual.id_number),
                             mask_mobile(reg.roster_mobile) if reg.roster_mobile else ""))
    return out


def set_roster_mobile(actor: User, registration_id: int, mobile: str) -> str:
    """Record the physician's phone as checked in person by the institution (the address an
    activation code goes to); an empty value removes it."""
    inst_id = _staff(actor)
    reg = db.session.get(Registration, registration_id)
    if reg is None or reg.institution_id != inst_id or reg.status not in ISSUABLE:
        raise NotFound(_("未找到在本机构执业的该医师"))
    mobile = (mobile or "").strip()
    if mobile and not is_mobile(mobile):
        raise InvalidInput(_("请输入11位手机号码"), {"mobile": _("请输入11位手机号码")}, {"mobile": mobile})
    reg.roster_mobile = mobile or None
    audit.record(actor, "roster.mobile", "registration", reg.id,
                 {"to": mask_mobile(mobile) if mobile else ""})
    db.session.commit()
    return reg.qualification.name


@dataclass(frozen=True)
class IssuedCode:
    code: str
    name: str
    expires_at: datetime
    sent_to: list[str]


def issue(actor: User, registration_id: int) -> IssuedCode:
    """Generate a code (shown once), revoking any earlier one, and send it to the physician."""
    inst_id = _staff(actor)
    reg = db.session.get(Registration, registration_id)
    if reg is None or reg.institution_id != inst_id or reg.status not in ISSUABLE:
        raise NotFound(_("未找到在本机构执业的该医师"))
    qual = reg.qualification
    now = utcnow()
    for old in db.session.scalars(select(ActivationCode).where(
            ActivationCode.id_number == qual.id_number, ActivationCode.revoked_at.is_(None),
            ActivationCode.used_at.is_(None))):
        old.revoked_at = now
    code = "".join(secrets.choice(ALPHABET) for _ in range(8))
    row = ActivationCode(id_number=qual.id_number, institution_id=inst_id, registration_id=reg.id,
                         code_hash=accounts.hash_password(code), issued_by_id=actor.id,
                         created_at=now, expires_at=now + timedelta(days=VALID_DAYS))
    db.session.add(row)
    db.session.flush()
    # Only to the phone this institution keeps for the physician, never to the contact data
    # an account declared itself (whoever signed up first with a name and ID would get it);
    # without one, the staff member hands the code over in person (shown once).
    sent: list[str] = []
    text = _("您的医师电子化注册系统账户激活码为 %(code)s，%(days)s天内有效，仅可使用一次。"
             "请登录系统在“激活我的账户”中输入。", code=code, days=VALID_DAYS)
    if reg.roster_mobile:
        outbox.enqueue("sms", reg.roster_mobile, _("账户激活码"), text, secret=True)
        sent.append(_("本机构登记的手机 %(m)s", m=mask_mobile(reg.roster_mobile)))
    audit.record(actor, "activation_code.issue", "registration", reg.id,
                 {"code_id": row.id, "sent": len(sent)})
    db.session.commit()
    return IssuedCode(code, qual.name, row.expires_at, sent)


RESENDS, RESEND_WINDOW = 3, timedelta(hours=24)  # per identity (ID number)


def send_on_verified(user: User) -> bool:
    """指南 1.3: "手机号码验证成功后，激活码会以短信方式发送至您的手机。"

    Called when a physician's account has just verified its phone. The live (unused,
    unrevoked, unexpired) code of the account's identity is sent again only when the
    verified number is the one the institution checked in person for that registration: a
    number an account declared itself never receives a code (anyone can sign up with a name
    and ID). A code that already went to that phone (issued after the institution recorded
    it) stays as it is. Codes are kept hashed, so the code sent is a fresh one with the same
    expiry that replaces the earlier one. At most three times a day per identity. Does not
    commit.
    """
    if (user.role is not Role.PHYSICIAN or user.activated or not user.mobile_verified
            or not user.mobile or not user.id_number):
        return False
    now = utcnow()
    row = db.session.scalar(select(ActivationCode).where(
        ActivationCode.id_number == user.id_number, ActivationCode.revoked_at.is_(None),
        ActivationCode.used_at.is_(None), ActivationCode.expires_at > now)
        .order_by(ActivationCode.id.desc()).limit(1))
    reg = db.session.get(Registration, row.registration_id) if row else None
    if (row is None or reg is None or reg.status not in ISSUABLE
            or reg.roster_mobile != user.mobile
            or reg.qualification_id != user.qualification_id):
        return False
    delivered = db.session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.channel == "sms", OutboxMessage.recipient == user.mobile,
        OutboxMessage.subject == _("账户激活码"), OutboxMessage.created_at >= row.created_at)
        .limit(1))
    if delivered is not None:  # the live code already went to this phone: it stays valid
        return False
    if not attempts.claim("activation_resend", user.id_number, RESENDS, RESEND_WINDOW):
        return False
    row.revoked_at = now
    code = "".join(secrets.choice(ALPHABET) for _ in range(8))
    fresh = ActivationCode(id_number=row.id_number, institution_id=row.institution_id,
                           registration_id=row.registration_id,
                           code_hash=accounts.hash_password(code), issued_by_id=row.issued_by_id,
                           created_at=now, expires_at=row.expires_at)
    db.session.add(fresh)
    db.session.flush()
    days = max(1, -(-(row.expires_at - now) // timedelta(days=1)))
    outbox.enqueue("sms", user.mobile, _("账户激活码"), _(
        "您的手机号码已验证。您的医师电子化注册系统账户激活码为 %(code)s，%(days)s天内有效，"
        "仅可使用一次，此前的激活码已失效。请登录系统在“激活我的账户”中输入。",
        code=code, days=days), user_id=user.id, secret=True)
    audit.record(user, "activation_code.resend", "registration", reg.id,
                 {"code_id": fresh.id, "replaces": row.id})
    return True
