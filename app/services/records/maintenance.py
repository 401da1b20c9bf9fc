"""信息维护: personal information changes, the photo, the department (我的科室)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import Attachment
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

    def pending(pid: str) -> bool:
        return db.session.scalar(select(ProcessInstance.id).where(
            ProcessInstance.subject_user_id == actor.id, ProcessInstance.process_id == pid,
            ProcessInstance.completed_at.is_(None)).limit(1)) is not None

    return ProfileView(
        qual.name, qual.sex, qual.birth_date,
        (prof and prof.education) or qual.education, (prof and prof.school) or qual.school,
        (prof and prof.major) or qual.major, (prof and prof.title) or qual.title,
        prof.photo_sha256 if prof else None, pending("photo"), pending("info_change"), reg,
        depts)


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
