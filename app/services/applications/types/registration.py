"""注册 (DOMAIN §4.1 type 1): a first registration at an institution of the physician's choice."""

from __future__ import annotations

from typing import Any

from app.extensions import db
from app.models import Institution
from app.models import ProcessInstance
from app.models import User
from app.services.applications import eligibility
from app.services.applications import forms
from app.services.applications.prepare import Prepared
from app.services.applications.prepare import form_options
from app.services.applications.prepare import placement_errors
from app.services.applications.prepare import qualification_of
from app.services.applications.types import BusinessType
from app.services.applications.types import register
from app.services.errors import DomainError


def refusal(actor: User, institution: Institution | None = None,
            process_id: str = "registration") -> str | None:
    """Why this physician may not apply for 注册 (or 军队变更入) now (DOMAIN §4.1), or None."""
    qual = actor.qualification
    if qual is None:
        return "未查询到您的医师资格信息，不能申请注册"
    if eligibility.open_application(actor, process_id) is not None:
        return "您已有正在办理的同类申请，请在业务查询中查看进度"
    for reg in qual.registrations:
        if reg.status in eligibility.OPEN_BLOCKING:
            return eligibility.OPEN_BLOCKING[reg.status]
        if reg.status in ("ACTIVE", "PENDING_CHANGE"):
            if qual.level == "执业助理医师":
                return "执业助理医师只能注册一个执业地点，您已有有效的执业注册"
            if institution is not None and reg.place_region[:2] == institution.region_code[:2]:
                return "您在该执业地点已有有效的执业注册，请申请变更或多执业机构备案"
    return None


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
        if reason:
            raise DomainError(reason)
    extra = {**(errors or {}), **placement_errors(institution, data, qual.category)}
    options = form_options(actor, institution.id if institution else None, qual)
    clean = forms.validate(schema, data, options, extra)
    return Prepared(clean, institution.id if institution else None,
                    institution.authority_id if institution else None)


register(BusinessType("registration", "application", ("physician",), 1,
                      refusal=lambda actor: refusal(actor), prepare=prepare, refusal_in_prepare=True,
                      institution_from_instance=True))
