"""Steps the browser journeys share."""

from __future__ import annotations

import re

from flask import Flask
from playwright.sync_api import Page
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMessage
from tests.factories import PASSWORD


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Sign in on the 登录 page and wait until the browser has left it."""
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.get_by_role("button", name="登录").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def sms_bodies(app: Flask, mobile: str) -> list[str]:
    """Bodies of the SMS sent to ``mobile`` (read from the outbox), newest first."""
    with app.app_context():
        bodies = list(db.session.scalars(select(OutboxMessage.body).where(
            OutboxMessage.channel == "sms", OutboxMessage.recipient == mobile)
            .order_by(OutboxMessage.id.desc())))
        db.session.remove()
    return bodies


def pick_institution(page: Page, typed: str, name: str) -> None:
    """拟执业机构 (issue 14): type part of the name into the combobox, move down the matches
    with the arrow key until ``name`` is the active option, and pick it with Enter."""
    box = page.locator("#in-institution_id[role=combobox]")  # 拟执业机构, 新的主要执业机构...
    box.fill(typed)
    listbox = page.get_by_role("listbox")
    expect(listbox.get_by_role("option").first).to_be_visible()
    options = listbox.get_by_role("option")
    for k in range(options.count()):
        box.press("ArrowDown")
        if options.nth(k).inner_text().startswith(name):
            break
    else:
        raise AssertionError(f"{name} not among the matches of {typed}")
    expect(options.nth(k)).to_have_attribute("aria-selected", "true")
    box.press("Enter")
    expect(page.locator("#chosen-institution_id")).to_contain_text(f"已选：{name}")
