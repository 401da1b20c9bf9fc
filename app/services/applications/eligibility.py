"""What a physician may apply for now, and why not otherwise (DOMAIN §4.0–4.1)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import Institution
from app.models import MultiFiling
from app.models import ProcessInstance
from app.models import Qualification
from app.models import Registration
from app.models import User

BUSINESS_TYPES = {
    "registration": "注册", "upgrade": "助理医师升执业医师", "military_in": "军队变更入",
    "to_military": "变更到军队", "change": "变更", "cancellation": "注销",
    "filing": "多执业机构备案", "filing_cancel": "多执业机构取消备案",
    "legacy_cancel": "申请取消“多地点执业”", "reissue": "证书补办",
}
MAINTENANCE = {"photo": "照片更新", "info_change": "信息修改"}
CASES = {"cancellation_report": "机构报告注销", "cancellation_ex_officio": "依职权注销"}
CANCELLABLE = ("ACTIVE", "SUSPENDED", "FILED")
OPEN_BLOCKING = {"SUSPENDED": "您的执业注册处于暂停执业期间，不能申请注册",
                 "REVOKED": "您的医师执业证书已被吊销，不能申请注册"}


def open_application(actor: User, process_id: str) -> ProcessInstance | None:
    return db.session.scalar(select(ProcessInstance).where(
        ProcessInstance.subject_user_id == actor.id, ProcessInstance.process_id == process_id,
        ProcessInstance.completed_at.is_(None)).limit(1))


def registration_refusal(actor: User, institution: Institution | None = None,
                         process_id: str = "registration") -> str | None:
    """Why this physician may not apply for 注册 (or 军队变更入) now (DOMAIN §4.1), or None."""
    qual = actor.qualification
    if qual is None:
        return "未查询到您的医师资格信息，不能申请注册"
    if open_application(actor, process_id) is not None:
        return "您已有正在办理的同类申请，请在业务查询中查看进度"
    for reg in qual.registrations:
        if reg.status in OPEN_BLOCKING:
            return OPEN_BLOCKING[reg.status]
        if reg.status in ("ACTIVE", "PENDING_CHANGE"):
            if qual.level == "执业助理医师":
                return "执业助理医师只能注册一个执业地点，您已有有效的执业注册"
            if institution is not None and reg.place_region[:2] == institution.region_code[:2]:
                return "您在该执业地点已有有效的执业注册，请申请变更或多执业机构备案"
    return None


def registrations_in(actor: User, statuses: tuple[str, ...]) -> list[Registration]:
    """The physician's registrations in any of ``statuses``."""
    qual = actor.qualification
    return [r for r in (qual.registrations if qual else []) if r.status in statuses]


def cancellation_refusal(actor: User) -> str | None:
    """Why 注销 cannot be applied for now (DOMAIN §4.1 type 6), or None."""
    if actor.qualification is None:
        return _("未查询到您的医师资格信息")
    if not registrations_in(actor, CANCELLABLE):
        return _("您当前没有可以注销的执业注册（有效、暂停执业或备案状态）")
    if open_application(actor, "cancellation") is not None:
        return _("您已有正在办理的注销申请，请在业务查询中查看进度")
    return None


def filing_refusal(actor: User) -> str | None:
    """Why 多执业机构备案 cannot be applied for now (DOMAIN §4.1 type 7), or None."""
    if actor.qualification is None:
        return _("未查询到您的医师资格信息")
    if not registrations_in(actor, ("ACTIVE",)):
        return _("您当前没有有效的执业注册，不能申请多执业机构备案")
    if open_application(actor, "filing") is not None:
        return _("您已有正在办理的多执业机构备案申请，请在业务查询中查看进度")
    return None


def _open_refusal(actor: User, process_id: str) -> str | None:
    if open_application(actor, process_id) is not None:
        return _("您已有正在办理的同类申请，请在业务查询中查看进度")
    return None


def upgrade_refusal(actor: User) -> str | None:
    """助理医师升执业医师 needs an ACTIVE assistant registration and a 执业医师 qualification."""
    regs = [r for r in registrations_in(actor, ("ACTIVE",)) if r.level == "执业助理医师"]
    if not regs:
        return _("您当前没有有效的执业助理医师执业注册，不能申请升级")
    if physician_qualification(actor) is None:
        return _("未查询到您同类别的执业医师资格信息，不能申请升级")
    return _open_refusal(actor, "upgrade")


def active_refusal(actor: User, process_id: str, what: str) -> str | None:
    if not registrations_in(actor, ("ACTIVE",)):
        return _("您当前没有有效的执业注册，不能申请%(what)s", what=what)
    return _open_refusal(actor, process_id)


def filing_cancel_refusal(actor: User) -> str | None:
    if not active_filings(actor):
        return _("您当前没有有效的多执业机构备案，不能申请取消备案")
    return _open_refusal(actor, "filing_cancel")


def legacy_refusal(actor: User) -> str | None:
    if not [r for r in registrations_in(actor, ("ACTIVE", "SUSPENDED")) if r.legacy_sites]:
        return _("您的执业注册中没有“多地点执业”记录，无需申请取消")
    return _open_refusal(actor, "legacy_cancel")


def physician_qualification(actor: User) -> Qualification | None:
    """A 执业医师 qualification of the same person and category as the actor's assistant one."""
    qual = actor.qualification
    if qual is None:
        return None
    return db.session.scalar(select(Qualification).where(
        Qualification.id_number == qual.id_number, Qualification.level == "执业医师",
        Qualification.category == qual.category).limit(1))


def active_filings(actor: User) -> list[MultiFiling]:
    return [f for r in registrations_in(actor, ("ACTIVE",)) for f in r.filings
            if f.status == "ACTIVE"]


def refusal(actor: User, process_id: str) -> str | None:
    """Why ``actor`` may not apply for ``process_id`` now (None: they may)."""
    if actor.qualification is None:
        return _("未查询到您的医师资格信息")
    checks = {
        "registration": lambda: registration_refusal(actor),
        "military_in": lambda: registration_refusal(actor, None, "military_in"),
        "upgrade": lambda: upgrade_refusal(actor),
        "to_military": lambda: active_refusal(actor, "to_military", _("变更到军队")),
        "change": lambda: active_refusal(actor, "change", _("变更")),
        "cancellation": lambda: cancellation_refusal(actor),
        "filing": lambda: filing_refusal(actor),
        "filing_cancel": lambda: filing_cancel_refusal(actor),
        "legacy_cancel": lambda: legacy_refusal(actor),
        "reissue": lambda: active_refusal(actor, "reissue", _("证书补办")),
    }
    return checks[process_id]()


def available_types(actor: User) -> list[tuple[str, str, str | None]]:
    """(process id, name, reason it is not available or None) for the 业务申请 page."""
    return [(pid, name, refusal(actor, pid)) for pid, name in BUSINESS_TYPES.items()]


def type_name(process_id: str) -> str:
    """The Chinese name of a business type or maintenance process."""
    return (BUSINESS_TYPES.get(process_id) or MAINTENANCE.get(process_id)
            or CASES.get(process_id) or process_id)
