"""科室维护: departments mapped to the institution's licensed 诊疗科目, within the institution."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import Department
from app.models import Institution
from tests.conftest import WebClient
from tests.factories import World


def test_departments_map_to_licensed_subjects(app: Flask, web: WebClient, web_world: World) -> None:
    with app.app_context():
        inst = db.session.get(Institution, web_world.hospital_id)
        assert inst is not None
        inst.subject_codes = "0300,0304,0400"
        db.session.commit()
        db.session.remove()
    web.login("jigou01")
    page = web.get("/institution/departments").get_data(as_text=True)
    assert "0304 心血管内科专业" in page and "0500 妇产科" not in page  # not licensed
    bad = web.post("/institution/departments", {"code": "01", "name": "心", "subject_code": "0500"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "本机构已有编码为 01 的科室" in html and "请填写科室名称" in html
    assert "请选择本机构执业许可证核准的诊疗科目" in html
    ok = web.post("/institution/departments", {"code": "05", "name": "心血管内科", "subject_code": "0304"},
                  follow_redirects=True)
    assert "科室已保存" in ok.get_data(as_text=True)
    with app.app_context():
        dept = db.session.scalar(select(Department).where(Department.code == "05"))
        assert dept is not None and (dept.institution_id, dept.subject_code) == (web_world.hospital_id, "0304")
        dept_id = dept.id
        db.session.remove()
    web.post("/institution/departments", {"department_id": str(dept_id), "name": "心内科", "subject_code": "0300"})
    web.post(f"/institution/departments/{dept_id}/disable", {})
    with app.app_context():
        dept = db.session.get(Department, dept_id)
        assert dept is not None and (dept.name, dept.subject_code, dept.active) == ("心内科", "0300", False)
        db.session.remove()
    other = WebClient(app.test_client())
    other.login("jigou02")
    assert other.post(f"/institution/departments/{dept_id}/enable", {}).status_code == 404
    assert other.post("/institution/departments", {"department_id": str(dept_id), "name": "改名",
                                                   "subject_code": "0400"}).status_code == 404
    assert "心内科" not in other.get("/institution/departments").get_data(as_text=True)
