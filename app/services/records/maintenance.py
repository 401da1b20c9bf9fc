"""信息维护: personal information changes, the photo, the department (我的科室)."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import Attachment
from app.models import CatalogueItem
from app.models import Department
from app.models import PhysicianProfile
from app.models import ProcessInstance
from app.models import Registration
from app.models import RegistrationStatus
from app.models import Role
from app.models import User
from app.services.applications.attachments import Upload
from app.services.applications.forms import Submission
from app.services.engine import processes
from app.services.errors import DomainError
from app.services.errors import Forbidden
from app.services.errors import InvalidInput
from app.services.errors import NotFound
from app.services.platform import audit
from app.services.records import photos


@dataclass(frozen=True)
class ProfileView:
    """What 我的基本信息 shows: the practice-side values (or the qualification's)."""

    name: str
    sex: str
    birth_date: Any
    education: str
    school: str
    major: str
    title: str
    photo_sha256: str | None
    pending_photo: bool
    pending_info: bool
    registration: Registration | None
    departments: list[Department]
    # 我修改的内容: (label, value in use, value submitted) of the change awaiting review
    pending_changes: tuple[tuple[str, str, str], ...] = ()
    subject_names: dict[str, str] = field(default_factory=dict)  # 诊疗科目 code -> name

    def department_label(self, dept: Department) -> str:
        """The option as the guide shows it: "12 内科 诊疗科目：预防保健科"."""
        subject = self.subject_names.get(dept.subject_code, dept.subject_code)
        return _("%(code)s %(name)s 诊疗科目：%(subject)s", code=dept.code, name=dept.name,
                 subject=subject)


INFO_LABELS = (("education", "学历"), ("school", "毕业学校"), ("major", "所学专业"),
               ("title", "任职资格"))


def _physician(actor: User) -> None:
    if actor.role is not Role.PHYSICIAN or actor.qualification is None:
        raise Forbidden(_("只有已关联医师资格的医师可以维护个人信息"))


def main_registration(actor: User) -> Registration | None:
    qual = actor.qualification
    regs = [r for r in (qual.registrations if qual else [])
            if r.status in (RegistrationStatus.ACTIVE, RegistrationStatus.PENDING_CHANGE)]  # 变更中 is still in force
    return regs[-1] if regs else None


def profile_of(qualification_id: int) -> PhysicianProfile | None:
    return db.session.get(PhysicianProfile, qualification_id)


def view(actor: User) -> ProfileView:
    _physician(actor)
    qual = actor.qualification
    assert qual is not None
    prof = profile_of(qual.id)
    reg = main_registration(actor)
    depts = list(db.session.scalars(select(Department).where(
        Department.institution_id == reg.institution_id, Department.active.is_(True))
        .order_by(Department.code))) if reg else []

    def pending(pid: str) -> ProcessInstance | None:
        return db.session.scalar(select(ProcessInstance).where(
            ProcessInstance.subject_user_id == actor.id, ProcessInstance.process_id == pid,
            ProcessInstance.completed_at.is_(None)).order_by(ProcessInstance.id.desc()).limit(1))

    current = {"education": (prof and prof.education) or qual.education,
               "school": (prof and prof.school) or qual.school,
               "major": (prof and prof.major) or qual.major,
               "title": (prof and prof.title) or qual.title}
    info = pending("info_change")
    submitted = (info.application or {}) if info else {}
    changes = tuple((_(label), str(current[key] or ""), str(submitted[key]))
                    for key, label in INFO_LABELS
                    if key in submitted and str(submitted[key]) != str(current[key] or ""))
    subjects = dict(db.session.execute(select(CatalogueItem.code, CatalogueItem.name).where(
        CatalogueItem.kind == "clinical_subject")).tuples().all()) if depts else {}
    return ProfileView(
        qual.name, qual.sex, qual.birth_date, current["education"], current["school"],
        current["major"], current["title"], prof.photo_sha256 if prof else None,
        pending("photo") is not None, info is not None, reg, depts, changes, subjects)


def info_fields(actor: User, values: dict[str, Any] | None = None,
                errors: dict[str, str] | None = None) -> list[Any]:
    """The 信息修改 form, filled with the current values (or what was just entered)."""
    from app.services.applications import forms
    from app.services.backoffice import definitions
    current = view(actor)
    vals = {"education": current.education, "school": current.school, "major": current.major,
            "title": current.title, **(values or {})}
    schema = definitions.published("info_change").forms["info_change_apply"]
    return forms.field_views(schema, vals, errors)


def photo_of(actor: User, sha256: str) -> tuple[str, str]:
    """The actor's own photo (approved or pending) by hash, with its MIME type."""
    _physician(actor)
    prof = profile_of(actor.qualification_id or 0)
    pending = db.session.scalars(select(ProcessInstance).where(
        ProcessInstance.subject_user_id == actor.id, ProcessInstance.process_id == "photo"))
    mine = {prof.photo_sha256} if prof and prof.photo_sha256 else set()
    mine |= {str((p.application or {}).get("photo", {}).get("sha256")) for p in pending}
    row = db.session.scalar(select(Attachment).where(Attachment.sha256 == sha256).limit(1))
    if sha256 not in mine or row is None:
        raise NotFound(_("相片不存在"))
    return sha256, row.mime


def submit_photo(actor: User, upload: Upload | None, upload_dir: str) -> int:
    """Upload a photo for review; a pending one is replaced (the approved one stays in use)."""
    _physician(actor)
    if upload is None:
        raise InvalidInput(_("请选择要上传的相片"), {"photo": _("请选择要上传的相片")})
    data, ext = photos.clean(upload.filename, upload.data)
    pending = db.session.scalar(select(ProcessInstance.id).where(
        ProcessInstance.subject_user_id == actor.id, ProcessInstance.process_id == "photo",
        ProcessInstance.completed_at.is_(None)).limit(1))
    if pending is not None:
        processes.withdraw(actor, pending)
    photo = Submission(files={"photo": Upload(f"相片{ext}", data)})  # stored only if accepted
    return processes.start(actor, "photo", photo, upload_dir).instance_id


def set_department(actor: User, department_id: int | None) -> None:
    """我的科室: choose among the active departments of the main institution (no review)."""
    _physician(actor)
    reg = main_registration(actor)
    if reg is None:
        raise DomainError(_("您当前没有有效的执业注册，不能设置科室"))
    dept = db.session.get(Department, department_id) if department_id else None
    if dept is None or dept.institution_id != reg.institution_id or not dept.active:
        raise InvalidInput(_("请选择"), {"department_id": _("请选择您所在医疗机构的科室")})
    reg.department_id = dept.id
    audit.record(actor, "registration.department", "registration", reg.id, {"department": dept.id})
    db.session.commit()
