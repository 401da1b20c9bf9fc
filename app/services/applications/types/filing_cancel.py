"""多执业机构取消备案 (DOMAIN §4.1 type 8): end one of the physician's filings."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from app.extensions import db
from app.models import MultiFiling
from app.models import ProcessInstance
from app.models import User
from app.services.applications import eligibility
from app.services.applications import forms
from app.services.applications.conflicts import cn_date
from app.services.applications.prepare import Prepared
from app.services.applications.prepare import form_options
from app.services.applications.types import BusinessType
from app.services.applications.types import register
from app.services.engine.clock import today_cst


def refusal(actor: User) -> str | None:
    if not eligibility.active_filings(actor):
        return _("您当前没有有效的多执业机构备案，不能申请取消备案")
    return eligibility.open_refusal(actor, "filing_cancel")


def prepare(actor: User, process_id: str, schema: dict[str, Any], payload: dict[str, Any],
            instance: ProcessInstance | None, errors: dict[str, str] | None) -> Prepared:
    data = dict(payload)
    extra = dict(errors or {})
    filing = next((f for f in eligibility.active_filings(actor) if f.id == data.get("filing_id")), None)
    if data.get("filing_id") is not None and filing is None:
        extra["filing_id"] = _("请选择您本人有效的备案")
    end = data.get("end_date")
    if isinstance(end, str) and len(end) == 10:
        if end < today_cst().isoformat():
            extra["end_date"] = _("取消日期不能早于今天")
        elif filing is not None and not (filing.valid_from.isoformat() <= end
                                         <= filing.valid_to.isoformat()):
            extra["end_date"] = _("取消日期须在备案有效期（%(start)s至%(end)s）内",
                                  start=filing.valid_from.isoformat(),
                                  end=filing.valid_to.isoformat())
    clean = forms.validate(schema, data, form_options(actor), extra)
    assert filing is not None
    reg = filing.registration
    return Prepared(clean, reg.institution_id, filing.authority_id, reg.id)


def blocker(inst: ProcessInstance) -> str | None:
    """The filing was closed meanwhile (its end date passed, its registration ended)."""
    filing = db.session.get(MultiFiling, (inst.application or {}).get("filing_id"))
    if filing is None:
        return str(_("该备案已不存在，无法准予取消备案"))
    if filing.status != "ACTIVE":
        return str(_("该备案已于%(day)s终止，无法准予取消备案", day=cn_date(filing.valid_to)))
    return None


register(BusinessType("filing_cancel", "application", ("physician",), 8, refusal=refusal,
                      prepare=prepare, blocker=blocker,
                      conditions=("有本人有效的多执业机构备案。",)))
