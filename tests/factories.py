"""Plain factories of a small world (Indico style): rows made explicitly, no magic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import Authority
from app.models import Department
from app.models import HumanTask
from app.models import Institution
from app.models import Qualification
from app.models import Registration
from app.models import Role
from app.models import User
from app.services.accounts import accounts
from app.services.accounts import captcha
from app.services.applications import attachments
from app.services.platform.seed import make_resident_id

PASSWORD = "Passw0rd1"
# qualified a year ago: a first 注册 needs no training proof (医师法 第十九条, tested apart)
QUALIFIED_ON = date.today() - timedelta(days=365)


@dataclass
class World:
    """Ids (not ORM objects, so they cross app contexts) of the test world."""

    authority_id: int
    other_authority_id: int
    hospital_id: int
    other_hospital_id: int
    department_id: int
    other_department_id: int
    doctor_id: int
    doctor2_id: int
    staff_id: int
    other_staff_id: int
    officer_id: int
    other_officer_id: int
    admin_id: int
    upload_dir: str


def make_qualification(name: str, seq: int, region: str = "140105",
                       level: str = "执业医师", category: str = "1") -> Qualification:
    born = date(1960 + seq // 324 % 40, 1 + seq % 12, 1 + seq // 12 % 27)
    rid = make_resident_id(region, born, 101 + 2 * (seq % 449))
    q = Qualification(cert_no=f"2012{region[:2]}1{int(category):02d}{rid}", name=name, sex="男",
                      id_number=rid, birth_date=born, level=level,
                      category=category, year=QUALIFIED_ON.year, issued_on=QUALIFIED_ON,
                      issuer="山西省卫生健康委员会", major="临床医学", education="大学本科",
                      school="山西医科大学", title="医师")
    db.session.add(q)
    db.session.flush()
    return q


def make_user(username: str, role: Role, display: str, **kw: Any) -> User:
    u = User(username=username, password_hash=accounts.hash_password(PASSWORD), role=role,
             display_name=display, **kw)
    db.session.add(u)
    db.session.flush()
    return u


def make_world(upload_dir: str) -> World:
    a1 = Authority(name="太原市卫生健康委员会", region_code="140100", level="city")
    a2 = Authority(name="昆明市卫生健康委员会", region_code="530100", level="city")
    db.session.add_all([a1, a2])
    db.session.flush()
    h1 = Institution(name="山西大学医院", reg_no="R-140-1", kind="综合医院", region_code="140105",
                     authority_id=a1.id)
    h2 = Institution(name="昆明市第一人民医院", reg_no="R-530-1", kind="综合医院",
                     region_code="530102", authority_id=a2.id)
    db.session.add_all([h1, h2])
    db.session.flush()
    d1 = Department(institution_id=h1.id, code="01", name="内科", subject_code="0300")
    d2 = Department(institution_id=h2.id, code="01", name="外科", subject_code="0400")
    db.session.add_all([d1, d2])
    db.session.flush()
    q1 = make_qualification("宋宏强", 1)
    q2 = make_qualification("李明华", 2)
    doctor = make_user("doctor01", Role.PHYSICIAN, "宋宏强", qualification_id=q1.id,
                       id_number=q1.id_number, mobile="15175070658", mobile_verified=True)
    doctor2 = make_user("doctor02", Role.PHYSICIAN, "李明华", qualification_id=q2.id,
                        id_number=q2.id_number, mobile="15175070659", mobile_verified=True)
    staff = make_user("jigou01", Role.INSTITUTION, "山西大学医院医务科", institution_id=h1.id)
    other_staff = make_user("jigou02", Role.INSTITUTION, "昆明一院医务科", institution_id=h2.id)
    officer = make_user("weijian01", Role.COMMISSION, "太原市卫健委", authority_id=a1.id)
    other_officer = make_user("weijian02", Role.COMMISSION, "昆明市卫健委", authority_id=a2.id)
    admin = make_user("admin01", Role.ADMIN, "管理员")
    db.session.commit()
    return World(a1.id, a2.id, h1.id, h2.id, d1.id, d2.id, doctor.id, doctor2.id, staff.id,
                 other_staff.id, officer.id, other_officer.id, admin.id, upload_dir)


PDF = b"%PDF-1.4\n% test\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def photo_jpeg(size: tuple[int, int] = (354, 472)) -> bytes:
    """A real 2-inch (35 x 49 mm at about 260 dpi) white JPEG photo."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (250, 250, 250)).save(out, format="JPEG")
    return out.getvalue()


# the institution confirms holding the applicant's signed and stamped 申请审核表
CONFIRMED: dict[str, Any] = {"decision": "confirm", "paper_held": True}


def application_payload(w: World, user_id: int, **overrides: Any) -> dict[str, Any]:
    """A complete, valid 注册 application of the test world's hospital."""
    photo = attachments.store(w.upload_dir, attachments.Upload("照片.jpg", photo_jpeg()), user_id)
    proof = attachments.store(w.upload_dir, attachments.Upload("聘用证明.pdf", PDF + b"1"),
                              user_id)
    data: dict[str, Any] = {
        "institution_id": w.hospital_id, "department_id": w.department_id,
        "practice_scopes": ["11"], "contact_mobile": "15175070658",
        "declare_health": True, "declare_no_bar": True,
        "employment_proof": proof, "photo": photo}
    data.update(overrides)
    return data


def submit_registration(app: Flask, w: World, username: str = "doctor01") -> int:
    """The physician ``username`` submits a 注册 application; the id of its open task (the
    institution's 确认), read outside any request."""
    from app.services.engine import processes
    with app.app_context():
        doctor = db.session.scalar(select(User).where(User.username == username))
        assert doctor is not None
        iid = processes.start_application(doctor, "registration",
                                          application_payload(w, doctor.id)).instance_id
        task_id = db.session.scalar(select(HumanTask.id).where(
            HumanTask.instance_id == iid, HumanTask.status == "open"))
        db.session.remove()
        assert task_id is not None
        return task_id


def user(user_id: int) -> User:
    u = db.session.get(User, user_id)
    assert u is not None
    return u


def stored_pdf(world: World, name: str) -> dict[str, Any]:
    """A small PDF named ``name`` in the upload store, as the physician's attachment."""
    return attachments.store(world.upload_dir, attachments.Upload(name, PDF + name.encode()),
                             world.doctor_id)


def active_registration(world: World, **kw: Any) -> Registration:
    """doctor01's 有效 执业医师 registration at the hospital (fields overridable), committed."""
    fields: dict[str, Any] = dict(
        qualification_id=user(world.doctor_id).qualification_id, level="执业医师", category="1",
        scopes=["11"], place_region="140000", institution_id=world.hospital_id,
        department_id=world.department_id, authority_id=world.authority_id, status="ACTIVE",
        cert_no="110140100000888")
    fields.update(kw)
    reg = Registration(**fields)
    db.session.add(reg)
    db.session.commit()
    return reg


def drawn_captcha_answers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The answer of every 验证码 image drawn from now on (as the person reads it)."""
    seen: list[str] = []
    draw = captcha.new_answer

    def recorded() -> str:
        seen.append(draw())
        return seen[-1]

    monkeypatch.setattr(captcha, "new_answer", recorded)
    return seen


def make_org_admin(app: Flask, user_id: int) -> None:
    """The staff account ``user_id`` becomes its organisation's 机构管理员 (outside any request)."""
    with app.app_context():
        staff = db.session.get(User, user_id)
        assert staff is not None
        staff.org_admin = True
        db.session.commit()
        db.session.remove()


def resubmit(app: Flask, doctor: Any, task_id: int, form_page: str, values: dict[str, Any]) -> int:
    """The physician posts their returned application (task ``task_id``) again with ``values``,
    keeping the files uploaded before as its page (``form_page``) offers them; the id of the
    task open then (the approver's)."""
    form = dict(values)
    for name in ("employment_proof", "photo"):
        form[f"{name}__keep"] = form_page.split(f'name="{name}__keep" value="')[1].split('"')[0]
    assert doctor.post(f"/physician/tasks/{task_id}", form).status_code == 302
    with app.app_context():
        again = db.session.scalar(select(HumanTask.id).where(HumanTask.status == "open"))
        db.session.remove()
    assert again is not None
    return again
