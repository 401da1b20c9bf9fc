"""The commission's dashboard counts open, due-this-week and overdue applications by type."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import time_machine
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.services.engine import processes
from app.services.inbox import dashboard
from tests.conftest import WebClient
from tests.factories import CONFIRMED
from tests.factories import World
from tests.factories import application_payload
from tests.factories import user


def test_counts_by_type(app: Flask, web_world: World) -> None:
    with app.app_context():
        iid = processes.start_application(user(web_world.doctor_id), "registration",
                                          application_payload(web_world, web_world.doctor_id)
                                          ).instance_id
        task = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == iid))
        open_task = db.session.scalar(select(HumanTask.id).where(
            HumanTask.instance_id == iid, HumanTask.status == "open"))
        assert task and open_task
        processes.complete_task(user(web_world.staff_id), open_task, CONFIRMED)
        [row] = dashboard.commission_counts(user(web_world.officer_id))
        assert (row.name, row.open, row.due_this_week, row.overdue) == ("注册", 1, 0, 0)
        with time_machine.travel(datetime.now(UTC) + timedelta(days=26), tick=False):
            [row] = dashboard.commission_counts(user(web_world.officer_id))
            assert row.due_this_week + row.overdue == 1
        with time_machine.travel(datetime.now(UTC) + timedelta(days=60), tick=False):
            [row] = dashboard.commission_counts(user(web_world.officer_id))
            assert row.overdue == 1
        assert dashboard.commission_counts(user(web_world.other_officer_id)) == []
    officer = WebClient(app.test_client())
    officer.login("weijian01")
    text = officer.get("/inbox/dashboard").get_data(as_text=True)
    assert "办理统计" in text and "<svg" in text and "注册" in text
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    assert staff.get("/inbox/dashboard").status_code == 403
