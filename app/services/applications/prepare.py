"""What a physician may apply for, the choices a form offers, and preparing its data."""

from __future__ import annotations

import threading
from collections.abc import Collection
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import CatalogueItem
from app.models import Department
from app.models import FilingStatus
from app.models import Institution
from app.models import ProcessInstance
from app.models import Qualification
from app.models import ReferenceStamp
from app.models import Registration
from app.models import RegistrationStatus
from app.models import Role
from app.models import User
from app.services.applications import eligibility
from app.services.applications import forms
from app.services.applications import institutions
from app.services.applications import types
from app.services.applications.eligibility import CANCELLABLE
from app.services.applications.eligibility import open_application
from app.services.applications.eligibility import refusal
from app.services.applications.forms import Option
from app.services.applications.types import cancellation_report
from app.services.engine.clock import today_cst
from app.services.errors import DomainError
from app.services.errors import Forbidden


@dataclass(frozen=True)
class Prepared:
    data: dict[str, Any]
    institution_id: int | None
    authority_id: int | None
    registration_id: int | None = None
    target_institution_id: int | None = None


def qualification_in(actor: User, category: str, level: str) -> Qualification | None:
    """A qualification of the same person (ID number) in ``category`` at ``level``."""
    qual = actor.qualification
    if qual is None:
        return None
    if qual.category == category and qual.level == level:
        return qual
    return db.session.scalar(select(Qualification).where(
        Qualification.id_number == qual.id_number, Qualification.category == category,
        Qualification.level == level).limit(1))


PersonCategories = tuple[list[str], int | None]  # a person's 执业类别, the catalogue's stamp


def _person_categories(qual: Qualification | None) -> PersonCategories:
    """The 执业类别 the person is qualified in (several qualifications share the ID number)
    and the catalogue's stamp, in one statement."""
    if qual is None:
        return [], db.session.scalar(_STAMP_ONLY)
    rows = db.session.execute(_PERSON_CATEGORIES, {"id_number": qual.id_number}).tuples().all()
    stamp = rows[0][1] if rows else db.session.scalar(_STAMP_ONLY)
    return sorted({c for c, _s in rows} | {qual.category}), stamp


# the catalogue's stamp: moved by database triggers on every change of catalogue_item
# (migration 0035_reference_stamp); None when the row is missing (then nothing is kept)
_STAMP = select(ReferenceStamp.version).where(ReferenceStamp.name == "catalogue").scalar_subquery()
_STAMP_ONLY = select(_STAMP)
_PERSON_CATEGORIES = select(Qualification.category, _STAMP).where(  # built once per process
    Qualification.id_number == bindparam("id_number"))
CatalogueRow = tuple[str, str, str, str | None]  # kind, code, name, parent code
# (stamp, the 执业类别 and active 执业范围) of the newest catalogue this process read
_catalogue_kept: tuple[tuple[Any, int], tuple[CatalogueRow, ...]] | None = None


def _catalogue_rows(stamp: int | None) -> tuple[CatalogueRow, ...]:
    """The 执业类别 and the active 执业范围 (catalogue order), kept in this process while the
    catalogue's stamp read in this request's transaction is the one they were read at: a change
    (an import, ``flask seed``, an administrator's SQL) is seen by the very next page. Read
    after the stamp, so rows kept under a stamp are never older than it."""
    global _catalogue_kept
    kept = _catalogue_kept
    # of this database (a test process may serve several, each with its own counter)
    key = None if stamp is None else (db.engine.url, stamp)
    if key is not None and kept is not None and kept[0] == key:
        return kept[1]
    rows = tuple((str(k), str(c), str(n), p) for k, c, n, p in db.session.execute(_CATALOGUE).tuples())
    if key is not None:
        _catalogue_kept = (key, rows)
    return rows


def qualification_of(actor: User) -> Qualification:
    qual = actor.qualification
    if qual is None:
        raise Forbidden(_("您的账户未关联医师资格信息，不能提交业务申请"))
    return qual


def _registration_label(reg: Registration) -> str:
    from app.services.records.regions import province_name

    return (f"{province_name(reg.place_region)} · {reg.institution.name} · "
            f"{reg.cert_no or ''}（{reg.status_label}）")


def form_options(actor: User | None, institution_id: int | None = None,
                 qualification: Qualification | None = None,
                 wanted: Collection[str] | None = None,
                 shown: Mapping[str, Collection[str]] | None = None,
                 person: PersonCategories | None = None,
                 department_stamp: int | None = None) -> dict[str, list[Option]]:
    """The choices of the application forms (institutions, departments, scopes...).

    :param actor: the physician whose registrations are offered (the applicant).
    :param wanted: only these option lists (:func:`forms.option_sources` of the form); None: all.
    :param institution_id: the institution the form names (chosen or kept): the only one
        the "institutions" list holds (so validation checks that one id), and whose 科室 the
        "departments" list holds; a physician finds others with :mod:`institutions`.
    :param shown: for a read-only view (:func:`forms.shown_values`): list -> the values shown;
        the institutions, departments and scopes are then only the ones named (their labels),
        not every one a form could offer.
    :param person: the 执业类别 of ``qualification``'s person and the catalogue's stamp, when
        the caller read them already (:func:`form_page`: with the qualification).
    :param department_stamp: the departments' stamp (:data:`DEPARTMENT_STAMP`), when the caller
        read it in this transaction: the institution's departments may come from memory.
    """
    qual = qualification or (actor.qualification if actor else None)
    want = OPTION_LISTS if wanted is None else frozenset(wanted)
    out: dict[str, list[Option]] = {}
    if "institutions" in want:  # never every institution of the country (issue 14)
        out["institutions"] = (_institutions(shown.get("institutions", ())) if shown is not None
                               else [(str(m.id), m.label) for m in institutions.named(
                                   [institution_id] if institution_id is not None else [])])
    if "departments" in want and (institution_id is not None or shown is not None):
        out["departments"] = [(d, n) for d, n, _i in _departments(
            institution_id, None if shown is None else shown.get("departments", ()), department_stamp)]
    elif "departments" in want:
        out["departments"] = []
    if want & {"practice_categories", "person_categories", "practice_scopes"}:
        out.update(_catalogue(qual, want, None if shown is None else shown.get("practice_scopes", ()),
                              person))
    if want & _REGISTRATION_LISTS:
        out.update({k: v for k, v in _registration_options(qual).items() if k in want})
    if "registrations_reportable" in want:
        reportable = reportable_registrations(actor) if actor is not None else []
        out["registrations_reportable"] = [
            (str(r.id), f"{r.qualification.name} · {r.cert_no or ''}（{r.status_label}）")
            for r in reportable]
    return out


# the lists form_options knows (forms.OPTION_SOURCES less the approver's application_fields)
OPTION_LISTS = frozenset({
    "institutions", "departments", "practice_categories", "person_categories", "practice_scopes",
    "registrations_cancellable", "registrations_active", "registrations_assistant",
    "registrations_legacy", "legacy_sites", "registrations_reportable", "filings_active"})
_REGISTRATION_LISTS = frozenset({
    "registrations_cancellable", "registrations_active", "registrations_assistant",
    "registrations_legacy", "legacy_sites", "filings_active"})
# statements built once per process (bound per request)
_DEPARTMENTS = select(Department.id, Department.name, Department.institution_id).where(
    Department.active.is_(True)).order_by(Department.institution_id, Department.code)
# the 执业类别 and the active 执业范围 in one statement (the catalogue is small: ~100 rows)
_CATALOGUE = select(CatalogueItem.kind, CatalogueItem.code, CatalogueItem.name,
                    CatalogueItem.parent_code).where(or_(
    CatalogueItem.kind == "practice_category",
    and_(CatalogueItem.kind == "practice_scope", CatalogueItem.active.is_(True)))).order_by(
    CatalogueItem.sort_order, CatalogueItem.id)
# (of one institution?, only the named ones?) -> the departments' statement
_DEPARTMENTS_OF = {
    (by_institution, by_id): _DEPARTMENTS.where(*(
        ([Department.institution_id == bindparam("institution_id")] if by_institution else [])
        + ([Department.id.in_(bindparam("ids", expanding=True))] if by_id else [])))
    for by_institution in (False, True) for by_id in (False, True)}


def _ids(named: Collection[str]) -> list[int]:
    return [int(v) for v in named if v.isdigit()]


def _institutions(named: Collection[str]) -> list[Option]:
    found = [db.session.get(Institution, i) for i in _ids(named)]  # usually already loaded
    return [(str(i.id), i.name) for i in found if i is not None]


# the departments' stamp: moved by database triggers on every change of department (科室维护,
# imports, plain SQL; migration 0035_reference_stamp); a statement that reads it lets :func:`_departments` keep
# an institution's departments in the process's memory
DEPARTMENT_STAMP = select(ReferenceStamp.version).where(
    ReferenceStamp.name == "department").scalar_subquery()
_DEPARTMENTS_HELD = 512  # institutions whose departments a process keeps (then it starts again)
_departments_kept: dict[tuple[Any, int, int], list[tuple[str, str, str]]] = {}
_departments_lock = threading.Lock()


def _departments(institution_id: int | None, named: Collection[str] | None,
                 stamp: int | None = None) -> list[tuple[str, str, str]]:
    """The active departments (id, name, institution id) of an institution or of all, only the
    ``named`` ones when given; with the departments' stamp read in this transaction
    (:data:`DEPARTMENT_STAMP`), an institution's are kept in the process's memory until it
    moves (read after the stamp: never older than it)."""
    if named is not None and not named:
        return []
    if stamp is not None and institution_id is not None:
        key = (db.engine.url, stamp, institution_id)  # of this database (tests serve several)
        rows = _departments_kept.get(key)
        if rows is None:
            rows = _departments(institution_id, None)
            with _departments_lock:
                if len(_departments_kept) >= _DEPARTMENTS_HELD:
                    _departments_kept.clear()
                _departments_kept[key] = rows
        if named is None:
            return list(rows)
        wanted = {str(i) for i in _ids(named)}
        return [r for r in rows if r[0] in wanted]
    q = _DEPARTMENTS_OF[institution_id is not None, named is not None]
    params = {"institution_id": institution_id, "ids": _ids(named or ())}
    return [(str(d), n, str(i)) for d, n, i in db.session.execute(q, params)]


def _catalogue(qual: Qualification | None, want: frozenset[str], named: Collection[str] | None,
               person: PersonCategories | None = None) -> dict[str, list[Option]]:
    scopes_wanted = "practice_scopes" in want and (named is None or bool(named))
    categories, stamp = person if person is not None else _person_categories(qual)
    rows = _catalogue_rows(stamp)
    if named is not None:  # a read-only view: the scopes it names only
        rows = tuple(r for r in rows if r[0] == "practice_category" or r[1] in named)
    cat_names = {code: name for kind, code, name, _p in rows if kind == "practice_category"}
    out: dict[str, list[Option]] = {
        "practice_categories": list(cat_names.items()),
        "person_categories": [(c, cat_names.get(c, c)) for c in categories],
        "practice_scopes": []}
    if scopes_wanted:
        # a 执业类别 change chooses among the person's categories; in category order
        # (parent_code), then the catalogue's (sort_order)
        scopes = sorted(((code, name, parent) for kind, code, name, parent in rows
                         if kind == "practice_scope" and (qual is None or parent in categories)),
                        key=lambda r: (r[2] is not None, r[2] or ""))
        out["practice_scopes"] = [
            (code, name if len(categories) < 2 else f"{cat_names.get(parent or '', '')} · {name}")
            for code, name, parent in scopes]
    return {k: v for k, v in out.items() if k in want}


def _registration_options(qual: Qualification | None) -> dict[str, list[Option]]:
    regs = list(qual.registrations) if qual else []
    return {
        "registrations_cancellable": [(str(r.id), _registration_label(r)) for r in regs
                                      if r.status in CANCELLABLE],
        "registrations_active": [(str(r.id), _registration_label(r)) for r in regs
                                 if r.status in eligibility.CURRENT],
        "registrations_assistant": [(str(r.id), _registration_label(r)) for r in regs
                                    if r.status == RegistrationStatus.ACTIVE and r.level == "执业助理医师"],
        "registrations_legacy": [(str(r.id), _registration_label(r)) for r in regs
                                 if r.legacy_sites],
        "legacy_sites": [(str(site), str(site)) for r in regs for site in (r.legacy_sites or [])],
        "filings_active": [(str(f.id), f"{f.institution.name}（{f.valid_from}至{f.valid_to}）")
                           for r in regs for f in r.filings if f.status == FilingStatus.ACTIVE],
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
    if (process_id == "cancellation_report" and reg is not None and reg.status == "FILED"
            and cancellation_report.is_filing(data)):
        extra["registration_id"] = _("该执业注册已是备案状态，无需再次报告备案")
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
    fields = forms.field_views(schema, values, errors, form_options(actor))
    if process_id == "cancellation_report":  # 医师法 第十七条: the 30-day duty, next to the date
        for f in fields:
            if f.name == "event_date":
                f.description = cancellation_report.DUTY_NOTE
                f.flag = cancellation_report.late_notice(f.value, today_cst())
    return process_id, row.name, fields


def prepare(actor: User, process_id: str, schema: dict[str, Any], payload: dict[str, Any],
            instance: ProcessInstance | None = None,
            errors: dict[str, str] | None = None) -> Prepared:
    """Check eligibility and validate an application (new or corrected): the type's module
    (:mod:`app.services.applications.types`) prepares it."""
    bt = types.get(process_id)
    if bt is None or bt.prepare is None:
        raise DomainError(_("不支持的业务类型"))
    if bt.kind == "application" and not bt.refusal_in_prepare:
        qualification_of(actor)
        if instance is None and (reason := refusal(actor, process_id)):
            raise DomainError(reason)
    return bt.prepare(actor, process_id, schema, payload, instance, errors)


def prepare_maintenance(actor: User, process_id: str, schema: dict[str, Any],
                        payload: dict[str, Any], instance: ProcessInstance | None,
                        errors: dict[str, str] | None) -> Prepared:
    """信息修改 and 照片更新 are reviewed by the main institution of the active registration."""
    regs = eligibility.registrations_in(actor, eligibility.CURRENT)
    if not regs:
        raise DomainError(_("您当前没有有效的执业注册，修改的内容需执业所在医疗机构审核，暂不能提交"))
    if process_id == "info_change" and open_application(actor, process_id) is not None:
        raise DomainError(_("您已有待审核的信息修改，请等待医疗机构审核"))
    clean = forms.validate(schema, payload, None, errors)
    reg = regs[-1]
    return Prepared(clean, reg.institution_id, reg.authority_id, reg.id)


def prepare_simple(actor: User, process_id: str, schema: dict[str, Any], payload: dict[str, Any],
                   instance: ProcessInstance | None, errors: dict[str, str] | None) -> Prepared:
    """Types whose form names one of the physician's registrations and nothing else to check
    beyond the form (助理医师升执业医师, 变更到军队, 申请取消“多地点执业”, 证书补办)."""
    data = dict(payload)
    extra = dict(errors or {})
    reg = chosen_registration(actor, data, instance,
                              (RegistrationStatus.ACTIVE, RegistrationStatus.SUSPENDED), extra)
    site = data.get("site")
    if reg is not None and site is not None and site not in (reg.legacy_sites or []):
        extra["site"] = _("请选择该执业注册中的执业地点")
    clean = forms.validate(schema, data, form_options(actor), extra)
    assert reg is not None
    return Prepared(clean, reg.institution_id, reg.authority_id, reg.id)


def registration_and_target(actor: User, data: dict[str, Any], instance: ProcessInstance | None,
                             extra: dict[str, str]) -> tuple[Registration | None,
                                                              Institution | None]:
    """The applicant's ACTIVE registration and the institution named in the form (locked to
    the instance's on a correction)."""
    if instance is not None:
        data["institution_id"] = instance.target_institution_id
    reg = chosen_registration(actor, data, instance, eligibility.CURRENT, extra)
    target_id = data.get("institution_id")
    target = db.session.get(Institution, target_id) if isinstance(target_id, int) else None
    return reg, target


def placement_errors(institution: Institution | None, data: dict[str, Any],
                      category: str) -> dict[str, str]:
    """科室 must belong to the institution; more than one 执业范围 only at county level or below
    for clinicians (执业范围暂行规定)."""
    errors: dict[str, str] = {}
    dept_id = data.get("department_id")
    if institution is not None and isinstance(dept_id, int):
        dept = db.session.get(Department, dept_id)
        if dept is None or dept.institution_id != institution.id or not dept.active:
            errors["department_id"] = _("请选择拟执业机构中的科室")
    from app.services.applications.scopes import scope_errors

    errors.update(scope_errors(institution, data.get("practice_scopes"), category))
    return errors


def chosen_registration(actor: User, data: dict[str, Any], instance: ProcessInstance | None,
                        statuses: tuple[RegistrationStatus, ...], extra: dict[str, str],
                        message: str | None = None) -> Registration | None:
    """The registration the form names (on a correction: the instance's, whatever was posted);
    it must be the physician's own and in one of ``statuses``, else ``message`` (default
    请选择您本人有效的执业注册) is put next to the field in ``extra``."""
    if instance is not None:
        data["registration_id"] = instance.registration_id
    reg = own_registration(actor, data.get("registration_id"), statuses)
    if data.get("registration_id") is not None and reg is None:
        extra["registration_id"] = message or _("请选择您本人有效的执业注册")
    return reg


def own_registration(actor: User, value: Any, statuses: tuple[RegistrationStatus, ...]) -> Registration | None:
    """The registration ``value`` names when it is ``actor``'s own and in one of ``statuses``."""
    if not isinstance(value, int):
        return None
    reg = db.session.get(Registration, value)
    qual = actor.qualification
    if reg is None or qual is None or reg.qualification_id != qual.id or reg.status not in statuses:
        return None
    return reg


_SAME_PERSON = aliased(Qualification)
# the columns a statement that reads a Qualification adds so that :func:`form_options` needs no
# statement of its own for the person's 执业类别 (see :func:`person_from`): the catalogue's stamp
# and how many qualifications the person holds
PERSON_COLUMNS = (_STAMP, select(func.count()).select_from(_SAME_PERSON)
                  .where(_SAME_PERSON.id_number == Qualification.id_number).scalar_subquery())


def person_from(qual: Qualification | None, stamp: int | None, held: int | None) -> PersonCategories | None:
    """The person's 执业类别 and the catalogue's stamp from :data:`PERSON_COLUMNS` read with
    ``qual``; None when they need a statement (a person with several qualifications)."""
    if qual is None:
        return [], stamp
    return ([qual.category], stamp) if held == 1 else None


_QUALIFICATION_FOR_FORM = (
    select(Qualification, *PERSON_COLUMNS, eligibility.OPEN_TEXT)
    .options(joinedload(Qualification.registrations))
    .where(Qualification.id == bindparam("qualification_id")))


@dataclass(frozen=True)
class FormPage:
    """Everything the application form page shows."""

    process_id: str
    title: str
    fields: list[forms.FieldView]
    department_institutions: dict[str, str]  # 科室 id -> its institution (the chosen one's only)
    refusal: str | None
    notes: list[str]
    info: str | None = None  # what the type tells before the form (e.g. when no 变更 is needed)


def form_page(actor: User, process_id: str, values: dict[str, Any] | None = None,
              errors: dict[str, str] | None = None, instance: ProcessInstance | None = None,
              notes: list[str] | None = None, task_spec_id: str | None = None,
              query: str | None = None,
              typed: Mapping[str, list[str]] | None = None) -> FormPage:
    """The application form with the physician's choices, values and messages; on a
    correction (``instance``, at its task ``task_spec_id``) the fields the diagram locks
    there (medreg:locked) are read-only, and so is the institution (every type keeps the
    instance's).

    Of institutions the form holds only the chosen one, plus, after a 查询 (``query``), at most
    :data:`institutions.LIMIT` matches; of 科室 only the chosen institution's. ``typed``: the
    posted fields of a form shown again (what was typed into a search box is kept)."""
    from app.services.backoffice import definitions
    bt = types.get(process_id)
    if bt is None or bt.kind != "application":
        raise DomainError(_("不支持的业务类型"))
    held: Qualification | None = None
    person: PersonCategories | None = None
    opened: tuple[eligibility.OpenApplication, ...] | None = None
    if instance is None and actor.qualification_id is not None:
        # the qualification with its registrations (the refusal rules read them), the
        # catalogue's stamp, how many qualifications the person holds and their open
        # applications, in one statement; held here, so actor.qualification finds it in the
        # session (no statement of its own)
        found = db.session.execute(_QUALIFICATION_FOR_FORM, {
            "qualification_id": actor.qualification_id, "user_id": actor.id}).unique().first()
        if found is not None:
            held, opened = found[0], eligibility.open_from_text(found[3])
            person = person_from(held, found[1], found[2])
    qual = held or qualification_of(actor)
    # a new application: the newest published version from the cache (no diagram row read)
    version = (definitions.published_version(process_id) if instance is None
               else definitions.version_by_id(instance.definition_id))
    schema = version.forms[definitions.start_form_id(version.definition)]
    vals = dict(values or {})
    if "practice_category" in schema.get("properties", {}):
        vals.setdefault("practice_category", qual.category)
    if instance is not None and bt.institution_from_instance:
        vals["institution_id"] = instance.institution_id
    if "contact_mobile" not in vals and actor.mobile:
        vals["contact_mobile"] = actor.mobile
    why = refusal(actor, process_id, opened) if instance is None else None
    extra_notes = bt.notes(actor) if bt.notes is not None and instance is None and not why else []
    wanted = forms.option_sources(schema)
    searched = forms.search_fields(schema)
    chosen = next((v for n in forms.institution_fields(schema)
                   if isinstance(v := vals.get(n), int) and not isinstance(v, bool)), None)
    options = form_options(actor, chosen, qual, wanted, person=person)
    if query is not None and searched and instance is None:
        known = {v for v, _label in options.get("institutions", [])}
        options["institutions"] = [*options.get("institutions", []), *(
            (str(m.id), m.label) for m in institutions.search(query) if str(m.id) not in known)]
    fields = forms.field_views(schema, vals, errors, options)
    locked = (definitions.task_flags(instance.definition_id,
                                     task_spec_id or definitions.START_TASK).locked
              if instance is not None else frozenset())
    for f in fields:
        if f.name in searched:
            f.query = institutions.clean_query(
                query if query is not None
                else next(iter((typed or {}).get(f"{f.name}{forms.QUERY_SUFFIX}", [])), ""))
            f.searched = query is not None
        if f.name in locked or (instance is not None and f.name in searched):
            f.widget = "readonly"
    depts = {d: str(chosen) for d, _n in options.get("departments", [])}
    return FormPage(process_id, eligibility.type_name(process_id), fields, depts,
                    why, [*(notes or []), *extra_notes], bt.info)


def searched_form(actor: User, process_id: str, sub: forms.Submission, upload_dir: str,
                  action: str) -> FormPage:
    """The form shown again after 查询 or 选定 of 拟执业机构 (without JavaScript): nothing is
    submitted; what the person filled in is kept (new files held in their temp area as on a
    form shown again with its messages), the matches of the typed name listed."""
    from app.services.applications import uploads
    from app.services.backoffice import definitions
    version = definitions.published_version(process_id)
    schema = version.forms[definitions.start_form_id(version.definition)]
    files = uploads.Batch(upload_dir, actor.id)
    try:
        payload, file_errors = forms.read_submission(schema, sub, files)
    finally:
        files.refused(shown_again=True)
    names = sorted(forms.search_fields(schema))
    typed = next((sub.fields.get(f"{n}{forms.QUERY_SUFFIX}", [""])[0] for n in names), "")
    return form_page(actor, process_id, payload, file_errors or None,
                     query=typed if action == "search" else None, typed=sub.fields)
