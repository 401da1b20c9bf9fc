"""多执业机构备案 (DOMAIN §4.1 type 7): practise at a further institution of the same place."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import current_app
from flask_babel import gettext as _

from app.models import FilingStatus
from app.models import ProcessInstance
from app.models import User
from app.services.applications import eligibility
from app.services.applications import forms
from app.services.applications.prepare import Prepared
from app.services.applications.prepare import form_options
from app.services.applications.prepare import registration_and_target
from app.services.applications.types import REGISTRATION_STATUS
from app.services.applications.types import BusinessType
from app.services.applications.types import register
from app.services.engine.clock import today_cst


def max_filings() -> int:
    """Concurrent filings per registration (policy [I]: MEDREG_MAX_FILINGS, default 3)."""
    return int(current_app.config.get("MEDREG_MAX_FILINGS", 3))


def max_years() -> int:
    """Longest validity of one filing (policy [I]: MEDREG_FILING_MAX_YEARS, default 5)."""
    return int(current_app.config.get("MEDREG_FILING_MAX_YEARS", 5))


def _too_long(start: str, end: str) -> bool:
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        return False  # the form reports the date itself
    years = max_years()
    try:
        limit = first.replace(year=first.year + years)
    except ValueError:  # from 29 February
        limit = date(first.year + years, 3, 1)
    return last > limit


def refusal(actor: User) -> str | None:
    """Why 多执业机构备案 cannot be applied for now, or None."""
    if actor.qualification is None:
        return _("未查询到您的医师资格信息")
    if not eligibility.registrations_in(actor, eligibility.CURRENT):
        return _("您当前没有有效的执业注册，不能申请多执业机构备案")
    if eligibility.open_application(actor, "filing") is not None:
        return _("您已有正在办理的多执业机构备案申请，请在业务查询中查看进度")
    return None


def prepare(actor: User, process_id: str, schema: dict[str, Any], payload: dict[str, Any],
            instance: ProcessInstance | None, errors: dict[str, str] | None) -> Prepared:
    data = dict(payload)
    extra = dict(errors or {})
    reg, target = registration_and_target(actor, data, instance, extra)
    if reg is not None and target is not None:
        if target.id == reg.institution_id:
            extra["institution_id"] = _("拟执业机构不能是您的主要执业机构")
        elif target.region_code[:2] != reg.place_region[:2]:
            extra["institution_id"] = _("只能在同一执业地点（省）内备案；跨省执业请先在该省申请注册")
        elif reg.level == "执业助理医师" and target.region_code != reg.institution.region_code:
            extra["institution_id"] = _("执业助理医师只能在同一县级行政区域内备案")
        elif any(f.institution_id == target.id and f.status == FilingStatus.ACTIVE for f in reg.filings):
            extra["institution_id"] = _("您已在该机构备案")
    if reg is not None and instance is None:
        limit = max_filings()
        if sum(1 for f in reg.filings if f.status == FilingStatus.ACTIVE) >= limit:
            extra["registration_id"] = _("该执业注册已有 %(n)s 个有效的多执业机构备案，达到上限；"
                                         "请先取消不再执业的备案", n=limit)
    scopes = data.get("practice_scopes")
    if reg is not None and isinstance(scopes, list) and not set(scopes) <= set(reg.scopes):
        extra["practice_scopes"] = _("执业范围须在已注册的执业范围之内")
    start, end = data.get("valid_from"), data.get("valid_to")
    if isinstance(start, str) and len(start) == 10 and start < today_cst().isoformat():
        extra["valid_from"] = _("有效期开始不能早于今天")
    if isinstance(start, str) and isinstance(end, str) and end <= start:
        extra["valid_to"] = _("有效期结束须晚于有效期开始")
    elif isinstance(start, str) and isinstance(end, str) and _too_long(start, end):
        extra["valid_to"] = _("备案有效期至多 %(n)s 年", n=max_years())
    # the institutions list holds the one named: validation checks that id exists
    clean = forms.validate(schema, data, form_options(actor, target.id if target else None), extra)
    assert reg is not None and target is not None
    return Prepared(clean, reg.institution_id, target.authority_id, reg.id, target.id)


register(BusinessType("filing", "application", ("physician",), 7, refusal=refusal, prepare=prepare,
                      needs_status=("ACTIVE",),
                      conflict_group=REGISTRATION_STATUS,
                      conflicts=frozenset({"change", "cancellation", "upgrade", "to_military"}),
                      conditions=("持有有效的执业注册。",
                                  "拟备案的医疗机构与主要执业机构在同一执业地点（省）；执业助理医师须在同一县级行政区划内。",
                                  "备案的执业范围不超出注册的执业范围；须有机构间协议或主要执业机构同意证明。")))
