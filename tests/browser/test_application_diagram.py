"""业务查询 detail: the application's diagram (bpmn-js viewer, served locally) with the
finished and current steps marked, next to the plain-language timeline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page
from playwright.sync_api import expect

from app.extensions import db
from app.services.engine import processes
from tests.factories import PASSWORD
from tests.factories import World
from tests.factories import application_payload
from tests.factories import user

pytestmark = pytest.mark.browser


def test_diagram_marks_done_and_current_steps(app: Flask, web_world: World,
                                              new_page: Callable[[], Page],
                                              tmp_path: Path) -> None:
    with app.app_context():
        iid = processes.start_application(
            user(web_world.doctor_id), "registration",
            application_payload(web_world, web_world.doctor_id)).instance_id
        db.session.remove()
    page = new_page()
    page.goto("/login")
    page.fill("#username", "doctor01")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto(f"/physician/applications/{iid}")
    expect(page.locator("main")).to_contain_text("当前办理方：医疗机构")
    expect(page.locator("#diagram[data-ready=true]")).to_be_visible()
    expect(page.locator('#diagram [data-element-id="institution_confirm"].step-current')
           ).to_have_count(1)
    expect(page.locator('#diagram [data-element-id="start"].step-done')).to_have_count(1)
    expect(page.locator('#diagram [data-element-id="commission_decide"].step-current')
           ).to_have_count(0)
    page.screenshot(path=str(tmp_path / "diagram.png"), full_page=True)
