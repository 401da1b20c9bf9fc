"""What a physician may apply for, the choices a form offers, and preparing its data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.errors import DomainError
from app.errors import Forbidden
from app.extensions import db
from app.models import CatalogueItem
from app.models import Department
from app.models import Institution
from app.models import ProcessInstance
from app.models import Qualification
from app.models import Registration
from app.models import Role
from app.models import User
from app.services.applications import eligibility
from app.services.applications import forms
from app.services.applications.eligibility import BUSINESS_TYPES
from app.services.applications.eligibility import CANCELLABLE
from app.services.applications.eligibility import MAINTENANCE
from app.services.applications.eligibility import active_filings
from app.services.applications.eligibility import open_application
from app.services.applications.eligibility import refusal
from app.services.applications.eligibility import registration_refusal
from app.services.applications.forms import Option
from app.services.engine.clock import today_cst


@dataclass(frozen=True)
class Prepared:
    data: dict[str, Any]
    institution_id: int | None
    authority_id: int | None
    registration_id: int | None = None
    target_institution_id: int | None = None


def _qualification(actor: User) -> Qualification:
    qual = actor.qualification
    if qual is None:
        raise Forbidden(_("您的账户未关联医师资格信息，不能提交业务申请"))
    return qual


def _registration_label(reg: Registration) -> str:
    from app.services.records.profile import PROVINCES

    return (f"{PROVINCES.get(reg.place_region[:2], reg.place_region)} · {reg.institution.name} · "
            f"{reg.cert_no or ''}（{reg.status_label}）")


def form_options(actor: User | None, institution_id: int | None = None,
                 qualification: Qualification | None = None) -> dict[str, list[Option]]:
    """The choices of the application forms (institutions, departments, scopes...).

    :param actor: the physician whose registrations are offered (the applicant).
    """
    qual = qualification or (actor.qualification if actor else None)
    regs = list(qual.registrations) if qual else []
    reportable = reportable_registrations(actor) if actor is not None else []
    institutions = db.session.scalars(select(Institution).order_by(Institution.region_code,
                                                                   Institution.id))
    depts = select(Department).where(Department.active.is_(True)).order_by(
        Department.institution_id, Department.code)
    if institution_id is not None:
        depts = depts.where(Department.institution_id == institution_id)
    cats = db.session.scalars(select(CatalogueItem).where(
        CatalogueItem.kind == "practice_category").order_by(CatalogueItem.sort_order))
    scopes = select(CatalogueItem).where(CatalogueItem.kind == "practice_scope",
                                         CatalogueItem.active.is_(True))
    if qual is not None:
        scopes = scopes.where(CatalogueItem.parent_code == qual.category)
    return {
        "institutions": [(str(i.id), i.name) for i in institutions],
        "departments": [(str(d.id), d.name) for d in db.session.scalars(depts)],
        "practice_categories": [(c.code, c.name) for c in cats],
        "practice_scopes": [(s.code, s.name) for s in db.session.scalars(
            scopes.order_by(CatalogueItem.sort_order))],
        "registrations_cancellable": [(str(r.id), _registration_label(r)) for r in regs
                                      if r.status in CANCELLABLE],
        "registrations_active": [(str(r.id), _registration_label(r)) for r in regs
                                 if r.status == "ACTIVE"],
        "registrations_assistant": [(str(r.id), _registration_label(r)) for r in regs
                                    if r.status == "ACTIVE" and r.level == "执业助理医师"],
        "registrations_legacy": [(str(r.id), _registration_label(r)) for r in regs
                                 if r.legacy_sites],
        "legacy_sites": [(str(site), str(site)) for r in regs for site in (r.legacy_sites or [])],
        "registrations_reportable": [
            (str(r.id), f"{r.qualification.name} · {r.cert_no or ''}（{r.status_label}）")
            for r in reportable],
        "filings_active": [(str(f.id), f"{f.institution.name}（{f.valid_from}至{f.valid_to}）")
                           for r in regs for f in r.filings if f.status == "ACTIVE"],
    }


REPORTERS = {"cancellation_report": Role.INSTITUTION, "cancellation_ex_officio": Role.COMMISSION}


def reportable_registrations(actor: User) -> list[Registration]:
    """Registrations an institution (its own physicians) or a commission (its jurisdiction)
    may report or cancel ex officio."""
    q = select(Registration).where(Registration.status.in_(CANCELLABLE))
    if actor.role is Role.INSTITUTION and actor.institution_id:
        q = q.where(Registration.institution_id == actor.institution_id)
    elif actor.role is Role.COMMISSION and actor.authority_id:
        q = q.where(Registration.authority_id == actor.authority_id)
    else:
        return []
    return list(db.session.scalars(q.order_by(Registration.id)))


def prepare_report(actor: User | None, process_id: str, schema: dict[str, Any],
                   payload: dict[str, Any], instance: ProcessInstance | None = None,
                   errors: dict[str, str] | None = None) -> Prepared:
    """注销 reported by the institution (30-day duty) or decided ex officio by the commission;
    ``actor`` None is the system (a scheduled rule) raising an ex officio case."""
    system = actor is None and process_id == "cancellation_ex_officio"
    if not system and (actor is None or REPORTERS.get(process_id) is not actor.role):
        raise Forbidden(_("您无权发起此项业务"))
    data = dict(payload)
    if instance is not None:
        data["registration_id"] = instance.registration_id
    extra = dict(errors or {})
    if system:
        found = db.session.get(Registration, data.get("registration_id"))
        candidates = [found] if found is not None and found.status in CANCELLABLE else []
    else:
        assert actor is not None
        candidates = reportable_registrations(actor)
    reg = next((r for r in candidates if r.id == data.get("registration_id")), None)
    if data.get("registration_id") is not None and reg is None:
        extra["registration_id"] = _("请选择本机构（本辖区）可以注销的执业注册")
    if instance is None and reg is not None and db.session.scalar(select(ProcessInstance.id).where(
            ProcessInstance.registration_id == reg.id, ProcessInstance.completed_at.is_(None),
            ProcessInstance.process_id.in_(("cancellation", *REPORTERS))).limit(1)):
        extra["registration_id"] = _("该执业注册已有正在办理的注销")
    event = data.get("event_date")
    if isinstance(event, str) and len(event) == 10 and event > today_cst().isoformat():
        extra["event_date"] = _("事由发生日期不能晚于今天")
    options = form_options(actor) if actor is not None else {
        "registrations_reportable": [(str(r.id), r.cert_no or "") for r in candidates]}
    clean = forms.validate(schema, data, options, extra)
    assert reg is not None
    return Prepared(clean, reg.institution_id, reg.authority_id, reg.id)


def report_form(actor: User, values: dict[str, Any] | None = None,
                errors: dict[str, str] | None = None) -> tuple[str, str, list[forms.FieldView]]:
    """The 注销 form an institution (报告注销) or a commission (依职权注销) fills in."""
    from app.services.backoffice import definitions
    process_id = next((p for p, role in REPORTERS.items() if role is actor.role), None)
    if process_id is None:
        raise Forbidden(_("您无权发起此项业务"))
    row = definitions.published(process_id)
    schema = row.forms[definitions.start_form_id(definitions.definition_of(row))]
    return process_id, row.name, forms.field_views(schema, values, errors, form_options(actor))


def department_institutions() -> dict[str, str]:
    """Department id -> institution id (lets the page filter departments by institution)."""
    rows = db.session.execute(select(Department.id, Department.institution_id)
                              .where(Department.active.is_(True)))
    return {str(d): str(i) for d, i in rows}


def prepare(actor: User, process_id: str, schema: dict[str, Any], payload: dict[str, Any],
            instance: ProcessInstance | None = None,
            errors: dict[str, str] | None = None) -> Prepared:
    """Check eligibility and validate an application (new or corrected)."""
    if process_id in MAINTENANCE:
        return _prepare_maintenance(actor, process_id, schema, payload, errors)
    if process_id not in BUSINESS_TYPES:
        raise DomainError(_("不支持的业务类型"))
    if process_id in ("registration", "military_in"):
        return _prepare_registration(actor, schema, payload, instance, errors, process_id)
    _qualification(actor)
    if instance is None and (reason := refusal(actor, process_id)):
        raise DomainError(reason)
    preparers = {"cancellation": _prepare_cancellation, "filing": _prepare_filing,
                 "change": _prepare_change, "upgrade": _prepare_simple,
                 "to_military": _prepare_simple, "legacy_cancel": _prepare_simple,
                 "reissue": _prepare_simple,
                 "filing_cancel": _prepare_filing_cancel}
    return preparers[process_id](actor, schema, payload, instance, errors)


def _prepare_maintenance(actor: User, process_id: str, schema: dict[str, Any],
                         payload: dict[str, Any], errors: dict[str, str] | None) -> Prepared:
    """信息修改 and 照片更新 are reviewed by the main institution of the active registration."""
    regs = eligibility.registrations_in(actor, ("ACTIVE",))
    if not regs:
        raise DomainError(_("您当前没有有效的执业注册，修改的内容需执业所在医疗机构审核，暂不能提交"))
    if process_id == "info_change" and open_application(actor, process_id) is not None:
        raise DomainError(_("您已有待审核的信息修改，请等待医疗机构审核"))
    clean = forms.validate(schema, payload, None, errors)
    reg = regs[-1]
    return Prepared(clean, reg.institution_id, reg.authority_id, reg.id)


def _prepare_simple(actor: User, schema: dict[str, Any], payload: dict[str, Any],
                    instance: ProcessInstance | None, errors: dict[str, str] | None) -> Prepared:
    """Types whose form names one of the physician's registrations and nothing else to check
    beyond the form (助理医师升执业医师, 变更到军队, 申请取消“多地点执业”, 证书补办)."""
    data = dict(payload)
    if instance is not None:
        data["registration_id"] = instance.registration_id
    extra = dict(errors or {})
    reg = _own_registration(actor, data.get("registration_id"), ("ACTIVE", "SUSPENDED"))
    if data.get("registration_id") is not None and reg is None:
        extra["registration_id"] = _("请选择您本人有效的执业注册")
    site = data.get("site")
    if reg is not None and site is not None and site not in (reg.legacy_sites or []):
        extra["site"] = _("请选择该执业注册中的执业地点")
    clean = forms.validate(schema, data, form_options(actor), extra)
    assert reg is not None
    return Prepared(clean, reg.institution_id, reg.authority_id, reg.id)


def _registration_and_target(actor: User, data: dict[str, Any], instance: ProcessInstance | None,
                             extra: dict[str, str]) -> tuple[Registration | None,
                                                              Institution | None]:
    """The applicant's ACTIVE registration and the institution named in the form (locked to
    the instance's on a correction)."""
    if instance is not None:
        data["registration_id"] = instance.registration_id
        data["institution_id"] = instance.target_institution_id
    reg = _own_registration(actor, data.get("registration_id"), ("ACTIVE",))
    if data.get("registration_id") is not None and reg is None:
        extra["registration_id"] = _("请选择您本人有效的执业注册")
    target_id = data.get("institution_id")
    target = db.session.get(Institution, target_id) if isinstance(target_id, int) else None
    return reg, target


def _placement_errors(institution: Institution | None, data: dict[str, Any],
                      category: str) -> dict[str, str]:
    """科室 must belong to the institution; more than one 执业范围 only at county level or below
    for clinicians (执业范围暂行规定)."""
    errors: dict[str, str] = {}
    dept_id = data.get("department_id")
    if institution is not None and isinstance(dept_id, int):
        dept = db.session.get(Department, dept_id)
        if dept is None or dept.institution_id != institution.id or not dept.active:
            errors["department_id"] = _("请选择拟执业机构中的科室")
    scopes = data.get("practice_scopes")
    if isinstance(scopes, list) and len(scopes) > 1 and institution is not None and not (
            institution.is_grassroots and category == "1"):
        errors["practice_scopes"] = _("只能选择 1 个执业范围；县级及以下医疗机构的临床医师"
                                      "经批准方可选择至多 3 个")
    return errors


def _prepare_filing_cancel(actor: User, schema: dict[str, Any], payload: dict[str, Any],
                           instance: ProcessInstance | None,
                           errors: dict[str, str] | None) -> Prepared:
    data = dict(payload)
    extra = dict(errors or {})
    filing = next((f for f in active_filings(actor) if f.id == data.get("filing_id")), None)
    if data.get("filing_id") is not None and filing is None:
        extra["filing_id"] = _("请选择您本人有效的备案")
    clean = forms.validate(schema, data, form_options(actor), extra)
    assert filing is not None
    reg = filing.registration
    return Prepared(clean, reg.institution_id, filing.authority_id, reg.id)


def _prepare_change(actor: User, schema: dict[str, Any], payload: dict[str, Any],
                    instance: ProcessInstance | None, errors: dict[str, str] | None) -> Prepared:
    data = dict(payload)
    extra = dict(errors or {})
    reg, target = _registration_and_target(actor, data, instance, extra)
    if reg is not None:
        extra.update(_placement_errors(target, data, reg.category))
    scopes = data.get("practice_scopes")
    if (reg is not None and target is not None and target.id == reg.institution_id
            and isinstance(scopes, list) and set(scopes) == set(reg.scopes)
            and data.get("department_id") == reg.department_id):
        extra["institution_id"] = _("您没有变更任何执业注册事项")
    options = form_options(actor, target.id if target else None)
    clean = forms.validate(schema, data, options, extra)
    assert reg is not None and target is not None
    return Prepared(clean, reg.institution_id, target.authority_id, reg.id, target.id)


def _own_registration(actor: User, value: Any, statuses: tuple[str, ...]) -> Registration | None:
    if not isinstance(value, int):
        return None
    reg = db.session.get(Registration, value)
    qual = actor.qualification
    if reg is None or qual is None or reg.qualification_id != qual.id or reg.status not in statuses:
        return None
    return reg


def _prepare_cancellation(actor: User, schema: dict[str, Any], payload: dict[str, Any],
                          instance: ProcessInstance | None,
                          errors: dict[str, str] | None) -> Prepared:
    data = dict(payload)
    if instance is not None:
        data["registration_id"] = instance.registration_id
    extra = dict(errors or {})
    reg = _own_registration(actor, data.get("registration_id"), CANCELLABLE)
    if data.get("registration_id") is not None and reg is None:
        extra["registration_id"] = _("请选择您本人可以注销的执业注册")
    event = data.get("event_date")
    if isinstance(event, str) and len(event) == 10 and event > today_cst().isoformat():
        extra["event_date"] = _("事由发生日期不能晚于今天")
    clean = forms.validate(schema, data, form_options(actor), extra)
    assert reg is not None
    return Prepared(clean, reg.institution_id, reg.authority_id, reg.id)


def _prepare_filing(actor: User, schema: dict[str, Any], payload: dict[str, Any],
                    instance: ProcessInstance | None, errors: dict[str, str] | None) -> Prepared:
    data = dict(payload)
    extra = dict(errors or {})
    reg, target = _registration_and_target(actor, data, instance, extra)
    if reg is not None and target is not None:
        if target.id == reg.institution_id:
            extra["institution_id"] = _("拟执业机构不能是您的主要执业机构")
        elif target.region_code[:2] != reg.place_region[:2]:
            extra["institution_id"] = _("只能在同一执业地点（省）内备案；跨省执业请先在该省申请注册")
        elif reg.level == "执业助理医师" and target.region_code != reg.institution.region_code:
            extra["institution_id"] = _("执业助理医师只能在同一县级行政区域内备案")
        elif any(f.institution_id == target.id and f.status == "ACTIVE" for f in reg.filings):
            extra["institution_id"] = _("您已在该机构备案")
    scopes = data.get("practice_scopes")
    if reg is not None and isinstance(scopes, list) and not set(scopes) <= set(reg.scopes):
        extra["practice_scopes"] = _("执业范围须在已注册的执业范围之内")
    start, end = data.get("valid_from"), data.get("valid_to")
    if isinstance(start, str) and len(start) == 10 and start < today_cst().isoformat():
        extra["valid_from"] = _("有效期开始不能早于今天")
    if isinstance(start, str) and isinstance(end, str) and end <= start:
        extra["valid_to"] = _("有效期结束须晚于有效期开始")
    clean = forms.validate(schema, data, form_options(actor), extra)
    assert reg is not None and target is not None
    return Prepared(clean, reg.institution_id, target.authority_id, reg.id, target.id)


def _prepare_registration(actor: User, schema: dict[str, Any], payload: dict[str, Any],
                          instance: ProcessInstance | None, errors: dict[str, str] | None,
                          process_id: str = "registration") -> Prepared:
    qual = _qualification(actor)
    data = dict(payload)
    data["practice_category"] = qual.category
    if instance is not None:
        data["institution_id"] = instance.institution_id
    inst_id = data.get("institution_id")
    institution = db.session.get(Institution, inst_id) if isinstance(inst_id, int) else None
    if instance is None:
        reason = registration_refusal(actor, institution, process_id)
        if reason:
            raise DomainError(reason)
    extra = {**(errors or {}), **_placement_errors(institution, data, qual.category)}
    options = form_options(actor, institution.id if institution else None, qual)
    clean = forms.validate(schema, data, options, extra)
    return Prepared(clean, institution.id if institution else None,
                    institution.authority_id if institution else None)


@dataclass(frozen=True)
class FormPage:
    """Everything the application form page shows."""

    process_id: str
    title: str
    fields: list[forms.FieldView]
    department_institutions: dict[str, str]
    refusal: str | None
    notes: list[str]


def form_page(actor: User, process_id: str, values: dict[str, Any] | None = None,
              errors: dict[str, str] | None = None, instance: ProcessInstance | None = None,
              notes: list[str] | None = None) -> FormPage:
    """The application form with the physician's choices, values and messages."""
    from app.services.backoffice import definitions
    if process_id not in BUSINESS_TYPES:
        raise DomainError(_("不支持的业务类型"))
    qual = _qualification(actor)
    row = definitions.published(process_id) if instance is None else instance.definition
    defn = definitions.definition_of(row)
    schema = row.forms[definitions.start_form_id(defn)]
    vals = dict(values or {})
    if "practice_category" in schema.get("properties", {}):
        vals["practice_category"] = qual.category
    if instance is not None and process_id in ("registration", "military_in"):
        vals["institution_id"] = instance.institution_id
    if "contact_mobile" not in vals and actor.mobile:
        vals["contact_mobile"] = actor.mobile
    why = refusal(actor, process_id) if instance is None else None
    fields = forms.field_views(schema, vals, errors, form_options(actor, None, qual))
    if instance is not None:
        locked = {"registration_id", "filing_id"} | (
            {"institution_id"} if process_id in ("registration", "military_in", "filing",
                                                 "change") else set())
        for f in fields:
            if f.name in locked:
                f.widget = "readonly"
    return FormPage(process_id, BUSINESS_TYPES[process_id], fields, department_institutions(),
                    why, notes or [])
