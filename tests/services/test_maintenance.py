"""信息维护: 照片更新 (Pillow checks, re-encoding, replacing the pending photo, review) and
信息修改 (the qualification record never changes)."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from app.errors import DomainError
from app.errors import InvalidInput
from app.extensions import db
from app.models import HumanTask
from app.models import PhysicianProfile
from app.models import ProcessInstance
from app.models import Qualification
from app.models import Registration
from app.services.applications import attachments
from app.services.applications.attachments import Upload
from app.services.engine import processes
from app.services.records import maintenance
from tests.factories import World
from tests.factories import user


def photo_bytes(size: tuple[int, int] = (354, 472), fmt: str = "JPEG", exif: bool = False,
                pad_to: int = 0) -> bytes:
    img = Image.new("RGB", size, (250, 250, 250))
    out = io.BytesIO()
    kw = {}
    if exif:
        ex = Image.Exif()
        ex[0x010F] = "CameraMaker"  # Make
        kw["exif"] = ex.tobytes()
    img.save(out, format=fmt, **kw)
    data = out.getvalue()
    if pad_to:
        data += b"\0" * (pad_to - len(data))
    return data


def _active(world: World) -> None:
    doctor = user(world.doctor_id)
    db.session.add(Registration(qualification_id=doctor.qualification_id, level="执业医师",
                                category="1", scopes=["11"], place_region="140000",
                                institution_id=world.hospital_id,
                                authority_id=world.authority_id, status="ACTIVE",
                                cert_no="110140100000999"))
    db.session.commit()


@pytest.mark.parametrize(("name", "data", "message"), [
    ("big.jpg", photo_bytes(pad_to=90 * 1024), "不得超过80k"),
    ("small.jpg", photo_bytes((300, 400)), "宽354像素、高472像素，您上传的相片为宽300、高400像素"),
    ("gif.jpg", photo_bytes(fmt="GIF"), "文件内容与扩展名不符"),
    ("photo.bmp", photo_bytes(fmt="BMP"), "jpg、jpeg 或 png"),
    ("junk.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100, "无法识别"),
])
def test_bad_photos_are_refused_with_the_reason(world: World, name: str, data: bytes,
                                               message: str) -> None:
    # guide 2.3.2: 354×472, jpg/jpeg/png, ≤ 80 KB
    _active(world)
    with pytest.raises(InvalidInput) as err:
        maintenance.submit_photo(user(world.doctor_id), Upload(name, data), world.upload_dir)
    assert message in err.value.errors["photo"]
    assert db.session.scalar(select(ProcessInstance.id)) is None


def test_photo_is_reencoded_replaced_and_approved(world: World) -> None:
    _active(world)
    doctor = user(world.doctor_id)
    first = maintenance.submit_photo(doctor, Upload("a.jpg", photo_bytes(exif=True)),
                                     world.upload_dir)
    ref = db.session.get(ProcessInstance, first).application["photo"]
    stored = attachments.path_of(world.upload_dir, ref["sha256"]).read_bytes()
    with Image.open(io.BytesIO(stored)) as img:
        assert img.size == (354, 472) and not img.getexif()  # EXIF removed
    assert len(stored) <= 80 * 1024
    second = maintenance.submit_photo(doctor, Upload("b.png", photo_bytes(fmt="PNG")),
                                      world.upload_dir)
    db.session.expire_all()
    assert db.session.get(ProcessInstance, first).business_status == "已撤回"
    task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == second,
                                                     HumanTask.status == "open"))
    assert task is not None and task.scope_id == world.hospital_id
    assert maintenance.view(doctor).photo_sha256 is None  # nothing approved yet
    processes.complete_task(user(world.staff_id), task.id, {"decision": "approve"})
    new_ref = db.session.get(ProcessInstance, second).application["photo"]["sha256"]
    assert db.session.get(PhysicianProfile, doctor.qualification_id).photo_sha256 == new_ref


def test_info_change_leaves_the_qualification_unchanged(world: World) -> None:
    # guide 2.3.1: an info change never alters the qualification
    _active(world)
    doctor = user(world.doctor_id)
    before = doctor.qualification.school
    iid = processes.start_application(doctor, "info_change", {
        "education": "研究生（硕士）", "school": "北京大学医学部", "major": "临床医学",
        "title": "主治医师"}).instance_id
    with pytest.raises(DomainError, match="待审核"):
        processes.start_application(doctor, "info_change", {
            "education": "大学本科", "school": "北京大学医学部", "major": "临床医学", "title": "医师"})
    task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid,
                                                     HumanTask.status == "open"))
    processes.complete_task(user(world.staff_id), task.id, {"decision": "approve"})
    db.session.expire_all()
    view = maintenance.view(user(world.doctor_id))
    assert view.school == "北京大学医学部" and view.title == "主治医师"
    assert db.session.get(Qualification, doctor.qualification_id).school == before


def test_maintenance_needs_an_active_registration(world: World) -> None:
    with pytest.raises(DomainError, match="没有有效的执业注册"):
        processes.start_application(user(world.doctor_id), "info_change", {
            "education": "大学本科", "school": "北京大学医学部", "major": "临床医学", "title": "医师"})
