"""E-mail through a real local SMTP server (aiosmtpd): the code is read from the server.

The outbox is written in the step and sent after commit; a transport failure leaves the
message pending (tried again later) and the next dispatch delivers it.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMessage
from app.models import Role
from app.models import User
from app.services.accounts import security
from app.services.platform import outbox
from tests.factories import make_qualification
from tests.factories import make_user
from tests.waiting import DEADLINE_SECONDS
from tests.waiting import wait_until

ADDRESS = "song.hongqiang@example.com"
SUBJECT = "医师电子化注册信息系统校验码"


class Collector:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        msg = email.message_from_bytes(envelope.original_content or envelope.content,
                                       policy=email.policy.default)
        with self.lock:
            self.messages.append(msg)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class _Controller(Controller):
    """aiosmtpd's controller on a socket bound beforehand: port 0 on the first start (no
    port to race for with a parallel run), the same port again after a stop. aiosmtpd 1.4
    connects to its own port to check it is up, so the port must be known before it starts."""

    def __init__(self, handler: Collector, sock: socket.socket) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=sock.getsockname()[1],
                         ready_timeout=DEADLINE_SECONDS)
        self.sock = sock

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self.sock, ssl=self.ssl_context)


class SmtpServer:
    """aiosmtpd on 127.0.0.1 and a port of its own; it can be stopped and started again."""

    def __init__(self) -> None:
        self.handler = Collector()
        self.port = 0
        self.controller: Controller | None = None

    def start(self) -> None:
        assert self.controller is None

        def bound() -> socket.socket:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", self.port))
            except OSError:
                sock.close()
                raise
            return sock

        sock = wait_until(bound, f"the SMTP server binding 127.0.0.1:{self.port}")
        self.port = sock.getsockname()[1]
        self.controller = _Controller(self.handler, sock)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        with self.handler.lock:
            return list(self.handler.messages)


@pytest.fixture()
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def _smtp_config(app: Flask, server: SmtpServer) -> dict[str, Any]:
    return {**app.config, "MEDREG_MAIL_BACKEND": "smtp", "MEDREG_SMTP_HOST": "127.0.0.1",
            "MEDREG_SMTP_PORT": server.port}


def _physician_with_unverified_email() -> int:
    q = make_qualification("宋宏强", 31)
    u = make_user("songhq01", Role.PHYSICIAN, "宋宏强", qualification_id=q.id,
                  id_number=q.id_number, mobile="13912345678", mobile_verified=True,
                  email=ADDRESS, email_verified=False)
    db.session.commit()
    return u.id


def _user(user_id: int) -> User:
    db.session.expire_all()
    u = db.session.get(User, user_id)
    assert u is not None
    return u


def _code_from(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()  # decoded (base64 / quoted-printable UTF-8) to str
    assert "您的校验码是" in text and "5分钟内有效" in text
    m = re.search(r"(?<!\d)(\d{6})(?!\d)", text)
    assert m, text
    return m.group(1)


def test_verification_code_travels_through_smtp(ctx: Flask, smtp_server: SmtpServer) -> None:
    user_id = _physician_with_unverified_email()
    security.send_code(_user(user_id), "email")
    pending = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.status == "pending")).all()
    assert [(m.channel, m.recipient) for m in pending] == [("email", ADDRESS)]

    assert outbox.dispatch_pending(_smtp_config(ctx, smtp_server)) == 1
    assert len(smtp_server.messages) == 1
    msg = smtp_server.messages[0]
    assert msg["To"] == ADDRESS and msg["From"] == ctx.config["MEDREG_MAIL_FROM"]
    assert str(msg["Subject"]) == SUBJECT  # the RFC 2047 encoded Chinese subject, decoded
    assert smtp_server.handler.envelopes[0][1] == [ADDRESS]
    code = _code_from(msg)
    db.session.expire_all()
    sent = db.session.get(OutboxMessage, pending[0].id)
    assert sent is not None and sent.status == "sent" and sent.sent_at is not None
    assert code not in (sent.last_error or "")
    assert code not in sent.body and "发送后已清除" in sent.body  # not kept readable once sent

    user = _user(user_id)
    assert user.email_verified is False
    security.confirm(user, "email", ADDRESS, code)
    assert _user(user_id).email_verified is True and _user(user_id).email == ADDRESS

    # the security notice of the confirmation goes out by e-mail too, through the same server
    outbox.dispatch_pending(_smtp_config(ctx, smtp_server))
    subjects = [str(m["Subject"]) for m in smtp_server.messages]
    assert subjects == [SUBJECT, "账户安全提醒"]


def test_a_stopped_server_leaves_the_message_pending(ctx: Flask,
                                                    smtp_server: SmtpServer) -> None:
    user_id = _physician_with_unverified_email()
    smtp_server.stop()
    security.send_code(_user(user_id), "email")
    msg_id = db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.channel == "email"))
    assert msg_id is not None

    assert outbox.dispatch_pending(_smtp_config(ctx, smtp_server)) == 0
    db.session.expire_all()
    msg = db.session.get(OutboxMessage, msg_id)
    assert msg is not None
    assert msg.status == "pending" and msg.attempts == 1 and msg.last_error
    assert msg.sent_at is None
    assert outbox.dispatch_pending(_smtp_config(ctx, smtp_server)) == 0
    db.session.expire_all()
    assert db.session.get(OutboxMessage, msg_id).attempts == 2  # type: ignore[union-attr]
    assert smtp_server.messages == []

    smtp_server.start()
    assert outbox.dispatch_pending(_smtp_config(ctx, smtp_server)) == 1
    db.session.expire_all()
    msg = db.session.get(OutboxMessage, msg_id)
    assert msg is not None and msg.status == "sent" and msg.sent_at is not None
    assert len(smtp_server.messages) == 1
    code = _code_from(smtp_server.messages[0])
    security.confirm(_user(user_id), "email", ADDRESS, code)
    assert _user(user_id).email_verified is True
    # the delivered code is not sent again; only the new security notice goes out
    outbox.dispatch_pending(_smtp_config(ctx, smtp_server))
    assert [str(m["Subject"]) for m in smtp_server.messages] == [SUBJECT, "账户安全提醒"]
