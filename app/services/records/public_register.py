"""医师执业注册信息查询: the public register and online verification of certificates.

Only public fields leave this module: never an ID number, a phone or an address.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from itsdangerous import BadSignature
from itsdangerous import SignatureExpired
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from app.extensions import db
from app.models import CatalogueItem
from app.models import FilingStatus
from app.models import Institution
from app.models import Qualification
from app.models import Registration
from app.models import RegistrationStatus
from app.models import User
from app.services.errors import InvalidInput
from app.services.errors import NotFound
from app.services.records import regions
from app.services.records.regions import PROVINCES
from app.services.records.regions import province_name
from app.services.records.validators import is_practice_cert

PUBLIC_STATUSES = (RegistrationStatus.ACTIVE, RegistrationStatus.PENDING_CHANGE, RegistrationStatus.SUSPENDED,
                   RegistrationStatus.CANCELLED, RegistrationStatus.REVOKED, RegistrationStatus.CHANGED_OUT,
                   RegistrationStatus.FILED)
VERIFY_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Filing:
    institution: str
    valid_from: date
    valid_to: date


@dataclass(frozen=True)
class PublicEntry:
    """What anyone may see of a registration."""

    registration_id: int
    name: str
    sex: str
    level: str
    category: str
    scopes: str
    place: str
    institution: str
    status: str
    cert_no: str
    approved_on: date | None
    filings: list[Filing]


def _names(kind: str) -> dict[str, str]:
    return {c.code: c.name for c in db.session.scalars(
        select(CatalogueItem).where(CatalogueItem.kind == kind))}


def _entry(reg: Registration, cats: dict[str, str], scopes: dict[str, str]) -> PublicEntry:
    return PublicEntry(
        reg.id, reg.qualification.name, reg.qualification.sex, reg.level,
        cats.get(reg.category, reg.category), "、".join(scopes.get(s, s) for s in reg.scopes),
        province_name(reg.place_region), reg.institution.name,
        reg.status_label, reg.cert_no or "", reg.approved_on,
        [Filing(f.institution.name, f.valid_from, f.valid_to) for f in reg.filings
         if f.status == FilingStatus.ACTIVE])


def provinces() -> list[tuple[str, str]]:
    return regions.provinces()


def search(name: str, province: str, institution: str, cert_no: str) -> list[PublicEntry]:
    """By 执业证书编码, or by name together with a province or an institution's name.

    The institution is typed, not picked from a list (a national list of a million
    institutions is no list); its full name matches every institution of that name. The
    province must be one of :func:`provinces`; every value is compared as plain text
    (``%`` and ``_`` match only themselves).
    """
    name, cert_no, province = (name or "").strip(), (cert_no or "").strip(), (province or "").strip()
    institution = (institution or "").strip()
    if province and province not in PROVINCES:
        raise InvalidInput(_("请按提示修改"), {"province": _("请从列表中选择执业地点（省）")})
    q = (select(Registration).join(Qualification, Qualification.id == Registration.qualification_id)
         .where(Registration.status.in_(PUBLIC_STATUSES)))
    if cert_no:
        if not is_practice_cert(cert_no):
            raise InvalidInput(_("请按提示修改"), {"cert_no": _("执业证书编码应为15位数字")})
        q = q.where(Registration.cert_no == cert_no)
    elif name and (province or institution):
        q = q.where(Qualification.name == name)
        if province:
            q = q.where(Registration.place_region.startswith(province, autoescape=True))
        if institution:
            q = q.where(Registration.institution_id.in_(
                select(Institution.id).where(Institution.name == institution)))
    else:
        raise InvalidInput(_("请按提示修改"), {"form": _(
            "请输入姓名并选择省份或执业机构，或直接输入执业证书编码")})
    cats, scopes = _names("practice_category"), _names("practice_scope")
    return [_entry(r, cats, scopes) for r in db.session.scalars(q.order_by(Registration.id)
                                                                .limit(50))]


def _signer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="certificate-verify")


def certificate(actor: User, registration_id: int, secret: str) -> tuple[PublicEntry, str]:
    """The physician's own electronic certificate and its verification token."""
    reg = db.session.get(Registration, registration_id)
    qual = actor.qualification
    if (reg is None or qual is None or reg.qualification_id != qual.id
            or reg.status not in PUBLIC_STATUSES or not reg.cert_no):
        raise NotFound(_("证书不存在"))
    entry = _entry(reg, _names("practice_category"), _names("practice_scope"))
    return entry, _signer(secret).dumps({"r": reg.id, "c": reg.cert_no})


def verify(token: str, secret: str) -> PublicEntry | None:
    """The registration a QR code's token names, if the token is genuine and recent."""
    try:
        data = _signer(secret).loads(token, max_age=VERIFY_SECONDS)
    except (SignatureExpired, BadSignature):
        return None
    reg = db.session.get(Registration, data.get("r"))
    if reg is None or reg.cert_no != data.get("c"):
        return None
    return _entry(reg, _names("practice_category"), _names("practice_scope"))


def qr_svg(url: str) -> str:
    """An SVG QR code of ``url``."""
    import segno  # on first use: the QR code is drawn on few pages

    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=4, xmldecl=False)
    return out.getvalue().decode("utf-8")
