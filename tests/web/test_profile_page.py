"""信息维护 page: the guide's notes, the photo message next to the field, 我的科室."""

from __future__ import annotations

import io

from flask import Flask

from app.extensions import db
from app.models import Registration
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import user
from tests.services.test_maintenance import photo_bytes


def test_profile_page_photo_and_department(web: WebClient, web_world: World, app: Flask) -> None:
    with app.app_context():
        doctor = user(web_world.doctor_id)
        reg = Registration(qualification_id=doctor.qualification_id, level="执业医师",
                           category="1", scopes=["11"], place_region="140000",
                           institution_id=web_world.hospital_id,
                           authority_id=web_world.authority_id, status="ACTIVE",
                           cert_no="110140100000555")
        db.session.add(reg)
        db.session.commit()
        reg_id = reg.id
    web.login("doctor01")
    text = web.get("/physician/profile").get_data(as_text=True)
    assert "原始资格信息不会被更新" in text and "重复上传将覆盖您之前上传的相片" in text
    resp = web.post("/physician/profile", {"action": "photo",
                                           "photo": (io.BytesIO(photo_bytes((300, 400))), "p.jpg")},
                    content_type="multipart/form-data")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "您上传的相片为宽300、高400像素" in body
    resp = web.post("/physician/profile", {"action": "photo",
                                           "photo": (io.BytesIO(photo_bytes()), "p.jpg")},
                    content_type="multipart/form-data", follow_redirects=True)
    assert "须等待您所在医疗机构审核" in resp.get_data(as_text=True)
    resp = web.post("/physician/profile", {"action": "department",
                                           "department_id": str(web_world.other_department_id)})
    assert "请选择您所在医疗机构的科室" in resp.get_data(as_text=True)
    resp = web.post("/physician/profile", {"action": "department",
                                           "department_id": str(web_world.department_id)})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(Registration, reg_id).department_id == web_world.department_id
