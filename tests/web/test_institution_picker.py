"""拟执业机构 at national scale (issue 14): the physician finds the institution by name instead of
choosing it from a list of every institution of the country; without JavaScript (查询, 选定)
and through the JSON the combobox asks."""

from __future__ import annotations

import copy
import io
import re

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import Authority
from app.models import Department
from app.models import Institution
from app.models import ProcessInstance
from tests.conftest import WebClient
from tests.factories import PDF
from tests.factories import World
from tests.factories import photo_jpeg

APPLY = "/physician/apply/registration"


def _filled(world: World, **overrides: object) -> dict[str, object]:
    """The rest of the 注册 form as a physician fills it in (no institution yet)."""
    data: dict[str, object] = {
        "department_id": "", "practice_scopes": ["11"], "contact_mobile": "13912345678",
        "declare_health": "on", "declare_no_bar": "on",
        "employment_proof": (io.BytesIO(PDF + b"picker"), "聘用证明.pdf"),
        "photo": (io.BytesIO(photo_jpeg()), "照片.jpg"),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _kept(text: str) -> dict[str, str]:
    """The signed references of the files the page keeps (sent back like a browser does)."""
    return dict(re.findall(r'name="(\w+__keep)" value="([^"]+)"', text))


def _add_institutions(app: Flask, names: list[str], region: str = "140105") -> list[int]:
    with app.app_context():
        auth = Authority(name="太原市卫生健康委员会", region_code="140100", level="city")
        db.session.add(auth)
        db.session.flush()
        rows = [Institution(name=n, reg_no=f"T-{k}-{n}", kind="综合医院", region_code=region,
                            authority_id=auth.id) for k, n in enumerate(names)]
        db.session.add_all(rows)
        db.session.commit()
        ids = [r.id for r in rows]
        db.session.remove()
        return ids


def test_without_javascript_a_physician_searches_picks_and_submits(
        app: Flask, web_world: World) -> None:
    # issue 14 (拟执业机构 at national scale); DOMAIN §4.1 type 1: 拟执业机构 chosen from the
    # registered institutions — found by part of its name, the other input kept (files too)
    # through 查询 and 选定; 医师执业注册管理办法 第九条, R-17: that institution's commission decides
    web = WebClient.signed_in(app, "doctor01")
    web.get(APPLY)
    found = web.post(APPLY, {**_filled(web_world), "institution_id__q": "山西大学", "find": "search"},
                     content_type="multipart/form-data")
    text = found.get_data(as_text=True)
    assert found.status_code == 200
    assert re.search(rf'<input type="radio" name="institution_id" value="{web_world.hospital_id}" *>'
                     r' 山西大学医院（山西省 太原市）', text)
    assert "昆明市第一人民医院" not in text  # not asked for
    assert 'value="山西大学"' in text and 'value="13912345678"' in text  # typed input kept
    assert "已上传：聘用证明.pdf" in text and "已上传：照片.jpg" in text  # files kept
    assert "申请已提交" not in text
    kept = _kept(text)
    picked = web.post(APPLY, {**_filled(web_world, employment_proof=None, photo=None), **kept,
                              "institution_id": str(web_world.hospital_id), "find": "pick"},
                      content_type="multipart/form-data")
    text = picked.get_data(as_text=True)
    assert "已选：山西大学医院（山西省 太原市）" in text
    dept = text.split('id="field-department_id"')[1].split("</select>")[0]
    assert f'<option value="{web_world.department_id}"' in dept and "内科" in dept
    assert f'<option value="{web_world.other_department_id}"' not in dept  # the other hospital's
    sent = web.post(APPLY, {**_filled(web_world, employment_proof=None, photo=None), **_kept(text),
                            "institution_id": str(web_world.hospital_id),
                            "department_id": str(web_world.department_id)},
                    content_type="multipart/form-data")
    assert sent.status_code == 302, sent.get_data(as_text=True)
    detail = web.get(sent.headers["Location"]).get_data(as_text=True)
    assert "待机构确认" in detail and "山西大学医院" in detail and "聘用证明.pdf" in detail
    with app.app_context():
        inst = db.session.scalars(select(ProcessInstance)).one()
        assert (inst.institution_id, inst.authority_id) == (web_world.hospital_id, web_world.authority_id)
        db.session.remove()


def test_a_refused_submission_keeps_the_chosen_institution_and_the_typed_name(
        app: Flask, web_world: World) -> None:
    # issue 14; 行政许可法 第三十二条 (what is missing is said at once, next to the field)
    web = WebClient.signed_in(app, "doctor01")
    web.get(APPLY)
    resp = web.post(APPLY, {**_filled(web_world, contact_mobile="123"), "institution_id__q": "山西大学",
                            "institution_id": str(web_world.hospital_id)},
                    content_type="multipart/form-data")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert f'<input type="hidden" name="institution_id" value="{web_world.hospital_id}">' in text
    assert "已选：山西大学医院（山西省 太原市）" in text and 'value="山西大学"' in text
    assert re.search(r'id="field-department_id".*?请选择科室', text, re.S)
    dept = text.split('id="field-department_id"')[1].split("</select>")[0]
    assert "内科" in dept and f'value="{web_world.other_department_id}"' not in dept


def test_an_institution_that_does_not_exist_is_refused_next_to_the_field(
        app: Flask, web_world: World) -> None:
    # issue 14: the server checks the one submitted id (it was a membership in the full list)
    web = WebClient.signed_in(app, "doctor01")
    web.get(APPLY)
    resp = web.post(APPLY, {**_filled(web_world), "institution_id": "999999"},
                    content_type="multipart/form-data")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert re.search(r'id="field-institution_id".*?class="error" role="alert">请选择有效的选项', text,
                     re.S)


def test_the_form_holds_no_institution_it_was_not_asked_for(app: Flask, web_world: World) -> None:
    # issue 14: ~1 million institutions in China; a search shows at most 20
    _add_institutions(app, [f"测试第{k:03d}医院" for k in range(300)])
    web = WebClient.signed_in(app, "doctor01")
    page = web.get(APPLY).get_data(as_text=True)
    assert "测试第" not in page and "山西大学医院" not in page
    found = web.post(APPLY, {"institution_id__q": "测试第", "find": "search"},
                     content_type="multipart/form-data").get_data(as_text=True)
    names = re.findall(r"测试第(\d{3})医院", found)
    assert len(names) == 20 and names == sorted(names)  # by name
    assert found.count('type="radio" name="institution_id"') == 20
    assert "测试第299医院" not in found and "山西大学医院" not in found
    assert "找到的机构较多，只列出 20 个；请输入更完整的机构名称再查询" in found
    short = web.post(APPLY, {"institution_id__q": "测", "find": "search"},
                     content_type="multipart/form-data").get_data(as_text=True)
    assert "请输入至少 2 个字的机构名称再查询" in short and "测试第" not in short
    none = web.post(APPLY, {"institution_id__q": "没有这家医院", "find": "search"},
                    content_type="multipart/form-data").get_data(as_text=True)
    assert "未找到名称包含“没有这家医院”的医疗机构，请换个名称再查询" in none


def test_exact_and_prefix_matches_come_first_and_the_region_tells_same_names_apart(
        app: Flask, web_world: World) -> None:
    # issue 14: two hospitals of the same name differ by their 所在地区
    _add_institutions(app, ["仁和医院"], region="140105")
    with app.app_context():
        kunming = db.session.get(Institution, web_world.other_hospital_id)
        assert kunming is not None
        db.session.add(Institution(name="仁和医院", reg_no="Y-1", kind="综合医院", region_code="530102",
                                   authority_id=kunming.authority_id))
        db.session.add(Institution(name="北京仁和医院分院", reg_no="Y-2", kind="综合医院",
                                   region_code="530102", authority_id=kunming.authority_id))
        db.session.commit()
    web = WebClient.signed_in(app, "doctor01")
    got = web.get("/physician/institutions?q=仁和医院").get_json()["results"]
    assert [r["label"] for r in got] == ["仁和医院（山西省 太原市）", "仁和医院（云南省 昆明市）",
                                         "北京仁和医院分院（云南省 昆明市）"]


def test_the_json_search_refuses_anonymous_callers_and_returns_at_most_20(
        app: Flask, web_world: World) -> None:
    # issue 14: signed-in physicians only; never more than 20 matches
    _add_institutions(app, [f"测试第{k:03d}医院" for k in range(30)])
    anonymous = app.test_client().get("/physician/institutions?q=测试第")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    web = WebClient.signed_in(app, "doctor01")
    got = web.get("/physician/institutions?q=测试第").get_json()["results"]
    assert len(got) == 20 and got[0]["name"] == "测试第000医院" and got[0]["region"] == "山西省 太原市"
    assert web.get("/physician/institutions?q=测").get_json()["results"] == []  # ≥ 2 characters
    staff = WebClient.signed_in(app, "jigou01")
    assert staff.get("/physician/institutions?q=测试第").status_code == 403


def test_percent_and_underscore_in_the_query_are_literal(app: Flask, web_world: World) -> None:
    # issue 14: the typed text is searched as text (LIKE wildcards escaped)
    _add_institutions(app, ["百分%医院", "下划_医院", "普通医院"])
    web = WebClient.signed_in(app, "doctor01")

    def names(q: str) -> list[str]:
        return [r["name"] for r in web.get("/physician/institutions", query_string={"q": q})
                .get_json()["results"]]

    assert names("分%医") == ["百分%医院"]
    assert names("_医") == ["下划_医院"]
    assert names("%%") == [] and names("__") == []


def test_the_departments_of_the_picked_institution_only(app: Flask, web_world: World) -> None:
    # issue 14: 科室 follows the chosen 拟执业机构, never every 科室 of the country
    with app.app_context():
        db.session.add(Department(institution_id=web_world.hospital_id, code="99", name="停用科",
                                  subject_code="0300", active=False))
        db.session.commit()
    web = WebClient.signed_in(app, "doctor01")
    got = web.get(f"/physician/institutions/{web_world.hospital_id}/departments").get_json()
    assert got == {"results": [{"id": web_world.department_id, "name": "内科"}]}
    assert app.test_client().get(
        f"/physician/institutions/{web_world.hospital_id}/departments").status_code == 302


def test_the_search_finds_an_institution_by_its_registration_number(
        app: Flask, web_world: World) -> None:
    # issue 14: 登记号 (or 统一社会信用代码) finds the one institution
    web = WebClient.signed_in(app, "doctor01")
    got = web.get("/physician/institutions?q=R-530-1").get_json()["results"]
    assert [r["id"] for r in got] == [web_world.other_hospital_id]


def test_a_form_published_before_the_search_widget_still_finds_the_institution(
        app: Flask, web_world: World) -> None:
    # issue 14: a version stored with {"widget": "select", "options": "institutions"} (published
    # before this change) draws the search too, never the country's list
    from app.models import ProcessDefinition
    from app.models.base import utcnow
    from app.services.backoffice import definitions
    with app.app_context():
        row = definitions.published("registration")
        old = copy.deepcopy(dict(row.forms))
        old["registration_apply"]["x-ui"]["widgets"]["institution_id"] = {
            "widget": "select", "options": "institutions"}
        # written as stored then: the dialect now refuses it, so it cannot be published again
        assert any("institution_search" in p.message
                   for p in definitions.check(row.bpmn_xml, old, "registration")[1])
        db.session.add(ProcessDefinition(
            process_id="registration", version=row.version + 1, name=row.name, bpmn_xml=row.bpmn_xml,
            forms=old, spec_json=row.spec_json, sha256=row.sha256, published_at=utcnow(), author="test"))
        db.session.commit()
        db.session.remove()
    web = WebClient.signed_in(app, "doctor01")
    page = web.get(APPLY).get_data(as_text=True)
    assert "山西大学医院" not in page and 'name="institution_id__q"' in page
    found = web.post(APPLY, {"institution_id__q": "山西大学", "find": "search"},
                     content_type="multipart/form-data").get_data(as_text=True)
    assert re.search(rf'type="radio" name="institution_id" value="{web_world.hospital_id}"', found)
    assert "昆明市第一人民医院" not in found
