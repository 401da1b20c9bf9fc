"""The editor's 发布 section: running applications per version and task, the draft's changes
there, and moving waiting applications to the current version (issue 12 §4)."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.models import HumanTask
from app.models import ProcessInstance
from app.services.backoffice import definitions
from app.services.engine import processes
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import user
from tests.services.test_publish_impact import FORM_SWAP
from tests.services.test_publish_impact import RENAMED
from tests.services.test_publish_impact import _apply
from tests.services.test_publish_impact import _publish


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_publish_section_shows_the_waiting_tasks_and_the_drafts_change(
        app: Flask, web: WebClient, web_world: World) -> None:
    # issue 12 §4 (G5), no rule row of DOMAIN.md covers process versions
    with app.app_context():
        _apply(web_world, web_world.doctor_id, "110140100000911")
        db.session.remove()
    web.login("admin01")
    draft = web.client.get("/admin/processes/cancellation/draft.json").get_json()
    web.client.post("/admin/processes/cancellation/draft", headers={"X-CSRFToken": web.token}, json={
        "xml": draft["xml"].replace(*FORM_SWAP), "forms": draft["forms"], "revision": draft["revision"]})
    page = _text(web.get("/admin/processes/cancellation").get_data(as_text=True))
    assert "对办理中申请的影响" in page
    assert "版本 1（当前） 1 医疗机构确认 institution_confirm 1 草稿中该环节的表单已改变" in page
    # the editor fetches the section again after each save
    draft = web.client.get("/admin/processes/cancellation/draft.json").get_json()
    web.client.post("/admin/processes/cancellation/draft", headers={"X-CSRFToken": web.token}, json={
        "xml": draft["xml"].replace(*reversed(FORM_SWAP)), "forms": draft["forms"],
        "revision": draft["revision"]})
    section = _text(web.client.get("/admin/processes/cancellation/impact").get_data(as_text=True))
    assert "医疗机构确认 institution_confirm 1 未修改" in section


def test_admin_moves_a_waiting_application_and_it_finishes_on_the_new_version(
        app: Flask, web: WebClient, web_world: World) -> None:
    # issue 12 §4 (G5): an explicit, audited move; refused with the reason otherwise
    w = web_world
    with app.app_context():
        moves = _apply(w, w.doctor_id, "110140100000912")
        stays = _apply(w, w.doctor2_id, "110140100000913")
        processes.complete_task(user(w.staff_id), _open(moves), {"decision": "confirm", "paper_held": True})
        _publish(w, definitions.published("cancellation").bpmn_xml.replace(*RENAMED).replace(*FORM_SWAP))
        db.session.remove()
    web.login("admin01")
    page = _text(web.get("/admin/processes/cancellation").get_data(as_text=True))
    assert "迁移到当前版本（版本 2）" in page
    assert f"{moves} 1 卫健委受理 可以迁移" in page
    assert f"{stays} 1 医疗机构确认 不能迁移：环节“医疗机构确认”的表单在新版本中已改变" in page
    refused = web.post("/admin/processes/cancellation/migrate", {"instance_id": str(stays)},
                       follow_redirects=True).get_data(as_text=True)
    assert f"申请 {stays} 不能迁移到版本 2" in refused  # it waits at a step version 2 changed
    done = web.post("/admin/processes/cancellation/migrate", {}, follow_redirects=True)
    assert "已迁移 1 个申请到当前版本；1 个申请不能迁移，仍按原版本办理。" in done.get_data(as_text=True)

    with app.app_context():
        assert db.session.get(ProcessInstance, moves).definition.version == 2
        assert db.session.get(ProcessInstance, stays).definition.version == 1
        assert db.session.scalar(select(AuditEvent.actor_name).where(
            AuditEvent.action == "instance.migrated")) == "admin01"
        db.session.remove()
    with app.app_context():  # the commission accepts, as on version 1
        processes.complete_task(user(w.officer_id), _open(moves), {"decision": "accept"})
        decide = _open(moves)
        db.session.remove()
    officer = WebClient(app.test_client())
    officer.login("weijian01")
    page = officer.get(f"/inbox/tasks/{decide}").get_data(as_text=True)
    assert "审查决定（第二版）" in page  # the next step is that of version 2
    assert officer.post(f"/inbox/tasks/{decide}/complete", {"decision": "approve"}).status_code == 302
    with app.app_context():
        inst = db.session.get(ProcessInstance, moves)
        assert inst.outcome == "approved" and inst.definition.version == 2


def _open(iid: int) -> int:
    task = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == iid,
                                                        HumanTask.status == "open"))
    assert task is not None
    return task
