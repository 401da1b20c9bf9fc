"""拟执业机构 found by part of its name, its 登记号 or its 统一社会信用代码 (issue 14).

China has about a million medical institutions: a form never lists them all. A search returns
at most :data:`LIMIT` matches, exact and prefix matches first, each labelled with its 所在地区
so two hospitals of the same name differ; a chosen institution's 科室 are read for it alone.
On PostgreSQL the name search uses the pg_trgm index ``ix_institution_name_trgm``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlalchemy import case
from sqlalchemy import or_
from sqlalchemy import select

from app.extensions import db
from app.models import Authority
from app.models import Department
from app.models import Institution
from app.services.records.regions import province_name

LIMIT = 20  # matches shown at most
MAX_QUERY = 60  # characters of a query kept
_SUFFIXES = ("卫生健康委员会", "卫生健康局", "卫生健康委", "卫健委", "卫生局")


@dataclass(frozen=True)
class Match:
    """One institution as a search shows it."""

    id: int
    name: str
    region: str  # 所在地区: 省 (and 市/县 of its approving commission)

    @property
    def label(self) -> str:
        return f"{self.name}（{self.region}）" if self.region else self.name


def region_label(region_code: str, authority_name: str, level: str) -> str:
    """所在地区 of an institution: its province, and the city or county of the commission
    that approved it ("山西省 太原市")."""
    province = province_name(region_code)
    if level == "province":
        return province
    place = authority_name
    for suffix in _SUFFIXES:
        place = place.removesuffix(suffix)
    return f"{province} {place}" if place and place != province else province


_COLUMNS = (Institution.id, Institution.name, Institution.region_code, Authority.name,
            Authority.level)
_BASE = select(*_COLUMNS).join(Authority, Authority.id == Institution.authority_id)
_BY_IDS = _BASE.where(Institution.id.in_(bindparam("ids", expanding=True)))
_DEPARTMENTS = select(Department.id, Department.name).where(
    Department.institution_id == bindparam("institution_id"),
    Department.active.is_(True)).order_by(Department.code, Department.id)


def clean_query(text: str | None) -> str:
    """The query as searched: trimmed, at most :data:`MAX_QUERY` characters."""
    return " ".join((text or "").split())[:MAX_QUERY]


def search(text: str | None, limit: int = LIMIT) -> list[Match]:
    """Institutions whose name contains ``text`` (``%`` and ``_`` are literal), or whose 登记号
    or 统一社会信用代码 is ``text``: exact name first, then names starting with it, then by
    name; at most ``limit`` (≤ :data:`LIMIT`). Fewer than 2 characters find nothing."""
    q = clean_query(text)
    if len(q) < 2:
        return []
    rank = case((Institution.name == q, 0), (Institution.name.istartswith(q, autoescape=True), 1),
                else_=2)
    stmt = (_BASE.where(or_(Institution.name.icontains(q, autoescape=True),
                            Institution.reg_no == q, Institution.credit_code == q.upper()))
            .order_by(rank, Institution.name, Institution.id).limit(max(1, min(limit, LIMIT))))
    return [Match(i, n, region_label(r, a, lv)) for i, n, r, a, lv in db.session.execute(stmt)]


def named(ids: Collection[int]) -> list[Match]:
    """The institutions ``ids`` name (a chosen or kept value), in the order given."""
    wanted = [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]
    if not wanted:
        return []
    found = {i: Match(i, n, region_label(r, a, lv))
             for i, n, r, a, lv in db.session.execute(_BY_IDS, {"ids": wanted})}
    return [found[i] for i in wanted if i in found]


def departments(institution_id: int) -> list[tuple[str, str]]:
    """(id, name) of the active 科室 of one institution."""
    return [(str(d), n) for d, n in db.session.execute(_DEPARTMENTS,
                                                       {"institution_id": institution_id})]
