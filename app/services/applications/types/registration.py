"""注册 (DOMAIN §4.1 type 1): a first registration at an institution of the physician's choice."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import CatalogueItem
from app.models import Institution
from app.models import PhysicianProfile
from app.models import ProcessInstance
from app.models import Qualification
from app.models import Registration
from app.models import RegistrationStatus
from app.models import User
from app.services.applications import conflicts
from app.services.applications import eligibility
from app.services.applications import forms
from app.services.applications.prepare import Prepared
from app.services.applications.prepare import form_options
from app.services.applications.prepare import placement_errors
from app.services.applications.prepare import qualification_of
from app.services.applications.types import BusinessType
from app.services.applications.types import register
from app.services.engine.clock import today_cst
from app.services.errors import DomainError

REVOKED_BAR_YEARS = 2  # 医师法 第十六条(三): 受吊销医师执业证书行政处罚，自处罚决定之日起至申请注册之日止不满二年
ASSESSMENT_BAR_YEARS = 1  # 医师法 第十六条(四): 因考核不合格被注销注册不满一年


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _decided_on(reg: Registration) -> date | None:
    """The date the status was decided: the 吊销 penalty's, else the one on record."""
    revoked = [p.decided_on for p in reg.penalties if p.kind == "REVOKED"]
    return max(revoked) if revoked else (reg.status_decided_on or reg.status_changed_on)


def _cn(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def legal_bar(qual: Qualification, today: date | None = None) -> str | None:
    """The time-limited bars of 医师法 第十六条 on this qualification's registrations, or None."""
    day = today or today_cst()
    for reg in qual.registrations:
        decided = _decided_on(reg)
        if reg.status == "REVOKED":
            if decided is None:
                return ("您的医师执业证书已被吊销，吊销决定日期未登记，暂不能申请注册，"
                        "请与原注册主管部门联系核实")
            until = _years_after(decided, REVOKED_BAR_YEARS)
            if day < until:
                return (f"您的医师执业证书于{_cn(decided)}被吊销，自处罚决定之日起不满二年"
                        f"（《医师法》第十六条），{_cn(until)}起方可申请注册")
        elif reg.status == "CANCELLED" and reg.status_reason == "assessment" and decided:
            until = _years_after(decided, ASSESSMENT_BAR_YEARS)
            if day < until:
                return (f"您的执业注册于{_cn(decided)}因定期考核不合格被注销，不满一年"
                        f"（《医师法》第十六条），{_cn(until)}起方可申请注册")
    return None


def refusal(actor: User, institution: Institution | None = None,
            process_id: str = "registration") -> str | None:
    """Why this physician may not apply for 注册 (or 军队变更入) now (DOMAIN §4.1), or None."""
    qual = actor.qualification
    if qual is None:
        return "未查询到您的医师资格信息，不能申请注册"
    if eligibility.open_application(actor, process_id) is not None:
        return "您已有正在办理的同类申请，请在业务查询中查看进度"
    bar = legal_bar(qual)
    if bar:
        return bar
    for reg in qual.registrations:
        if reg.status in eligibility.OPEN_BLOCKING:
            return eligibility.OPEN_BLOCKING[reg.status]
        if reg.status in (RegistrationStatus.ACTIVE, RegistrationStatus.PENDING_CHANGE):
            if qual.level == "执业助理医师":
                return "执业助理医师只能注册一个执业地点，您已有有效的执业注册"
            if institution is not None and reg.place_region[:2] == institution.region_code[:2]:
                return "您在该执业地点已有有效的执业注册，请申请变更或多执业机构备案"
    return None


TRAINING_YEARS = 2  # 医师法 第十九条; 办法 第十二条
PRACTISING = ("ACTIVE", "PENDING_CHANGE", "SUSPENDED", "CHANGED_OUT", "RESIDENCY")


def training_required(qual: Qualification, today: date | None = None) -> str | None:
    """Why a 培训考核合格证明 is needed (医师法 第十九条), or None: more than two years since the
    qualification without ever registering, or practice interrupted for two years or more (the
    last registration 备案/注销/吊销 since then)."""
    day = today or today_cst()
    regs = list(qual.registrations)
    if not regs:
        if day > _years_after(qual.issued_on, TRAINING_YEARS):
            return (f"您于{_cn(qual.issued_on)}取得医师资格，超过二年未注册，请上传培训考核合格证明"
                    "（《医师法》第十九条）")
        return None
    if any(r.status in PRACTISING for r in regs):
        return None
    ended = [d for r in regs if (d := r.status_changed_on or r.status_decided_on) is not None]
    if ended and day >= _years_after(max(ended), TRAINING_YEARS):
        return (f"您自{_cn(max(ended))}起中止医师执业活动已满二年，请上传培训考核合格证明"
                "（《医师法》第十九条）")
    return None


def material_errors(qual: Qualification, schema: dict[str, Any],
                    data: dict[str, Any]) -> dict[str, str]:
    """The materials of 办法 第十二条 the form alone cannot require: the 2-inch photo (the
    approved profile photo counts) and, when :func:`training_required`, the training proof."""
    props = schema.get("properties", {})
    errors: dict[str, str] = {}
    if "photo" in props and not data.get("photo"):
        profile = db.session.get(PhysicianProfile, qual.id)
        if profile is None or not profile.photo_sha256:
            errors["photo"] = ("请上传近期二寸免冠白底正面半身照片（已在信息维护中上传并审核通过"
                               "照片的，可不再上传）")
    if "training_proof" in props and not data.get("training_proof"):
        why = training_required(qual)
        if why:
            errors["training_proof"] = why
    return errors


def notes(actor: User) -> list[str]:
    """The form says at once when the training proof is needed."""
    qual = actor.qualification
    why = training_required(qual) if qual is not None else None
    return [why] if why else []


def same_practice_errors(qual: Qualification, institution: Institution | None,
                         data: dict[str, Any]) -> dict[str, str]:
    """Adding a province while keeping the registration held elsewhere: the same 执业类别 and
    执业范围, otherwise the old registration lapses (DOMAIN §4.1 type 1 [S9]; R-41)."""
    scopes = data.get("practice_scopes")
    if institution is None or not isinstance(scopes, list):
        return {}
    for reg in qual.registrations:
        if (reg.status in eligibility.CURRENT and reg.place_region[:2] != institution.region_code[:2]
                and (reg.category != qual.category or set(scopes) != set(reg.scopes))):
            names: dict[str, str] = {code: name for code, name in db.session.execute(
                select(CatalogueItem.code, CatalogueItem.name).where(
                    CatalogueItem.kind == "practice_scope", CatalogueItem.code.in_(reg.scopes)))}
            return {"practice_scopes": _(
                "在其他省份增加注册，执业类别和执业范围须与已有执业注册一致（%(scopes)s）；"
                "如需改变请申请变更", scopes="、".join(names.get(s, s) for s in reg.scopes))}
    return {}


def prepare(actor: User, process_id: str, schema: dict[str, Any], payload: dict[str, Any],
            instance: ProcessInstance | None, errors: dict[str, str] | None) -> Prepared:
    """The institution chosen decides the refusal (same 执业地点), so it is checked here."""
    qual = qualification_of(actor)
    data = dict(payload)
    data["practice_category"] = qual.category
    if instance is not None:
        data["institution_id"] = instance.institution_id
    inst_id = data.get("institution_id")
    institution = db.session.get(Institution, inst_id) if isinstance(inst_id, int) else None
    if instance is None:
        reason = refusal(actor, institution, process_id)
        reason = reason or conflicts.conflict_refusal(actor, process_id)
        if reason:
            raise DomainError(reason)
    extra = {**material_errors(qual, schema, data), **(errors or {}),
             **placement_errors(institution, data, qual.category),
             **same_practice_errors(qual, institution, data)}
    options = form_options(actor, institution.id if institution else None, qual)
    clean = forms.validate(schema, data, options, extra)
    return Prepared(clean, institution.id if institution else None,
                    institution.authority_id if institution else None)


register(BusinessType("registration", "application", ("physician",), 1,
                      refusal=lambda actor: refusal(actor), prepare=prepare, refusal_in_prepare=True,
                      conflicts=frozenset({"military_in"}), institution_from_instance=True,
                      notes=notes, conditions=(
                          "持有医师资格证书（资格信息已在系统中）。",
                          "拟执业地点（省）没有有效或变更中的执业注册；已在该省注册的，请办理变更或多执业机构备案。",
                          "没有暂停执业、吊销执业证书未满二年、因考核不合格注销未满一年等"
                          "不予注册的情形（医师法 第十六条）。",
                          "执业助理医师只能在一个执业地点注册。")))
