"""Sent SMS and e-mail are deleted after the retention period (issue 14 goal 2: bytes per
completed instance); pending and failed messages and the person's 站内消息 are kept."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMessage
from app.models import OutboxStatus
from app.models.base import utcnow
from app.services.platform import outbox
from tests.conftest import WebClient
from tests.factories import World


def _message(channel: str, status: OutboxStatus, sent_days_ago: int | None, subject: str,
             user_id: int | None = None) -> None:
    at = utcnow() - timedelta(days=sent_days_ago) if sent_days_ago is not None else None
    db.session.add(OutboxMessage(channel=channel, recipient="15175070658", subject=subject,
                                 body="您的注册申请已受理。", status=status, sent_at=at,
                                 created_at=at or utcnow(), recipient_user_id=user_id,
                                 attempts=10 if status == OutboxStatus.FAILED else 0))


def _old_and_new(user_id: int) -> None:
    _message("sms", OutboxStatus.SENT, 31, "旧短信", user_id)
    _message("email", OutboxStatus.SENT, 40, "旧邮件", user_id)
    _message("sms", OutboxStatus.SENT, 29, "新短信", user_id)
    _message("sms", OutboxStatus.PENDING, None, "待发短信", user_id)
    _message("email", OutboxStatus.FAILED, None, "发送失败", user_id)
    _message(outbox.INBOX, OutboxStatus.SENT, 400, "受理通知", user_id)
    db.session.commit()


def _subjects() -> set[str]:
    return set(db.session.scalars(select(OutboxMessage.subject)))


def test_sent_sms_and_email_older_than_the_retention_are_deleted(ctx: Flask) -> None:
    # issue 14 goal 2 (no rule row): delivered outbox messages are pruned after a retention period
    _old_and_new(1)
    assert outbox.prune_delivered(utcnow(), 30) == 2
    # pending (still to send), failed (an administrator looks at it) and 站内消息 stay
    assert _subjects() == {"新短信", "待发短信", "发送失败", "受理通知"}
    assert outbox.prune_delivered(utcnow() + timedelta(days=2), 30) == 1
    assert _subjects() == {"待发短信", "发送失败", "受理通知"}


def test_the_hourly_sweep_prunes_with_the_configured_retention(app: Flask, web_world: World) -> None:
    # issue 14 goal 2: MEDREG_OUTBOX_RETENTION_DAYS (default 30) is read by the scheduler's hourly rules
    from app.services.platform import scheduler

    with app.app_context():
        _old_and_new(web_world.doctor_id)
        db.session.remove()
    saved, retention = list(scheduler._last_rules), app.config["MEDREG_OUTBOX_RETENTION_DAYS"]
    assert retention == 30
    scheduler._last_rules.clear()  # the hourly rules (and the prune) run on this sweep
    app.config["MEDREG_OUTBOX_RETENTION_DAYS"] = "35"  # as read from the environment
    try:
        scheduler.sweep(app)
    finally:
        scheduler._last_rules[:] = saved
        app.config["MEDREG_OUTBOX_RETENTION_DAYS"] = retention
    with app.app_context():
        assert _subjects() == {"旧短信", "新短信", "待发短信", "发送失败", "受理通知"}
    # the physician still reads the year-old 站内消息 on 消息
    client = WebClient(app.test_client())
    client.login("doctor01")
    page = client.get("/messages/").get_data(as_text=True)
    assert "受理通知" in page and "您的注册申请已受理。" in page
