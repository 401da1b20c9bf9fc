"""业务查询 → an application: the physician reads a plain timeline; staff keep the diagram, now
with Chinese lane names (issue 13 item 6)."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.services.engine import processes
from tests.conftest import WebClient
from tests.factories import CONFIRMED
from tests.factories import World
from tests.factories import application_payload
from tests.factories import user

LANE_KEYS = re.compile(r"\b(physician|institution|target_institution|commission)\b")


def _confirmed(app: Flask, world: World) -> int:
    with app.app_context():
        iid = processes.start_application(user(world.doctor_id), "registration",
                                          application_payload(world, world.doctor_id)).instance_id
        task = db.session.scalar(select(HumanTask).where(HumanTask.status == "open"))
        assert task is not None
        processes.complete_task(user(world.staff_id), task.id, CONFIRMED)
        db.session.remove()
        return iid


def _visible_text(html: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", body)


def test_the_physician_reads_a_stepper_not_a_diagram(app: Flask, web: WebClient,
                                                     web_world: World) -> None:
    # 医师执业注册管理办法 第十条 — Part 1 row 1.6 (业务查询): where the application is, in words
    iid = _confirmed(app, web_world)
    web.login("doctor01")
    html = web.get(f"/physician/applications/{iid}").get_data(as_text=True)
    stepper = re.search(r'<ol class="stepper">(.*?)</ol>', html, re.S)
    assert stepper is not None
    items = re.findall(r"<li[^>]*>.*?</li>", stepper.group(1), re.S)
    assert len(items) == 5
    current = [i for i in items if 'aria-current="step"' in i]
    assert len(current) == 1 and "卫健委受理" in current[0] and "正在办理" in current[0]
    assert "已完成" in items[1] and "医疗机构确认" in items[1] and "山西大学医院" in items[1]
    assert "待办理" in items[3] and "审查决定" in items[3]
    assert "等待太原市卫生健康委员会办理" in html
    assert 'id="diagram"' not in html and "bpmn-navigated-viewer" not in html
    assert not LANE_KEYS.search(_visible_text(html)), LANE_KEYS.search(_visible_text(html))
    assert web.client.get(f"/physician/applications/{iid}/diagram").status_code == 404


def test_staff_keep_the_diagram_with_chinese_lane_names(app: Flask, web: WebClient,
                                                        web_world: World) -> None:
    iid = _confirmed(app, web_world)
    web.login("admin01")
    assert 'id="diagram"' in web.get(f"/admin/instances/{iid}").get_data(as_text=True)
    xml = web.client.get(f"/admin/instances/{iid}/diagram").get_json()["xml"]
    assert 'name="卫生健康委"' in xml and 'name="医疗机构"' in xml and 'name="医师"' in xml
    assert 'name="commission"' not in xml and 'name="physician"' not in xml
