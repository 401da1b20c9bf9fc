"""消息 (站内消息, issue 13 item 7): every role reads its in-app messages, newest first, marks
them read, and sees the unread count in the header of every page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy import text

from app.extensions import db
from app.models import HumanTask
from app.models import OutboxMessage
from app.models import OutboxStatus
from app.models import TaskStatus
from app.services.engine import processes
from app.services.platform import messages
from app.services.platform import outbox
from tests.conftest import WebClient
from tests.factories import CONFIRMED
from tests.factories import World
from tests.factories import application_payload
from tests.factories import user


def _send(app: Flask, user_id: int, subject: str, body: str = "请登录系统查看。") -> int:
    with app.app_context():
        outbox.notify_user(user(user_id), subject, body)
        msg_id = db.session.scalar(select(OutboxMessage.id).where(
            OutboxMessage.subject == subject, OutboxMessage.recipient_user_id == user_id,
            OutboxMessage.channel == "inbox"))
        db.session.commit()
        assert msg_id is not None
        return msg_id


def _header(html: str) -> str:
    return html[html.index('<header'):html.index('</header>')]


@contextmanager
def _queries(app: Flask) -> Iterator[list[str]]:
    seen: list[str] = []

    def listen(*args: Any) -> None:
        seen.append(str(args[2]))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def test_every_role_reads_its_messages_newest_first(app: Flask, web_world: World) -> None:
    for username, user_id, home in (("doctor01", web_world.doctor_id, "/physician/"),
                                    ("jigou01", web_world.staff_id, "/inbox/"),
                                    ("weijian01", web_world.officer_id, "/inbox/"),
                                    ("admin01", web_world.admin_id, "/admin/")):
        _send(app, user_id, "受理通知", "您的注册申请已受理。")
        _send(app, user_id, "待办提醒", "您有新的待办任务。")
        client = WebClient.signed_in(app, username)
        header = _header(client.get(home, follow_redirects=True).get_data(as_text=True))
        assert "消息" in header and "（2）" in header and "未读消息 2 条" in header, username
        page = client.get("/messages/").get_data(as_text=True)
        assert page.index("待办提醒") < page.index("受理通知")  # newest first
        assert page.count("【未读】") == 2 and "您有 2 条未读消息" in page
        assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", page)  # Beijing time, like the other pages


def test_marking_one_read_is_idempotent_and_lowers_the_count(app: Flask, web_world: World) -> None:
    first = _send(app, web_world.doctor_id, "受理通知")
    _send(app, web_world.doctor_id, "补正通知")
    client = WebClient.signed_in(app, "doctor01")
    for _ in range(2):  # a second click (or a resent form) changes nothing
        resp = client.post(f"/messages/{first}/read", {"next": "/messages/"})
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/messages/")
    page = client.get("/messages/").get_data(as_text=True)
    assert page.count("【未读】") == 1 and "未读消息 1 条" in _header(page)
    item = page[page.index(f'id="message-{first}"'):]
    assert "已读" in item[:item.index("</li>")] and "【未读】" not in item[:item.index("</li>")]


def test_mark_all_read(app: Flask, web_world: World) -> None:
    for subject in ("受理通知", "补正通知", "准予注册"):
        _send(app, web_world.staff_id, subject)
    client = WebClient.signed_in(app, "jigou01")
    resp = client.post("/messages/read-all", {"next": "/messages/"}, follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert "已将 3 条消息标为已读" in page and "没有未读消息" in page and "【未读】" not in page
    header = _header(page)
    assert "未读消息" not in header and 'aria-hidden="true">（' not in header


def test_marking_needs_the_csrf_token(app: Flask, web_world: World) -> None:
    msg = _send(app, web_world.doctor_id, "受理通知")
    client = WebClient.signed_in(app, "doctor01")
    assert client.client.post(f"/messages/{msg}/read").status_code == 400
    assert client.client.get(f"/messages/{msg}/read").status_code == 405
    assert "【未读】" in client.get("/messages/").get_data(as_text=True)


def test_another_persons_message_is_not_found(app: Flask, web_world: World) -> None:
    theirs = _send(app, web_world.doctor2_id, "受理通知", "李明华的消息")
    client = WebClient.signed_in(app, "doctor01")
    resp = client.post(f"/messages/{theirs}/read")
    assert resp.status_code == 404 and "没有这条消息" in resp.get_data(as_text=True)
    assert "李明华的消息" not in client.get("/messages/").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(OutboxMessage, theirs).read_at is None  # type: ignore[union-attr]


def test_messages_are_paged(app: Flask, web_world: World) -> None:
    with app.app_context():
        for i in range(messages.PAGE + 3):
            outbox.enqueue("inbox", "doctor01", f"通知{i:02d}", "正文", user_id=web_world.doctor_id)
        db.session.commit()
    client = WebClient.signed_in(app, "doctor01")
    first = client.get("/messages/").get_data(as_text=True)
    assert f"通知{messages.PAGE + 2:02d}" in first and "通知02" not in first
    link = re.search(r'href="(/messages/\?before=[^"]+)"', first)
    assert link
    second = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "通知02" in second and "通知00" in second and f"通知{messages.PAGE + 2:02d}" not in second
    assert "下一页" not in second


def test_the_unread_count_is_one_query_per_page(app: Flask, web_world: World) -> None:
    client = WebClient.signed_in(app, "doctor01")
    for n in (1, 12):
        for i in range(n):
            _send(app, web_world.doctor_id, f"提醒{n}-{i}")
        with _queries(app) as seen:
            assert client.get("/account/security").status_code == 200
        assert len([q for q in seen if "outbox_message" in q]) == 1  # no query per message


def test_the_outbox_worker_leaves_inbox_messages_delivered(app: Flask, web_world: World) -> None:
    msg = _send(app, web_world.doctor_id, "受理通知")
    with app.app_context():
        sent = outbox.dispatch_pending(app.config)
        stored = db.session.get(OutboxMessage, msg)
        assert stored is not None and stored.status is OutboxStatus.SENT and stored.created_at
        assert stored.sent_at is None  # issue 14 goal 2: delivered when stored (created_at), not repeated
        assert sent == 1  # the doctor's SMS; the inbox message was delivered by being stored
    page = WebClient.signed_in(app, "doctor01").get("/messages/").get_data(as_text=True)
    assert "受理通知" in page and "【未读】" in page


def test_the_decision_reaches_the_physicians_messages(app: Flask, web_world: World) -> None:
    # 行政许可法 第三十二条, 第三十八条; 医师法 第十六条: the 受理通知 and the written decision
    # reach the applicant — in the app on 消息 (DOMAIN §4.0 step 6: SMS/in-app at every transition)
    with app.app_context():
        iid = processes.start_application(user(web_world.doctor_id), "registration",
                                          application_payload(web_world, web_world.doctor_id)
                                          ).instance_id
        for actor, data in ((web_world.staff_id, CONFIRMED), (web_world.officer_id, {"decision": "accept"}),
                            (web_world.officer_id, {"decision": "approve"})):
            task = db.session.scalar(select(HumanTask.id).where(
                HumanTask.instance_id == iid, HumanTask.status == TaskStatus.OPEN))
            assert task is not None
            processes.complete_task(user(actor), task, data)
        db.session.remove()
    client = WebClient.signed_in(app, "doctor01")
    page = client.get("/messages/").get_data(as_text=True)
    assert page.index("业务办理结果：已批准") < page.index("受理通知")  # the newest first
    assert f"申请（编号 {iid}）办理结果：已批准" in page and "【未读】" in page
    assert "未读消息" in _header(page)


def test_the_unread_count_reads_the_index_alone(app: Flask, web_world: World) -> None:
    _send(app, web_world.doctor_id, "受理通知")
    with app.app_context():
        stmt = select(messages.unread_of(literal(web_world.doctor_id)))  # as the session reads it
        sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
        explain = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
        if db.engine.dialect.name == "postgresql":  # a handful of rows: it would scan the table
            db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(str(row) for row in db.session.execute(text(explain + sql)))
        assert "ix_outbox_message_unread" in plan, plan
        assert messages.unread_count(web_world.doctor_id) == 1
