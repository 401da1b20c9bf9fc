"""发起业务 pages (issue 12 §3): an institution's staff member starts the type configured for
institutions, the commission finds it in its inbox; nobody else gets the page."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.models import ProcessInstance
from tests.conftest import WebClient
from tests.factories import World
from tests.services.test_staff_cases import NAME
from tests.services.test_staff_cases import PID
from tests.services.test_staff_cases import publish_staff_type
from tests.services.test_staff_cases import registration


def _setup(app: Flask, w: World) -> int:
    with app.app_context():
        publish_staff_type(w)
        reg_id = registration(w)
        db.session.remove()
    return reg_id


def test_the_institution_starts_it_from_its_menu_and_the_commission_sees_it(
        app: Flask, web: WebClient, web_world: World) -> None:
    # 医师执业注册管理办法 第十八条 / R-56: started by the institution, handled by the commission
    reg_id = _setup(app, web_world)
    web.login("jigou01")
    home = web.get("/inbox/").get_data(as_text=True)
    assert 'href="/inbox/start"' in home  # 发起业务 in the menu
    listing = web.get("/inbox/start").get_data(as_text=True)
    assert NAME in listing and f"/inbox/start/{PID}" in listing
    form = web.get(f"/inbox/start/{PID}").get_data(as_text=True)
    assert "宋宏强 · 110140100000952" in form and "承诺所填信息真实有效" in form
    bad = web.post(f"/inbox/start/{PID}", {"registration_id": str(reg_id), "note": "核查说明"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "请按提示修改后重新提交" in html
    assert "核查说明" in html  # input kept
    done = web.post(f"/inbox/start/{PID}", {"registration_id": str(reg_id), "note": "核查说明",
                                            "declare_true": "on"}, follow_redirects=True)
    assert "已提交，请在待办任务中跟踪办理进度。" in done.get_data(as_text=True)
    with app.app_context():
        inst = db.session.scalar(select(ProcessInstance).where(ProcessInstance.process_id == PID))
        assert inst is not None and inst.registration_id == reg_id
        task_id = db.session.scalar(select(HumanTask.id).where(
            HumanTask.instance_id == inst.id, HumanTask.status == "open"))
        db.session.remove()
    web.post("/logout")
    web.login("weijian01")
    inbox = web.get("/inbox/").get_data(as_text=True)
    assert "卫健委受理" in inbox
    assert "宋宏强" in inbox
    task = web.get(f"/inbox/tasks/{task_id}").get_data(as_text=True)
    assert "核查说明" in task and "110140100000952" in task  # what the institution submitted


def test_other_roles_and_institutions_are_refused(app: Flask, web: WebClient,
                                                  web_world: World) -> None:
    # the page follows the type's starter
    reg_id = _setup(app, web_world)
    web.login("jigou02")
    resp = web.post(f"/inbox/start/{PID}", {"registration_id": str(reg_id), "note": "x",
                                            "declare_true": "on"})
    assert resp.status_code == 422
    assert "请选择本机构（本辖区）医师有效的执业注册" in resp.get_data(as_text=True)
    web.post("/logout")
    web.login("weijian01")
    assert 'href="/inbox/start"' not in web.get("/inbox/").get_data(as_text=True)
    assert web.get(f"/inbox/start/{PID}").status_code == 404
    web.post("/logout")
    web.login("doctor01")
    assert web.get(f"/inbox/start/{PID}").status_code == 403
    assert NAME not in web.get("/physician/apply").get_data(as_text=True)
