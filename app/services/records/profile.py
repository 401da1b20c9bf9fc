"""What a physician sees of their own national records (资格信息, 执业信息, 考核信息)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import Assessment
from app.models import CatalogueItem
from app.models import FilingStatus
from app.models import Qualification
from app.models import Registration
from app.models import RegistrationStatus
from app.models import Role
from app.models import User
from app.models.physician import STATUS_REASONS
from app.services.errors import Forbidden
from app.services.records.regions import PROVINCES as PROVINCES  # re-exported: older import path
from app.services.records.regions import province_name

FILING_STATUSES = {FilingStatus.ACTIVE: "有效", FilingStatus.EXPIRED: "已到期", FilingStatus.CANCELLED: "已取消"}


@dataclass(frozen=True)
class FilingView:
    """A 多执业机构备案 of a registration, as 执业信息 lists it."""

    institution: str
    scopes: str
    valid_from: date
    valid_to: date
    status: str


@dataclass(frozen=True)
class RegistrationView:
    place: str
    status: str
    institution: str
    department: str
    level: str
    category: str
    scopes: str
    authority: str
    approved_on: date | None
    cert_no: str
    reissued_on: date | None = None
    registration_id: int | None = None
    status_note: str = ""  # why 暂停执业 / 注销 (e.g. after a failed 定期考核), and until when
    filings: tuple[FilingView, ...] = ()


def _cn(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _status_note(reg: Registration) -> str:
    """The running 暂停执业 with its period, or the reason of a 注销 / 备案."""
    if reg.status is RegistrationStatus.SUSPENDED:
        running = [p for p in reg.penalties if p.kind == "SUSPENDED" and p.ended_on is None]
        if not running:
            return ""
        p = running[-1]
        until = _cn(p.ends_on) if p.ends_on else "—"
        if p.assessment_id is not None:
            return (f"定期考核不合格，暂停执业活动 {_cn(p.decided_on)} 至 {until}"
                    "（《医师法》第四十二条）；期满再次考核合格后恢复执业")
        return f"暂停执业 {_cn(p.decided_on)} 至 {until}：{p.reason}"
    if reg.status in (RegistrationStatus.CANCELLED, RegistrationStatus.FILED) and reg.status_reason:
        return f"事由：{STATUS_REASONS.get(reg.status_reason, reg.status_reason)}"
    return ""


def _names(kind: str) -> dict[str, str]:
    return {c.code: c.name for c in db.session.scalars(
        select(CatalogueItem).where(CatalogueItem.kind == kind))}


def _physician(actor: User) -> Qualification | None:
    if actor.role is not Role.PHYSICIAN:
        raise Forbidden(_("只有医师可以查看"))
    return actor.qualification


def qualification(actor: User) -> tuple[Qualification | None, str, str]:
    """The qualification record, its category name and the current 执业证书编码."""
    qual = _physician(actor)
    if qual is None:
        return None, "", ""
    cats = _names("practice_category")
    current = [r for r in qual.registrations  # 变更中 is still in force (办法 第二十二条)
               if r.status in (RegistrationStatus.ACTIVE, RegistrationStatus.PENDING_CHANGE) and r.cert_no]
    return qual, cats.get(qual.category, ""), (current[-1].cert_no or "") if current else ""


def registrations(actor: User) -> list[RegistrationView]:
    """Every registration of the person (all their qualifications: an assistant who became a
    执业医师 keeps both histories), with its 多执业机构备案 filings; registrations in force first."""
    qual = _physician(actor)
    if qual is None:
        return []
    cats, scopes = _names("practice_category"), _names("practice_scope")
    rows = db.session.scalars(select(Registration).join(
        Qualification, Qualification.id == Registration.qualification_id).where(
        Qualification.id_number == qual.id_number).order_by(Registration.id.desc()))

    def scope_names(codes: list[str]) -> str:
        return "、".join(scopes.get(c, c) for c in codes)

    out = [RegistrationView(
        place=province_name(r.place_region), status=r.status_label,
        institution=r.institution.name, department=r.department.name if r.department else "",
        level=r.level, category=cats.get(r.category, r.category),
        scopes=scope_names(r.scopes), authority=r.authority.name,
        approved_on=r.approved_on, cert_no=r.cert_no or "", reissued_on=r.reissued_on,
        registration_id=r.id, status_note=_status_note(r),
        filings=tuple(FilingView(f.institution.name, scope_names(f.scopes), f.valid_from, f.valid_to,
                                 FILING_STATUSES.get(f.status, str(f.status)))
                      for f in sorted(r.filings, key=lambda f: f.id, reverse=True)))
        for r in rows]
    return sorted(out, key=lambda v: v.status not in ("有效", "变更中"))


def assessments(actor: User) -> list[Assessment]:
    qual = _physician(actor)
    if qual is None:
        return []
    return list(db.session.scalars(select(Assessment).where(
        Assessment.qualification_id == qual.id).order_by(Assessment.cycle.desc())))
