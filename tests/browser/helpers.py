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
