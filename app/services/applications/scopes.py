"""执业范围 limits (《关于医师执业注册中执业范围的暂行规定》第三条; DOMAIN §3.7, §5): one specialty,
or up to three of one category for a clinician at a county-or-below institution (县及县级以下医疗
机构: approved by a county commission, county hospitals included, or 乡镇卫生院, 社区卫生服务中心(站),
村卫生室).

One helper for every type that sets scopes: 注册, 军队变更入, 变更, 助理医师升执业医师.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import CatalogueItem
from app.models import Institution

MAX_SCOPES = 3
GRASSROOTS_CATEGORY = "1"  # 临床


def scope_errors(institution: Institution | None, scopes: Any, category: str) -> dict[str, str]:
    """The message for ``practice_scopes``, if the chosen scopes break the limits (R-24)."""
    if not isinstance(scopes, list) or not scopes:
        return {}
    codes = [str(s) for s in scopes]
    of_category = set(db.session.scalars(select(CatalogueItem.code).where(
        CatalogueItem.kind == "practice_scope", CatalogueItem.parent_code == category,
        CatalogueItem.code.in_(codes))))
    if set(codes) - of_category:
        return {"practice_scopes": str(_("执业范围须为同一执业类别内的专业"))}
    if len(codes) == 1 or institution is None:
        return {}
    if not (institution.is_county_or_below and category == GRASSROOTS_CATEGORY):
        return {"practice_scopes": str(_("只能选择 1 个执业范围；县级及以下医疗机构的临床医师"
                                         "经批准方可选择至多 3 个"))}
    if len(codes) > MAX_SCOPES:
        return {"practice_scopes": str(_("同一执业类别内的执业范围至多 3 个"))}
    return {}
