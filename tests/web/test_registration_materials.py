"""注册 materials the server requires (办法 第十二条): the 2-inch photo always (the approved
profile photo counts), the 培训考核合格证明 only after two years without registering or
practising (医师法 第十九条). Messages stand next to the field, the input is kept."""

from __future__ import annotations

import io
import re
from datetime import date
from datetime import timedelta

from flask import Flask

from app.extensions import db
from app.models import PhysicianProfile
from app.models import Registration
from app.services.applications.types.registration import training_required
from app.services.engine.clock import today_cst
from tests.conftest import WebClient
from tests.factories import PDF
from tests.factories import World
from tests.factories import photo_jpeg
from tests.factories import user


def _form(world: World, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "institution_id": str(world.hospital_id), "department_id": str(world.department_id),
        "practice_scopes": ["11"], "contact_mobile": "15175070658",
        "declare_health": "on", "declare_no_bar": "on",
        "employment_proof": (io.BytesIO(PDF + b"2"), "聘用证明.pdf"),
        "photo": (io.BytesIO(photo_jpeg()), "照片.jpg"),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _apply(app: Flask, world: World, **overrides: object) -> tuple[int, str]:
    web = WebClient(app.test_client())
    web.login("doctor01")
    web.get("/physician/apply/registration")
    resp = web.post("/physician/apply/registration", _form(world, **overrides),
                    content_type="multipart/form-data")
    return resp.status_code, resp.get_data(as_text=True)


def _error(page: str, field: str) -> str:
    m = re.search(rf'id="field-{field}".*?<div class="error" role="alert">([^<]+)</div>', page, re.S)
    assert m, f"no message next to {field}"
    return m.group(1)


def _qualified(app: Flask, world: World, on: date) -> None:
    with app.app_context():
        user(world.doctor_id).qualification.issued_on = on
        db.session.commit()


def test_the_photo_is_required_unless_the_profile_has_one(app: Flask, web_world: World) -> None:
    # 医师执业注册管理办法 第十二条 (近期二寸免冠正面半身照片)
    status, page = _apply(app, web_world, photo=None, contact_mobile="15175070650")
    assert status == 422
    assert "请上传近期二寸免冠白底正面半身照片" in _error(page, "photo")
    assert 'value="15175070650"' in page  # the input is kept
    with app.app_context():
        db.session.add(PhysicianProfile(qualification_id=user(web_world.doctor_id).qualification_id,
                                        photo_sha256="b" * 64))
        db.session.commit()
    status, _page = _apply(app, web_world, photo=None)
    assert status == 302  # the approved profile photo is the application's photo


def test_training_proof_after_two_years_without_registering(app: Flask, web_world: World) -> None:
    # 医师法 第十九条; 医师执业注册管理办法 第十二条 (培训考核合格证明); R-40
    on = today_cst() - timedelta(days=3 * 365)
    _qualified(app, web_world, on)
    web = WebClient(app.test_client())
    web.login("doctor01")
    form = web.get("/physician/apply/registration").get_data(as_text=True)
    assert "超过二年未注册，请上传培训考核合格证明" in form  # said before the first attempt
    status, page = _apply(app, web_world)
    assert status == 422
    assert _error(page, "training_proof") == (
        f"您于{on.year}年{on.month}月{on.day}日取得医师资格，超过二年未注册，请上传培训考核合格证明"
        "（《医师法》第十九条）")
    assert "培训考核合格证明" in page
    status, _page = _apply(app, web_world,
                           training_proof=(io.BytesIO(PDF + b"t"), "培训考核合格证明.pdf"))
    assert status == 302
    assert "待机构确认" in web.get("/physician/applications").get_data(as_text=True)
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    inbox = staff.get("/inbox/").get_data(as_text=True)
    task_id = re.search(r'/inbox/tasks/(\d+)', inbox)
    assert task_id is not None
    review = staff.get(f"/inbox/tasks/{task_id.group(1)}").get_data(as_text=True)
    assert "培训考核合格证明.pdf" in review  # the institution sees the proof


def test_no_training_proof_within_two_years_of_qualifying(app: Flask, web_world: World) -> None:
    # 医师法 第十九条: within two years of qualifying the ordinary materials suffice; R-40
    _qualified(app, web_world, today_cst() - timedelta(days=700))
    web = WebClient(app.test_client())
    web.login("doctor01")
    assert "请上传培训考核合格证明" not in web.get("/physician/apply/registration").get_data(
        as_text=True)
    status, _page = _apply(app, web_world)
    assert status == 302


def test_training_proof_after_two_years_of_interrupted_practice(app: Flask,
                                                               web_world: World) -> None:
    # 医师法 第十九条 (中止医师执业活动二年以上); R-40
    ended = today_cst() - timedelta(days=2 * 365 + 2)
    with app.app_context():
        doctor = user(web_world.doctor_id)
        db.session.add(Registration(
            qualification_id=doctor.qualification_id, level="执业医师", category="1",
            scopes=["11"], place_region="140000", institution_id=web_world.hospital_id,
            authority_id=web_world.authority_id, status="CANCELLED", cert_no="110140100009999",
            status_changed_on=ended, status_reason="own_request"))
        db.session.commit()
        qual = doctor.qualification
        assert training_required(qual, ended + timedelta(days=365)) is None  # one year: not yet
        assert training_required(qual) is not None
    status, page = _apply(app, web_world)
    assert status == 422 and "中止医师执业活动已满二年" in _error(page, "training_proof")
