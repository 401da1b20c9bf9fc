"""拟执业机构 found by part of its name, its 登记号 or its 统一社会信用代码 (issue 14).

China has about a million medical institutions: a form never lists them all. A search returns
at most :data:`LIMIT` matches, exact and prefix matches first, each labelled with its 所在地区
so two hospitals of the same name differ; a chosen institution's 科室 are read for it alone.
On PostgreSQL two indexes of institution.name answer it (see :func:`search`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import ColumnElement
from sqlalchemy import Integer
from sqlalchemy import Select
from sqlalchemy import bindparam
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import text

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


def clean_query(typed: str | None) -> str:
    """The query as searched: trimmed, at most :data:`MAX_QUERY` characters."""
    return " ".join((typed or "").split())[:MAX_QUERY]


def search(typed: str | None, limit: int = LIMIT) -> list[Match]:
    """Institutions whose name, 登记号 or 统一社会信用代码 is ``typed`` or whose name starts with it,
    then those whose name contains it (``%`` and ``_`` are literal); the exact name first, then
    by name; at most ``limit`` (≤ :data:`LIMIT`). Fewer than 2 characters find nothing.

    Two statements, each reading at most :data:`CANDIDATES` rows from an index at a million
    institutions, then sorting those: the exact and prefix matches (btree
    ``ix_institution_name_prefix``, text_pattern_ops), then, if fewer than ``limit``, the
    names containing ``typed`` (the trigram index; a common word such as 医院 stops after
    :data:`CANDIDATES` rows). A broad word thus shows 20 of its first matches, not the first
    20 of the whole country by name: the person types more to narrow them."""
    q = clean_query(typed)
    if len(q) < 2:
        return []
    want = max(1, min(limit, LIMIT))
    if db.session.get_bind().dialect.name == "postgresql":
        # a pattern's plan depends on its value: never a generic plan of a prepared statement
        db.session.execute(_CUSTOM_PLANS)
    literal = q.replace("/", "//").replace("%", "/%").replace("_", "/_")
    rows = list(db.session.execute(_FIRST, {"q": q, "code": q.upper(), "prefix": f"{literal}%",
                                            "limit": want}))
    if len(rows) < want:
        rows += db.session.execute(_CONTAINING, {
            "q": q, "part": f"%{literal}%", "limit": want - len(rows),
            "seen": [r[0] for r in rows] or [0]})
    return [Match(i, n, region_label(r, a, lv)) for i, n, r, a, lv in rows]


CANDIDATES = 1000  # rows of one kind of match read at most, then sorted by name
_CUSTOM_PLANS = text("SET LOCAL plan_cache_mode = force_custom_plan")


def _first_by_name(*where: ColumnElement[bool]) -> Select[tuple[int, str, str, str, str]]:
    """At most :data:`CANDIDATES` institutions matching ``where`` (no order asked of the index),
    then the exact name first and by name, at most ``:limit``."""
    found = select(Institution.id).where(*where).limit(CANDIDATES).subquery()
    return (_BASE.join(found, found.c.id == Institution.id)
            .order_by(Institution.name != bindparam("q"), Institution.name, Institution.id)
            .limit(bindparam("limit", type_=Integer)))


_FIRST = _first_by_name(or_(Institution.name.like(bindparam("prefix"), escape="/"),
                            Institution.reg_no == bindparam("q"),
                            Institution.credit_code == bindparam("code")))
_CONTAINING = _first_by_name(Institution.name.ilike(bindparam("part"), escape="/"),
                             Institution.id.not_in(bindparam("seen", expanding=True)))


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
