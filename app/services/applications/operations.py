"""The registry of named service operations that diagrams may call.

A service task names an operation (``spiffworkflow:serviceTaskOperator id``); only
the names registered here exist. Each runs inside the step's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from app.extensions import db
from app.models import FilingStatus
from app.models import HumanTask
from app.models import Institution
from app.models import MultiFiling
from app.models import PhysicianProfile
from app.models import Qualification
from app.models import Registration
from app.models import RegistrationStatus
from app.models import Role
from app.models import ScopeKind
from app.models import TaskStatus
from app.models import User
from app.services.engine.clock import today_cst
from app.services.engine.context import StepContext
from app.services.platform import audit
from app.services.platform import outbox
from app.services.platform.database import advisory_lock

Operation = Callable[..., Any]
_REGISTRY: dict[str, Operation] = {}

OUTCOMES = {
    "approved": "已批准",
    "refused": "已不予批准",
    "withdrawn": "已撤回",
    "inst_refused": "机构不予确认",
    "not_accepted": "不予受理",
    "terminated": "已终止",
}


def operation(name: str) -> Callable[[Operation], Operation]:
    def register(fn: Operation) -> Operation:
        _REGISTRY[name] = fn
        return fn
    return register


def names() -> set[str]:
    return set(_REGISTRY)


def call(ctx: StepContext, name: str, params: dict[str, Any], data: dict[str, Any]) -> Any:
    """Run a registered operation; unknown names are refused."""
    fn = _REGISTRY.get(name)
    if fn is None:
        raise LookupError(f"服务操作 {name} 未注册")
    return fn(ctx, data, **params)


def staff_of(role: Role, *, institution_id: int | None = None,
             authority_id: int | None = None) -> list[User]:
    q = select(User).where(User.role == role, User.active.is_(True))
    if institution_id is not None:
        q = q.where(User.institution_id == institution_id)
    if authority_id is not None:
        q = q.where(User.authority_id == authority_id)
    return list(db.session.scalars(q))


@operation("close_application")
def close_application(ctx: StepContext, data: dict[str, Any], outcome: str) -> dict[str, Any]:
    """End an application with an outcome; tell the physician and the institution."""
    if outcome not in OUTCOMES:
        raise ValueError(f"未知的办理结果 {outcome}")
    inst = ctx.instance
    inst.outcome = outcome
    from app.services.applications import conflicts

    conflicts.on_close(inst, outcome)
    label = OUTCOMES[outcome]
    reason = str(data.get("note") or "").strip()
    body = f"您的{_process_name(inst.process_id)}申请（编号 {inst.id}）办理结果：{label}。"
    if outcome in ("refused", "not_accepted", "inst_refused", "terminated") and reason:
        body += f"理由：{reason}"
    if outcome == "refused":
        body += "如不服本决定，可以依法申请行政复议或者提起行政诉讼。"
    subject = f"业务办理结果：{label}"
    key = f"close:{inst.id}"
    physician = (db.session.get(User, inst.subject_user_id) if inst.subject_user_id else None)
    if physician is not None:
        outbox.notify_user(physician, subject, body, key)
    who = physician.display_name if physician else ""
    for staff in staff_of(Role.INSTITUTION, institution_id=inst.institution_id):
        outbox.notify_user(staff, subject, f"医师 {who} " + body.replace("您的", ""), key)
    # in 变更 and 备案 the new or filed institution is told the result too
    if inst.target_institution_id not in (None, inst.institution_id):
        for staff in staff_of(Role.INSTITUTION, institution_id=inst.target_institution_id):
            outbox.notify_user(staff, subject, f"医师 {who} " + body.replace("您的", ""), key)
    audit.record(ctx.actor, f"application.{outcome}", "process_instance", inst.id,
                 {"reason": reason})
    return {"outcome": outcome}


def _cn(day: date) -> str:
    return f"{day.year}年{day.month:02d}月{day.day:02d}日"


@operation("acceptance_notice")
def acceptance_notice(ctx: StepContext, data: dict[str, Any], accepted_on: str = "",
                      deemed: bool = False) -> dict[str, Any]:
    """受理通知 (行政许可法 第三十二条): the dated written notice of 受理, with the day the
    decision is due; once per application."""
    inst = ctx.instance
    day = date.fromisoformat(accepted_on) if accepted_on else today_cst()
    inst.accepted_on = day
    name = _process_name(inst.process_id)
    if deemed:
        body = (f"您的{name}申请（编号 {inst.id}）未在法定期限内被告知补正，"
                f"依法自收到申请材料之日（{_cn(day)}）起即为受理。")
    else:
        body = f"您的{name}申请（编号 {inst.id}）已于{_cn(day)}受理。"
    if inst.due_on is not None:
        body += f"卫生健康行政部门将于{_cn(inst.due_on)}前作出决定。"
    physician = (db.session.get(User, inst.subject_user_id) if inst.subject_user_id else None)
    if physician is not None:
        outbox.notify_user(physician, "受理通知", body, f"accepted:{inst.id}")
    audit.record(ctx.actor, "application.accepted", "process_instance", inst.id,
                 {"accepted_on": day.isoformat(), "deemed": deemed,
                  "due_on": inst.due_on.isoformat() if inst.due_on else None})
    return {"accepted_on": day.isoformat(), "deemed": deemed}


@operation("extension_notice")
def extension_notice(ctx: StepContext, data: dict[str, Any], reason: str = "",
                     due_before: str = "") -> dict[str, Any]:
    """延期 (行政许可法 第四十二条): tell the applicant the reason and the new due day."""
    inst = ctx.instance
    name = _process_name(inst.process_id)
    body = (f"您的{name}申请（编号 {inst.id}）因{reason}，经本行政机关负责人批准，"
            "办理期限延长十个工作日")
    body += f"，将于{_cn(inst.due_on)}前作出决定。" if inst.due_on else "。"
    physician = (db.session.get(User, inst.subject_user_id) if inst.subject_user_id else None)
    if physician is not None:
        outbox.notify_user(physician, "延期通知", body, f"extended:{inst.id}")
    return {"extended_from": due_before}


def _process_name(process_id: str) -> str:
    from app.services.applications.eligibility import type_name

    return type_name(process_id)


def _new_cert_no(level: str, category: str, region: str) -> str:
    prefix = ("1" if level == "执业医师" else "2") + f"{int(category):02d}" + region
    advisory_lock(int(prefix[:9]))
    last = db.session.scalar(select(func.max(Registration.cert_no))
                             .where(Registration.cert_no.like(prefix + "%")))
    serial = int(last[-6:]) + 1 if last else 1
    return f"{prefix}{serial:06d}"


@operation("apply_registration")
def apply_registration(ctx: StepContext, data: dict[str, Any]) -> dict[str, Any]:
    """Create the ACTIVE registration with a new 15-digit 执业证书编码."""
    inst = ctx.instance
    qual = db.session.get(Qualification, inst.qualification_id)
    institution = db.session.get(Institution, inst.institution_id)
    if qual is None or institution is None:
        raise ValueError("申请缺少资格或机构信息")
    reg = _new_registration(ctx, qual, institution, data, list(data.get("practice_scopes") or []))
    inst.registration_id = reg.id
    audit.record(ctx.actor, "registration.create", "registration", reg.id,
                 {"cert_no": reg.cert_no, "instance": inst.id})
    return {"registration_id": reg.id, "cert_no": reg.cert_no}


@operation("cancel_registration")
def cancel_registration(ctx: StepContext, data: dict[str, Any]) -> dict[str, Any]:
    """注销: the registration becomes CANCELLED and its certificate is annulled."""
    reg = db.session.get(Registration, ctx.instance.registration_id)
    if reg is None or reg.status not in (RegistrationStatus.ACTIVE, RegistrationStatus.PENDING_CHANGE,
                                         RegistrationStatus.SUSPENDED, RegistrationStatus.FILED):
        raise ValueError("该执业注册已不能注销")
    set_status(reg, RegistrationStatus.CANCELLED)  # closes its filings
    reg.status_decided_on = reg.status_changed_on
    reason = data.get("reason")
    reg.status_reason = str(reason)[:20] if reason else None  # e.g. assessment: 第十六条 bar
    audit.record(ctx.actor, "registration.cancel", "registration", reg.id,
                 {"reason": reason, "instance": ctx.instance.id})
    return {"registration_id": reg.id, "cert_no": reg.cert_no}


def _close_filings(reg: Registration) -> None:
    for filing in reg.filings:
        if filing.status == FilingStatus.ACTIVE:
            filing.status = FilingStatus.CANCELLED


@operation("file_registration")
def file_registration(ctx: StepContext, data: dict[str, Any]) -> dict[str, Any]:
    """备案 (办法 第十九条): 调离、退休、退职、被辞退或开除 reported by the institution. The
    registration is 备案 since the event date (the day practice there ended, from which the
    two years of 备案满二年 count; a late report does not lengthen them); its 多执业机构备案
    filings close as on 注销."""
    reg = _registration_of(ctx, (RegistrationStatus.ACTIVE, RegistrationStatus.PENDING_CHANGE,
                                 RegistrationStatus.SUSPENDED))
    event = date.fromisoformat(str(data["event_date"]))
    reg.status = RegistrationStatus.FILED
    reg.status_changed_on = event
    reg.status_decided_on = today_cst()
    reg.status_reason = str(data.get("reason") or "left")[:20]
    _close_filings(reg)
    audit.record(ctx.actor, "registration.file", "registration", reg.id,
                 {"reason": data.get("reason"), "event_date": event.isoformat(),
                  "instance": ctx.instance.id})
    return {"registration_id": reg.id, "cert_no": reg.cert_no}


@operation("add_filing")
def add_filing(ctx: StepContext, data: dict[str, Any]) -> dict[str, Any]:
    """多执业机构备案: a filing row is added to the registration."""
    inst = ctx.instance
    reg = db.session.get(Registration, inst.registration_id)
    target = db.session.get(Institution, inst.target_institution_id)
    if reg is None or reg.status != RegistrationStatus.ACTIVE or target is None:
        raise ValueError("执业注册已无效，不能备案")
    filing = MultiFiling(registration_id=reg.id, institution_id=target.id,
                         scopes=list(data.get("practice_scopes") or []),
                         valid_from=date.fromisoformat(data["valid_from"]),
                         valid_to=date.fromisoformat(data["valid_to"]),
                         authority_id=target.authority_id, filed_on=today_cst(), status=FilingStatus.ACTIVE)
    db.session.add(filing)
    db.session.flush()
    audit.record(ctx.actor, "filing.create", "registration", reg.id,
                 {"filing": filing.id, "institution": target.id, "instance": inst.id})
    return {"filing_id": filing.id}


def set_status(reg: Registration, status: RegistrationStatus) -> None:
    """Change a registration's status and remember since when; a registration that ends
    (注销, 变更出: upgrade, 变更到军队, cross-province 变更) closes its filings (R-47)."""
    reg.status = status
    reg.status_changed_on = today_cst()
    if status in (RegistrationStatus.CANCELLED, RegistrationStatus.CHANGED_OUT,
                  RegistrationStatus.REVOKED):
        for filing in reg.filings:
            if filing.status == FilingStatus.ACTIVE:
                filing.status = FilingStatus.CANCELLED
                filing.valid_to = min(filing.valid_to, reg.status_changed_on)


def _registration_of(ctx: StepContext,
                     statuses: tuple[RegistrationStatus, ...] = (RegistrationStatus.ACTIVE,)) -> Registration:
    reg = db.session.get(Registration, ctx.instance.registration_id)
    if reg is None or reg.status not in statuses:
        raise ValueError("该执业注册的状态已改变，不能办理")
    return reg


def _place_of(level: str, institution: Institution) -> str:
    """执业地点 (办法 第七条、第十七条): the county for 执业助理医师, the province for 执业医师."""
    return institution.region_code if level == "执业助理医师" else institution.region_code[:2] + "0000"


def _new_registration(ctx: StepContext, qual: Qualification, institution: Institution,
                      data: dict[str, Any], scopes: list[str],
                      category: str | None = None) -> Registration:
    place = _place_of(qual.level, institution)
    today = today_cst()
    category = category or qual.category
    reg = Registration(
        qualification_id=qual.id, level=qual.level, category=category, scopes=scopes,
        place_region=place, institution_id=institution.id,
        department_id=data.get("department_id"), authority_id=institution.authority_id,
        approved_on=today, issued_on=today, status=RegistrationStatus.ACTIVE, process_instance_id=ctx.instance.id,
        cert_no=_new_cert_no(qual.level, category, institution.authority.region_code))
    db.session.add(reg)
    db.session.flush()
    return reg


@operation("upgrade_level")
def upgrade_level(ctx: StepContext, data: dict[str, Any]) -> dict[str, Any]:
    """助理医师升执业医师: a new 执业医师 registration (new certificate); the old one is withdrawn."""
    old = _registration_of(ctx)
    assistant = db.session.get(Qualification, old.qualification_id)
    assert assistant is not None
    qual = db.session.scalar(select(Qualification).where(
        Qualification.id_number == assistant.id_number, Qualification.level == "执业医师",
        Qualification.category == assistant.category).limit(1))
    if qual is None:
        raise ValueError("未找到执业医师资格")
    new = _new_registration(ctx, qual, old.institution, data,
                            list(data.get("practice_scopes") or old.scopes))
    set_status(old, RegistrationStatus.CHANGED_OUT)
    # the account belongs to the person: from now on its pages and checks follow the 执业医师
    # qualification and its registration, not the assistant one
    for account in db.session.scalars(select(User).where(User.qualification_id == assistant.id)):
        account.qualification_id = qual.id
    audit.record(ctx.actor, "registration.upgrade", "registration", new.id,
                 {"from": old.id, "cert_no": new.cert_no, "qualification": qual.id})
    return {"registration_id": new.id, "cert_no": new.cert_no}


@operation("change_to_military")
def change_to_military(ctx: StepContext, data: dict[str, Any]) -> dict[str, Any]:
    """变更到军队: the local registration becomes 变更出."""
    reg = _registration_of(ctx)
    set_status(reg, RegistrationStatus.CHANGED_OUT)
    audit.record(ctx.actor, "registration.to_military", "registration", reg.id,
                 {"unit": data.get("military_unit")})
    return {"registration_id": reg.id}


@operation("apply_change")
def apply_change(ctx: StepContext, data: dict[str, Any]) -> dict[str, Any]:
    """变更: same place → updated in place; another province → old 变更出, new row ACTIVE."""
    reg = _registration_of(ctx, (RegistrationStatus.ACTIVE, RegistrationStatus.PENDING_CHANGE))
    target = db.session.get(Institution, ctx.instance.target_institution_id)
    assert target is not None
    scopes = list(data.get("practice_scopes") or reg.scopes)
    category = str(data.get("practice_category") or reg.category)  # 执业类别 may change
    if target.region_code[:2] != reg.place_region[:2]:
        qual = db.session.get(Qualification, reg.qualification_id)
        assert qual is not None
        new = _new_registration(ctx, qual, target, data, scopes, category)
        set_status(reg, RegistrationStatus.CHANGED_OUT)
        result: dict[str, Any] = {"registration_id": new.id, "cert_no": new.cert_no}
    else:
        before = {"institution": reg.institution_id, "scopes": reg.scopes,
                  "department": reg.department_id, "category": reg.category}
        reg.category = category
        reg.institution_id, reg.authority_id = target.id, target.authority_id
        reg.department_id, reg.scopes = data.get("department_id"), scopes
        reg.place_region = _place_of(reg.level, target)  # an assistant's county moves too
        reg.approved_on = today_cst()
        set_status(reg, RegistrationStatus.ACTIVE)  # 变更中 ends: the change has taken effect
        result = {"registration_id": reg.id, "cert_no": reg.cert_no, "before": before}
    audit.record(ctx.actor, "registration.change", "registration", reg.id,
                 {k: v for k, v in result.items() if k != "cert_no"})
    return result


@operation("cancel_filing")
def cancel_filing(ctx: StepContext, data: dict[str, Any]) -> dict[str, Any]:
    """多执业机构取消备案: the filing is closed on the requested date."""
    filing = db.session.get(MultiFiling, data.get("filing_id"))
    if filing is None or filing.status != FilingStatus.ACTIVE:
        raise ValueError("该备案已不存在")
    filing.status = FilingStatus.CANCELLED
    filing.valid_to = min(filing.valid_to, date.fromisoformat(data["end_date"]))
    audit.record(ctx.actor, "filing.cancel", "registration", filing.registration_id,
                 {"filing": filing.id})
    return {"filing_id": filing.id}


@operation("remove_legacy_site")
def remove_legacy_site(ctx: StepContext, data: dict[str, Any]) -> dict[str, Any]:
    """申请取消“多地点执业”: the legacy site is removed from the record."""
    reg = _registration_of(ctx, (RegistrationStatus.ACTIVE, RegistrationStatus.SUSPENDED))
    site = data.get("site")
    reg.legacy_sites = [s for s in (reg.legacy_sites or []) if s != site]
    audit.record(ctx.actor, "registration.legacy_site_removed", "registration", reg.id,
                 {"site": site})
    return {"registration_id": reg.id}


@operation("reissue_certificate")
def reissue_certificate(ctx: StepContext, data: dict[str, Any]) -> dict[str, Any]:
    """证书补办: the certificate is reissued with the same 执业证书编码, marked 补发."""
    reg = _registration_of(ctx, (RegistrationStatus.ACTIVE, RegistrationStatus.SUSPENDED))
    reg.reissued_on = today_cst()
    reg.reissue_count = (reg.reissue_count or 0) + 1
    audit.record(ctx.actor, "registration.reissue", "registration", reg.id,
                 {"cause": data.get("cause"), "cert_no": reg.cert_no})
    return {"registration_id": reg.id, "cert_no": reg.cert_no}


def _profile(ctx: StepContext) -> PhysicianProfile:
    qual_id = ctx.instance.qualification_id
    prof = db.session.get(PhysicianProfile, qual_id)
    if prof is None:
        prof = PhysicianProfile(qualification_id=qual_id)
        db.session.add(prof)
    prof.updated_at = ctx.now
    return prof


@operation("approve_photo")
def approve_photo(ctx: StepContext, data: dict[str, Any]) -> dict[str, Any]:
    """照片更新: the reviewed photo becomes the one in use."""
    prof = _profile(ctx)
    prof.photo_sha256 = str(data["photo"]["sha256"])
    audit.record(ctx.actor, "profile.photo", "qualification", prof.qualification_id,
                 {"sha256": prof.photo_sha256})
    return {"photo": prof.photo_sha256}


@operation("apply_info_change")
def apply_info_change(ctx: StepContext, data: dict[str, Any]) -> dict[str, Any]:
    """信息修改: the practice-side copy changes; the qualification record never does."""
    prof = _profile(ctx)
    changed: dict[str, Any] = {}
    for key in ("education", "school", "major", "title"):
        if key in data:
            changed[key] = data[key]
            setattr(prof, key, data[key])
    audit.record(ctx.actor, "profile.change", "qualification", prof.qualification_id, changed)
    return {"changed": sorted(changed)}


@operation("statutory_reminder")
def statutory_reminder(ctx: StepContext, data: dict[str, Any], due: str) -> dict[str, Any]:
    """Remind the commission that the statutory time limit is near (once per due time)."""
    inst = ctx.instance
    for officer in staff_of(Role.COMMISSION, authority_id=inst.authority_id):
        outbox.enqueue("inbox", officer.username, "办理时限提醒",
                       f"申请（编号 {inst.id}）已到第15个工作日，请于 {inst.due_on} 前作出决定。",
                       user_id=officer.id, dedupe_key=f"remind:{inst.id}:{due}:{officer.id}")
    audit.record(None, "clock.reminder", "process_instance", inst.id, {"due": due})
    return {"reminded": due}


@operation("statutory_overdue")
def statutory_overdue(ctx: StepContext, data: dict[str, Any], due: str) -> dict[str, Any]:
    """Mark the application overdue and tell the commission."""
    inst = ctx.instance
    inst.overdue = True
    for officer in staff_of(Role.COMMISSION, authority_id=inst.authority_id):
        outbox.enqueue("inbox", officer.username, "办理已超期",
                       f"申请（编号 {inst.id}）已超过法定办理时限（20个工作日）。",
                       user_id=officer.id, dedupe_key=f"overdue:{inst.id}:{due}:{officer.id}")
    audit.record(None, "clock.overdue", "process_instance", inst.id, {"due": due})
    return {"overdue": due}


@operation("remind_holders")
def remind_holders(ctx: StepContext, data: dict[str, Any]) -> dict[str, Any]:
    """Remind whoever holds the application's open tasks (a reminder timer the administrator
    can attach to any waiting task; once per task and person)."""
    inst = ctx.instance
    roles = {ScopeKind.INSTITUTION: ("institution_id", Role.INSTITUTION),
             ScopeKind.AUTHORITY: ("authority_id", Role.COMMISSION)}
    sent = 0
    open_tasks = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == inst.id,
                                                            HumanTask.status == TaskStatus.OPEN))
    for task in open_tasks:
        if task.scope_kind not in roles or task.scope_id is None:
            continue
        key, role = roles[task.scope_kind]
        for person in staff_of(role, **{key: task.scope_id}):
            outbox.enqueue("inbox", person.username, "待办提醒",
                           f"{_process_name(inst.process_id)}申请（编号 {inst.id}）的“{task.title}”"
                           f"仍在等待办理，请尽快处理。",
                           user_id=person.id, dedupe_key=f"holders:{inst.id}:{task.id}:{person.id}")
            sent += 1
    audit.record(None, "task.reminder", "process_instance", inst.id, {"recipients": sent})
    return {"reminded": sent}
