"""An institution's departments (科室), each mapped to one of its 诊疗科目.

A physician's 执业范围 is checked against the 诊疗科目 of the department chosen, so a
department must map to a subject the institution is licensed for (when its licence lists any).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import CatalogueItem
from app.models import Department
from app.models import Institution
from app.models import Role
from app.models import User
from app.services.errors import Forbidden
from app.services.errors import InvalidInput
from app.services.errors import NotFound
from app.services.platform import audit

CODE_RE = re.compile(r"^[A-Za-z0-9]{1,20}$")


@dataclass(frozen=True)
class DepartmentsPage:
    institution: Institution
    departments: list[Department]
    subjects: list[tuple[str, str]]  # (code, name) the institution may map to
    subject_names: dict[str, str]


def _institution(actor: User) -> Institution:
    if actor.role is not Role.INSTITUTION or actor.institution_id is None:
        raise Forbidden(_("只有医疗机构可以维护科室"))
    inst = db.session.get(Institution, actor.institution_id)
    assert inst is not None
    return inst


def _subjects(inst: Institution) -> list[tuple[str, str]]:
    licensed = {c for c in (inst.subject_codes or "").split(",") if c}
    rows = db.session.execute(select(CatalogueItem.code, CatalogueItem.name)
                              .where(CatalogueItem.kind == "clinical_subject")
                              .order_by(CatalogueItem.code)).all()
    return [(c, n) for c, n in rows if not licensed or c in licensed]


def page(actor: User) -> DepartmentsPage:
    inst = _institution(actor)
    subjects = _subjects(inst)
    names = dict(db.session.execute(select(CatalogueItem.code, CatalogueItem.name)
                                    .where(CatalogueItem.kind == "clinical_subject")).tuples().all())
    return DepartmentsPage(inst, list(inst.departments), subjects, names)


def save(actor: User, code: str, name: str, subject_code: str, department_id: int | None = None) -> Department:
    """Add a department, or change the name and subject of one (its code stays)."""
    inst = _institution(actor)
    values = {"code": code, "name": name, "subject_code": subject_code}
    code, name = code.strip(), name.strip()
    errors: dict[str, str] = {}
    dept = None
    if department_id is not None:
        dept = db.session.get(Department, department_id)
        if dept is None or dept.institution_id != inst.id:
            raise NotFound(_("科室不存在"))
        code = dept.code
    elif not CODE_RE.fullmatch(code):
        errors["code"] = _("科室编码为 1–20 位字母或数字")
    elif db.session.scalar(select(Department.id).where(Department.institution_id == inst.id,
                                                       Department.code == code)):
        errors["code"] = _("本机构已有编码为 %(c)s 的科室", c=code)
    if not 2 <= len(name) <= 60:
        errors["name"] = _("请填写科室名称（2–60 个字）")
    if subject_code not in {c for c, _n in _subjects(inst)}:
        errors["subject_code"] = _("请选择本机构执业许可证核准的诊疗科目")
    if errors:
        raise InvalidInput(_("请按提示修改"), errors, values)
    if dept is None:
        dept = Department(institution_id=inst.id, code=code)
        db.session.add(dept)
    dept.name, dept.subject_code = name, subject_code
    db.session.flush()
    audit.record(actor, "department.saved", "department", dept.id,
                 {"code": code, "name": name, "subject": subject_code})
    db.session.commit()
    return dept


def set_active(actor: User, department_id: int, active: bool) -> Department:
    """停用 / 启用 a department (stopped ones are no longer offered in applications)."""
    inst = _institution(actor)
    dept = db.session.get(Department, department_id)
    if dept is None or dept.institution_id != inst.id:
        raise NotFound(_("科室不存在"))
    dept.active = active
    audit.record(actor, "department.enabled" if active else "department.disabled", "department", dept.id)
    db.session.commit()
    return dept
