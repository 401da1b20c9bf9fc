"""Published notices of 准予注册 and 注销 (医师法 第二十一条; R-14), per province, for anyone.

Only what a notice states leaves this module: name, 执业类别, institution, date. Never an ID
number, a phone, an address or a certificate number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy import select

from app.extensions import db
from app.models import CatalogueItem
from app.models import Institution
from app.models import Qualification
from app.models import Registration
from app.services.engine.clock import today_cst
from app.services.errors import InvalidInput
from app.services.records import regions
from app.services.records.regions import PROVINCES
from app.services.records.regions import province_name

KINDS = {"registered": "准予注册公告", "cancelled": "注销注册公告"}
PAGE_SIZE = 20
NOTICE_DAYS = 365  # how far back the notices are listed
# a registration once granted stays a published grant, whatever became of it later
GRANTED = ("ACTIVE", "SUSPENDED", "CANCELLED", "REVOKED", "CHANGED_OUT", "FILED", "PENDING_CHANGE")


@dataclass(frozen=True)
class Notice:
    """One line of a published notice."""

    name: str
    category: str
    institution: str
    place: str
    on: date


@dataclass(frozen=True)
class NoticePage:
    """One page of a notice list, newest first."""

    kind: str
    province: str
    items: list[Notice]
    page: int
    pages: int
    total: int


def notices(kind: str, province: str = "", page: int = 1) -> NoticePage:
    """The 准予注册 (``registered``) or 注销 (``cancelled``) notices of the last year.

    :param province: two-digit province code, or empty for every province.
    :raise InvalidInput: unknown list or province (message next to the field).
    """
    if kind not in KINDS:
        raise InvalidInput(_("请按提示修改"), {"kind": _("请选择公告类型")})
    province = (province or "").strip()
    if province and province not in PROVINCES:
        raise InvalidInput(_("请按提示修改"), {"province": _("请从列表中选择执业地点（省）")})
    since = today_cst() - timedelta(days=NOTICE_DAYS)
    when = Registration.approved_on if kind == "registered" else Registration.status_changed_on
    q = select(Registration, Qualification.name, Institution.name).join(
        Qualification, Qualification.id == Registration.qualification_id).join(
        Institution, Institution.id == Registration.institution_id).where(
        when.is_not(None), when >= since)
    if kind == "registered":
        q = q.where(Registration.status.in_(GRANTED))
    else:
        q = q.where(Registration.status == "CANCELLED")
    if province:
        q = q.where(Registration.place_region.startswith(province, autoescape=True))
    total = db.session.scalar(select(func.count()).select_from(q.subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = db.session.execute(q.order_by(when.desc(), Registration.id.desc())
                              .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE))
    cats = {c.code: c.name for c in db.session.scalars(
        select(CatalogueItem).where(CatalogueItem.kind == "practice_category"))}
    items = [Notice(name, cats.get(reg.category, reg.category), inst,
                    province_name(reg.place_region),
                    (reg.approved_on if kind == "registered" else reg.status_changed_on)
                    or since)
             for reg, name, inst in rows]
    return NoticePage(kind, province, items, page, pages, total)


def provinces() -> list[tuple[str, str]]:
    """The provinces a reader can choose from."""
    return regions.provinces()
