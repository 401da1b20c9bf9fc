"""业务查询 detail on a phone: the plain timeline (an ordered list, the current step marked for
screen readers, readable at 375 px); staff keep the diagram with the steps marked."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from playwright.sync_api import Page
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.services.engine import processes
from tests.browser.helpers import sign_in
from tests.factories import CONFIRMED
from tests.factories import World
from tests.factories import application_payload
from tests.factories import user

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/timeline-375.png"


def _confirmed(app: Flask, world: World) -> int:
    with app.app_context():
        iid = processes.start_application(user(world.doctor_id), "registration",
                                          application_payload(world, world.doctor_id)).instance_id
        task = db.session.scalar(select(HumanTask).where(HumanTask.status == "open"))
        assert task is not None
        processes.complete_task(user(world.staff_id), task.id, CONFIRMED)
        db.session.remove()
        return iid


def test_the_timeline_is_readable_on_a_phone(app: Flask, web_world: World,
                                             new_page: Callable[[], Page]) -> None:
    iid = _confirmed(app, web_world)
    page = new_page()
    page.set_viewport_size({"width": 375, "height": 667})
    sign_in(page, "doctor01")
    page.goto(f"/physician/applications/{iid}")
    steps = page.locator("ol.stepper > li")
    expect(steps).to_have_count(5)
    current = page.locator('ol.stepper > li[aria-current="step"]')
    expect(current).to_have_count(1)
    expect(current).to_contain_text("卫健委受理")
    expect(current).to_contain_text("正在办理")  # said in words, not only in colour
    expect(steps.nth(1)).to_contain_text("已完成")
    expect(page.locator("main")).to_contain_text("等待太原市卫生健康委员会办理")
    expect(page.locator("#diagram")).to_have_count(0)
    boxes = [steps.nth(i).bounding_box() for i in range(5)]
    assert all(b is not None for b in boxes)
    tops = [b["y"] for b in boxes if b is not None]
    assert tops == sorted(tops) and len(set(tops)) == 5  # one step under the other
    section = page.locator("section.timeline")
    page.screenshot(path=SCREENSHOT, full_page=True)
    # the steps wrap inside their column: nothing sticks out of it (the page layout around
    # it is the accessibility item's)
    assert section.evaluate("s => s.scrollWidth <= s.clientWidth")
    edge = section.bounding_box()
    assert edge is not None
    assert all(b["x"] + b["width"] <= edge["x"] + edge["width"] + 1 for b in boxes if b is not None)
    page.set_viewport_size({"width": 1280, "height": 900})  # a wide screen: one row
    tops = [b["y"] for i in range(5) if (b := steps.nth(i).bounding_box()) is not None]
    assert len(set(tops)) == 1
    section.screenshot(path="/tmp/timeline-1280.png")


def test_staff_diagram_marks_done_and_current_steps(app: Flask, web_world: World,
                                                    new_page: Callable[[], Page]) -> None:
    iid = _confirmed(app, web_world)
    page = new_page()
    sign_in(page, "admin01")
    page.goto(f"/admin/instances/{iid}")
    expect(page.locator("#diagram[data-ready=true]")).to_be_visible()
    expect(page.locator('#diagram [data-element-id="commission_accept"].step-current')
           ).to_have_count(1)
    expect(page.locator('#diagram [data-element-id="institution_confirm"].step-done')
           ).to_have_count(1)
    expect(page.locator('#diagram [data-element-id="lane_commission"]')).to_contain_text("卫生健康委")
