"""The administrator's 流程实例 pages: filters, one application with its trail, the actions."""

from __future__ import annotations

from flask import Flask

from app.extensions import db
from app.models import ProcessInstance
from app.services.engine import processes
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import application_payload
from tests.factories import user


def _application(app: Flask, world: World) -> int:
    with app.app_context():
        iid = processes.start_application(user(world.doctor_id), "registration",
                                          application_payload(world, world.doctor_id)).instance_id
        db.session.remove()
        return iid


def test_admin_finds_suspends_resumes_and_terminates(app: Flask, web: WebClient, web_world: World) -> None:
    iid = _application(app, web_world)
    web.login("admin01")
    listing = web.get("/admin/instances?process_id=registration&state=running").get_data(as_text=True)
    assert f'/admin/instances/{iid}"' in listing and "宋宏强" in listing
    assert "宋宏强" not in web.get("/admin/instances?state=completed").get_data(as_text=True)

    page = web.get(f"/admin/instances/{iid}").get_data(as_text=True)
    assert "待机构确认" in page and "流程版本" in page and "审计记录" in page

    missing = web.post(f"/admin/instances/{iid}/suspend", {"reason": ""}, follow_redirects=True)
    assert "请填写原因" in missing.get_data(as_text=True)
    done = web.post(f"/admin/instances/{iid}/suspend", {"reason": "核查"}, follow_redirects=True)
    assert "已暂停办理。" in done.get_data(as_text=True) and "已暂停" in done.get_data(as_text=True)
    web.post(f"/admin/instances/{iid}/resume", {}, follow_redirects=True)
    end = web.post(f"/admin/instances/{iid}/terminate", {"reason": "重复申请"}, follow_redirects=True)
    assert "申请已终止。" in end.get_data(as_text=True)
    with app.app_context():
        inst = db.session.get(ProcessInstance, iid)
        assert inst is not None and inst.outcome == "terminated"
    diagram = web.client.get(f"/admin/instances/{iid}/diagram").get_json()
    assert "institution_confirm" in diagram["xml"]


def test_a_search_for_odd_numbers_finds_nothing_instead_of_failing(app: Flask, web: WebClient,
                                                                     web_world: World) -> None:
    iid = _application(app, web_world)
    web.login("admin01")
    assert f'/admin/instances/{iid}"' in web.get(f"/admin/instances?q={iid}").get_data(as_text=True)
    for q in ["²", "١٢", "٣", "9" * 9, "9" * 10, "9" * 40, "-1", str(iid) + "²", "1 OR 1=1"]:
        resp = web.client.get("/admin/instances", query_string={"q": q})
        assert resp.status_code == 200, q
        assert "没有符合条件的申请" in resp.get_data(as_text=True), q
