"""Penalties on record (医师法 第五十五条 etc.): the commission that approved a registration
records a 暂停执业 or 吊销 decision; the registration becomes 暂停执业 / 吊销. A suspension ends
by itself: :func:`app.services.engine.rules.end_suspensions` (the scheduler's daily sweep)
returns the registration to 有效 the day after its end date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import FilingStatus
from app.models import Penalty
from app.models import Registration
from app.models import RegistrationStatus
from app.models import Role
from app.models import User
from app.models.physician import PENALTY_KINDS
from app.services.engine.clock import today_cst
from app.services.errors import Forbidden
from app.services.errors import InvalidInput
from app.services.errors import NotFound
from app.services.platform import audit

PENALISABLE = {"SUSPENDED": ("ACTIVE",), "REVOKED": ("ACTIVE", "SUSPENDED", "FILED")}


@dataclass(frozen=True)
class PenaltyPage:
    """A registration with its penalties, as its commission sees it."""

    registration: Registration
    penalties: list[Penalty]
    kinds: dict[str, str]


def _commission(actor: User) -> int:
    if actor.role is not Role.COMMISSION or actor.authority_id is None:
        raise Forbidden(_("只有卫生健康委用户可以记录行政处罚"))
    return actor.authority_id


def _own(actor: User, registration_id: int) -> Registration:
    """The registration, only for the commission that approved it (others: not found)."""
    authority_id = _commission(actor)
    reg = db.session.get(Registration, registration_id)
    if reg is None or reg.authority_id != authority_id:
        raise NotFound(_("未找到本辖区的该执业注册"))
    return reg


def lookup(actor: User, cert_no: str) -> int:
    """The id of the registration with this 执业证书编码 in the commission's jurisdiction."""
    authority_id = _commission(actor)
    cert_no = cert_no.strip()
    reg_id = db.session.scalar(select(Registration.id).where(
        Registration.cert_no == cert_no, Registration.authority_id == authority_id))
    if reg_id is None:
        raise InvalidInput(_("请按提示修改"), {"cert_no": _("未找到本辖区该执业证书编码的执业注册")},
                           {"cert_no": cert_no})
    return reg_id


def page(actor: User, registration_id: int) -> PenaltyPage:
    reg = _own(actor, registration_id)
    return PenaltyPage(reg, list(reg.penalties), dict(PENALTY_KINDS))


def _date(text: str, field: str, errors: dict[str, str], label: str) -> date | None:
    text = text.strip()
    if not text:
        errors[field] = _("请填写%(l)s", l=label)
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[field] = _("%(l)s格式应为 年-月-日，例如 2026-03-01", l=label)
        return None


def record(actor: User, registration_id: int, kind: str, decided_on: str, document_no: str,
           reason: str, ends_on: str = "") -> Penalty:
    """Record a 暂停执业 (with its end date) or 吊销 decision; the registration's status and
    status dates follow the decision date. Refused input comes back with the values kept."""
    reg = _own(actor, registration_id)
    values = {"kind": kind, "decided_on": decided_on, "document_no": document_no,
              "reason": reason, "ends_on": ends_on}
    errors: dict[str, str] = {}
    today = today_cst()
    if kind not in PENALTY_KINDS:
        errors["kind"] = _("请选择处罚种类")
    elif reg.status not in PENALISABLE[kind]:
        errors["kind"] = _("该执业注册当前为“%(s)s”状态，不能记录%(k)s",
                           s=reg.status_label, k=PENALTY_KINDS[kind])
    decided = _date(decided_on, "decided_on", errors, _("决定日期"))
    if decided is not None and decided > today:
        errors["decided_on"] = _("决定日期不能晚于今天")
    ends = None
    if kind == "SUSPENDED":
        ends = _date(ends_on, "ends_on", errors, _("暂停执业截止日期"))
        if ends is not None and decided is not None and ends <= decided:
            errors["ends_on"] = _("暂停执业截止日期应晚于决定日期")
    document_no, reason = document_no.strip(), reason.strip()
    if not 2 <= len(document_no) <= 60:
        errors["document_no"] = _("请填写行政处罚决定书文书编号（2–60 个字）")
    if not 2 <= len(reason) <= 500:
        errors["reason"] = _("请填写处罚事由（2–500 个字）")
    if errors:
        raise InvalidInput(_("请按提示修改"), errors, values)
    assert decided is not None
    penalty = Penalty(registration_id=reg.id, kind=kind, decided_on=decided,
                      document_no=document_no, reason=reason, ends_on=ends,
                      recorded_by_id=actor.id)
    db.session.add(penalty)
    reg.status = RegistrationStatus(kind)
    reg.status_changed_on = reg.status_decided_on = decided
    if kind == "REVOKED":
        for filing in reg.filings:
            if filing.status == FilingStatus.ACTIVE:
                filing.status = FilingStatus.CANCELLED
    db.session.flush()
    audit.record(actor, f"registration.penalty.{kind.lower()}", "registration", reg.id,
                 {"penalty": penalty.id, "document_no": document_no,
                  "decided_on": decided.isoformat(),
                  "ends_on": ends.isoformat() if ends else None})
    db.session.commit()
    return penalty
