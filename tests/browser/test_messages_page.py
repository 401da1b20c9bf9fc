"""消息 in the browser: a physician on a phone sees the unread count in the header, opens
消息, marks a message read and the count goes down; axe-core finds nothing serious."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Flask
from playwright.sync_api import Page
from playwright.sync_api import expect

from app.extensions import db
from app.services.platform import outbox
from tests.browser.helpers import sign_in
from tests.factories import World
from tests.factories import user

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def _serious(page: Page) -> list[str]:
    page.evaluate(AXE.read_text(encoding="utf-8"))  # not a script tag: our CSP forbids inline ones
    # the header and the page's own content (the menu's greyed 证书补办 is another item's)
    found = page.evaluate("async () => (await axe.run({include: [['header'], ['main']]})).violations"
                          ".filter(v => ['serious', 'critical'].includes(v.impact))"
                          ".map(v => v.id + ' ' + v.nodes.map(n => n.target.join(' ')).join(', '))")
    return list(found)


def test_a_physician_reads_messages_on_a_phone(app: Flask, web_world: World,
                                              new_page: Callable[[], Page]) -> None:
    with app.app_context():
        doctor = user(web_world.doctor_id)
        outbox.notify_user(doctor, "受理通知", "您的注册申请（编号 1）已于2026年11月30日受理。")
        outbox.notify_user(doctor, "业务办理结果：已批准", "您的注册申请（编号 1）办理结果：已批准。")
        db.session.commit()
        db.session.remove()
    for width, height, unread in ((375, 667, 2), (1280, 900, 1)):
        page = new_page()
        page.set_viewport_size({"width": width, "height": height})
        sign_in(page, "doctor01")
        link = page.get_by_role("link", name=f"消息 未读消息 {unread} 条", exact=True)
        expect(link).to_be_visible()
        link.click()
        expect(page.get_by_role("heading", name="消息", exact=True)).to_be_visible()
        assert _serious(page) == [], width
        if width == 375:
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            page.get_by_role("button", name="标为已读：业务办理结果：已批准").click()
            expect(page.get_by_role("link", name="消息 未读消息 1 条", exact=True)).to_be_visible()
            expect(page.get_by_text("【未读】")).to_have_count(1)
        else:
            page.get_by_role("button", name="全部标为已读").click()
            expect(page.get_by_text("没有未读消息。")).to_be_visible()
            expect(page.get_by_role("link", name="消息", exact=True)).to_be_visible()
