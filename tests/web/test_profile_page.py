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
    # guide 2.3.3: the department from the main institution's active departments
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


def test_practice_page_shows_every_registration_of_the_person_and_its_filings(
        web: WebClient, web_world: World, app: Flask) -> None:
    # 医师执业注册管理办法 第九条、第十条 ([S9], [S10]; R-27): a filing is recorded with its
    # institution, scope and period, and the physician sees it; issue 11 §3: an assistant who
    # became a 执业医师 sees the registrations of both qualifications
    from datetime import date

    from app.models import MultiFiling
    from app.models import Qualification

    with app.app_context():
        doctor = user(web_world.doctor_id)
        assistant = doctor.qualification
        assistant.level = "执业助理医师"
        db.session.add(Registration(
            qualification_id=assistant.id, level="执业助理医师", category="1", scopes=["11"],
            place_region="140105", institution_id=web_world.hospital_id,
            authority_id=web_world.authority_id, status="CHANGED_OUT", cert_no="211140100000001"))
        physician = Qualification(
            cert_no="2016141" + assistant.cert_no[7:], name=assistant.name, sex=assistant.sex,
            id_number=assistant.id_number, birth_date=assistant.birth_date, level="执业医师",
            category="1", year=2016, issued_on=assistant.issued_on, issuer=assistant.issuer)
        db.session.add(physician)
        db.session.flush()
        doctor.qualification_id = physician.id
        current = Registration(
            qualification_id=physician.id, level="执业医师", category="1", scopes=["11"],
            place_region="140000", institution_id=web_world.hospital_id,
            authority_id=web_world.authority_id, status="ACTIVE", cert_no="110140100000777")
        db.session.add(current)
        db.session.flush()
        db.session.add_all([
            MultiFiling(registration_id=current.id, institution_id=web_world.other_hospital_id,
                        scopes=["11"], valid_from=date(2026, 1, 1), valid_to=date(2027, 12, 31),
                        authority_id=web_world.authority_id, filed_on=date(2025, 12, 20)),
            MultiFiling(registration_id=current.id, institution_id=web_world.other_hospital_id,
                        scopes=["11"], valid_from=date(2024, 1, 1), valid_to=date(2025, 6, 30),
                        authority_id=web_world.authority_id, filed_on=date(2023, 12, 20),
                        status="EXPIRED")])
        db.session.commit()
    web.login("doctor01")
    page = web.get("/physician/practice").get_data(as_text=True)
    assert page.index("110140100000777") < page.index("211140100000001")  # in force first
    assert "变更出" in page and "执业助理医师" in page
    filings = page[page.index("多执业机构备案"):]
    assert "2026年01月01日 — 2027年12月31日" in filings and "有效" in filings
    assert "2024年01月01日 — 2025年06月30日" in filings and "已到期" in filings
    assert "内科专业" in filings


def _active_registration(app: Flask, web_world: World) -> None:
    with app.app_context():
        doctor = user(web_world.doctor_id)
        db.session.add(Registration(qualification_id=doctor.qualification_id, level="执业医师",
                                    category="1", scopes=["11"], place_region="140000",
                                    institution_id=web_world.hospital_id,
                                    authority_id=web_world.authority_id, status="ACTIVE",
                                    cert_no="110140100000556", department_id=web_world.department_id))
        db.session.commit()


# 指南 2.3 #12 我修改的内容: the values of the change awaiting the institution's review are
# shown as "field: old → new", not only the flag
def test_profile_shows_what_i_changed_while_it_awaits_review(web: WebClient, web_world: World,
                                                            app: Flask) -> None:
    # G-11: 指南 2.3 #12 我修改的内容
    _active_registration(app, web_world)
    web.login("doctor01")
    text = web.get("/physician/profile").get_data(as_text=True)
    assert "我修改的内容" not in text
    resp = web.post("/physician/profile", {"action": "info", "education": "研究生（硕士）",
                                           "school": "北京大学医学部", "major": "临床医学",
                                           "title": "医师"}, follow_redirects=True)
    text = resp.get_data(as_text=True)
    assert "修改已提交" in text
    changes = text.split("我修改的内容", 1)[1].split("</dl>", 1)[0]
    assert "<dt>学历</dt><dd>大学本科 → 研究生（硕士）</dd>" in changes
    assert "<dt>毕业学校</dt><dd>山西医科大学 → 北京大学医学部</dd>" in changes
    assert "所学专业" not in changes and "任职资格" not in changes  # unchanged fields stay out


# 指南 2.3 #30: the department option reads "code name 诊疗科目：subject" as in the guide
def test_department_options_show_code_and_clinical_subject(web: WebClient, web_world: World,
                                                           app: Flask) -> None:
    # G-12: 指南 2.3 #30 科室选项
    _active_registration(app, web_world)
    web.login("doctor01")
    text = web.get("/physician/profile").get_data(as_text=True)
    assert f'<option value="{web_world.department_id}" selected>01 内科 诊疗科目：内科</option>' in text
