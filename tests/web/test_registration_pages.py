"""The 注册 pages of the three roles through the test client."""

from __future__ import annotations

import io
import re

from flask import Flask
from sqlalchemy import func
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.models import ProcessInstance
from tests.conftest import WebClient
from tests.factories import PDF
from tests.factories import World
from tests.factories import photo_jpeg


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


def _apply(web: WebClient, world: World, **overrides: object) -> object:
    web.login("doctor01")
    web.get("/physician/apply/registration")
    return web.post("/physician/apply/registration", _form(world, **overrides),
                    content_type="multipart/form-data")


def _open_task(app: Flask) -> HumanTask:
    with app.app_context():
        task = db.session.scalar(select(HumanTask).where(HumanTask.status == "open"))
        assert task is not None
        db.session.expunge(task)
        return task


def test_apply_page_shows_the_form_in_chinese(web: WebClient, web_world: World) -> None:
    web.login("doctor01")
    text = web.get("/physician/apply/registration").get_data(as_text=True)
    for label in ("拟执业机构", "执业类别", "执业范围", "科室", "聘用证明", "提交申请",
                  "当前位置", "带有星号的为必填项"):
        assert label in text
    assert "临床" in text  # 执业类别 locked to the qualification


def test_errors_are_shown_next_to_fields_and_input_is_kept(web: WebClient,
                                                           web_world: World) -> None:
    resp = _apply(web, web_world, contact_mobile="12345", declare_no_bar=None,
                  photo=(io.BytesIO(b"GIF89a...."), "照片.jpg"))
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert re.search(r'id="field-contact_mobile".*?请输入11位有效的手机号码', text, re.S)
    assert re.search(r'id="field-declare_no_bar".*?请阅读并勾选此项', text, re.S)
    assert re.search(r'id="field-photo".*?文件内容与扩展名不符', text, re.S)
    assert 'value="12345"' in text
    # issue 14: the chosen 拟执业机构 is kept by its name (no list of institutions)
    assert f'<input type="hidden" name="institution_id" value="{web_world.hospital_id}">' in text
    assert "已选：山西大学医院（山西省 太原市）" in text
    assert 'value="11" checked' in text
    assert "已上传：聘用证明.pdf" in text  # the good file is kept


def test_submission_reaches_the_institution_inbox_only(web: WebClient, web_world: World,
                                                        app: Flask) -> None:
    resp = _apply(web, web_world)
    assert resp.status_code == 302
    detail = web.get(resp.headers["Location"]).get_data(as_text=True)
    assert "待机构确认" in detail and "撤回申请" in detail
    listing = web.get("/physician/applications").get_data(as_text=True)
    assert "注册" in listing and "待机构确认" in listing
    task = _open_task(app)

    other = WebClient(app.test_client())
    other.login("jigou02")
    assert "暂无待办任务" in other.get("/inbox/").get_data(as_text=True)
    assert other.get(f"/inbox/tasks/{task.id}").status_code == 404

    staff = WebClient(app.test_client())
    staff.login("jigou01")
    inbox = staff.get("/inbox/").get_data(as_text=True)
    assert "宋宏强" in inbox and "医疗机构确认" in inbox
    page = staff.get(f"/inbox/tasks/{task.id}").get_data(as_text=True)
    assert "山西大学医院" in page and "内科专业" in page and "聘用证明.pdf" in page
    assert "15175070658" not in page  # not the owner: no full phone or ID number
    resp = staff.post(f"/inbox/tasks/{task.id}/complete", {"decision": "return"})
    assert resp.status_code == 422 and "请填写意见说明" in resp.get_data(as_text=True)
    resp = staff.post(f"/inbox/tasks/{task.id}/complete", {"decision": "confirm", "paper_held": "on"})
    assert resp.status_code == 302
    again = staff.post(f"/inbox/tasks/{task.id}/complete", {"decision": "confirm", "paper_held": "on"},
                       follow_redirects=True)
    assert "该任务已被处理" in again.get_data(as_text=True)

    officer = WebClient(app.test_client())
    officer.login("weijian01")
    inbox = officer.get("/inbox/").get_data(as_text=True)
    assert "卫健委受理" in inbox and "办理期限" in inbox
    history = web.get("/physician/applications/1").get_data(as_text=True)
    assert "医疗机构确认" in history and "确认" in history and "待卫健委受理" in history
    with app.app_context():
        inst = db.session.scalar(select(ProcessInstance))
        assert inst is not None and inst.business_status == "待卫健委受理"


def test_attachments_only_for_those_involved(web: WebClient, web_world: World,
                                            app: Flask) -> None:
    _apply(web, web_world)
    with app.app_context():
        iid = db.session.scalar(select(ProcessInstance.id))
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    resp = staff.get(f"/inbox/applications/{iid}/files/employment_proof")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
    resp.close()
    other = WebClient(app.test_client())
    other.login("jigou02")
    assert other.get(f"/inbox/applications/{iid}/files/employment_proof").status_code == 404
    resp = web.get(f"/physician/applications/{iid}/files/employment_proof")
    assert resp.status_code == 200
    resp.close()


def test_admin_is_warned_about_a_year_without_calendar(web: WebClient,
                                                       web_world: World) -> None:
    web.login("admin01")
    text = web.get("/admin/calendar").get_data(as_text=True)
    assert "尚未录入" in text and "2027" in text
    resp = web.post("/admin/calendar", {"year": "2027", "days_off": "2027-01-01\n2027-02-31",
                                        "makeup_days": ""})
    assert resp.status_code == 422 and "2027-02-31" in resp.get_data(as_text=True)
    resp = web.post("/admin/calendar", {"year": "2027", "days_off": "2027-01-01",
                                        "makeup_days": ""}, follow_redirects=True)
    text = resp.get_data(as_text=True)
    assert "2027 年工作日历已保存" in text and "管理员录入" in text


def test_apply_list_explains_what_cannot_be_applied_for(web: WebClient, web_world: World) -> None:
    web.login("doctor01")
    text = web.get("/physician/apply").get_data(as_text=True)
    assert "您当前没有有效的执业注册，不能申请多执业机构备案" in text
    assert "您当前没有可以注销的执业注册" in text
    assert 'href="/physician/apply/registration"' in text
    page = web.get("/physician/apply/filing").get_data(as_text=True)
    assert "您当前没有有效的执业注册，不能申请多执业机构备案" in page and "提交申请" not in page


def test_a_double_click_on_submit_shows_the_one_application(web: WebClient, web_world: World,
                                                            app: Flask) -> None:
    # issue 11 §2: the form's token makes the second click land on the first result
    web.login("doctor01")
    page = web.get("/physician/apply/registration").get_data(as_text=True)
    token = re.search(r'name="submit_token" value="([^"]+)"', page)
    assert token is not None
    first = web.post("/physician/apply/registration",
                     {**_form(web_world), "submit_token": token.group(1)},
                     content_type="multipart/form-data")
    second = web.post("/physician/apply/registration",
                      {**_form(web_world), "submit_token": token.group(1)},
                      content_type="multipart/form-data")
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    detail = web.get(second.headers["Location"]).get_data(as_text=True)
    assert "待机构确认" in detail and "您已有正在办理的同类申请" not in detail
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 1
    again = web.get("/physician/apply/registration").get_data(as_text=True)
    assert token.group(1) not in again  # each rendering has its own token


def test_a_confirmation_sent_twice_is_shown_as_done(web: WebClient, web_world: World,
                                                    app: Flask) -> None:
    # issue 11 §2: institution confirm resubmitted (reload after a timeout) is not an error
    _apply(web, web_world)
    task = _open_task(app)
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    page = staff.get(f"/inbox/tasks/{task.id}").get_data(as_text=True)
    token = re.search(r'name="submit_token" value="([^"]+)"', page)
    assert token is not None
    form = {"decision": "confirm", "paper_held": "on", "submit_token": token.group(1)}
    assert staff.post(f"/inbox/tasks/{task.id}/complete", form).status_code == 302
    again = staff.post(f"/inbox/tasks/{task.id}/complete", form, follow_redirects=True)
    text = again.get_data(as_text=True)
    assert "已办理完成" in text and "该任务已被处理" not in text


def test_a_withdrawal_sent_twice_is_shown_as_withdrawn(web: WebClient, web_world: World) -> None:
    # issue 11 §2: the withdraw button pressed twice withdraws once, without an error page
    resp = _apply(web, web_world)
    detail = web.get(resp.headers["Location"]).get_data(as_text=True)
    token = re.search(r'name="submit_token" value="([^"]+)"', detail)
    action = re.search(r'action="(/physician/applications/\d+/withdraw)"', detail)
    assert token is not None and action is not None
    form = {"submit_token": token.group(1)}
    assert web.post(action.group(1), form).status_code == 302
    again = web.post(action.group(1), form, follow_redirects=True)
    assert again.status_code == 200 and "已撤回" in again.get_data(as_text=True)
