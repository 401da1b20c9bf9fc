"""Inbox: counts, ordering, claim/unclaim, and the physician's correction page."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.models import Role
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import make_qualification
from tests.factories import make_user
from tests.factories import resubmit
from tests.factories import submit_registration
from tests.statements import selects_of


def test_claim_blocks_colleagues_until_unclaimed(app: Flask, web_world: World) -> None:
    task_id = submit_registration(app, web_world, "doctor01")
    with app.app_context():
        make_user("jigou03", Role.INSTITUTION, "同事",
                  institution_id=web_world.hospital_id)
        db.session.commit()
    me, colleague = WebClient(app.test_client()), WebClient(app.test_client())
    me.login("jigou01")
    colleague.login("jigou03")
    me.get(f"/inbox/tasks/{task_id}")
    resp = me.post(f"/inbox/tasks/{task_id}/claim", follow_redirects=True)
    assert "已认领该任务" in resp.get_data(as_text=True)
    listing = colleague.get("/inbox/").get_data(as_text=True)
    assert "山西大学医院医务科" in listing  # who holds it
    page = colleague.get(f"/inbox/tasks/{task_id}").get_data(as_text=True)
    assert "已由其他同事认领" in page
    resp = colleague.post(f"/inbox/tasks/{task_id}/complete", {"decision": "confirm", "paper_held": "on"})
    assert resp.status_code == 403
    me.post(f"/inbox/tasks/{task_id}/unclaim")
    resp = colleague.post(f"/inbox/tasks/{task_id}/complete", {"decision": "confirm", "paper_held": "on"})
    assert resp.status_code == 302


def test_counts_and_due_ordering_for_the_commission(app: Flask, web_world: World) -> None:
    with app.app_context():
        q = make_qualification("赵敏", 9)
        make_user("doctor09", Role.PHYSICIAN, "赵敏",
                  qualification_id=q.id, id_number=q.id_number)
        db.session.commit()
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    for username in ("doctor01", "doctor09"):
        task_id = submit_registration(app, web_world, username)
        staff.get(f"/inbox/tasks/{task_id}")
        assert staff.post(f"/inbox/tasks/{task_id}/complete",
                          {"decision": "confirm", "paper_held": "on"}).status_code == 302
    officer = WebClient(app.test_client())
    officer.login("weijian01")
    text = officer.get("/inbox/").get_data(as_text=True)
    assert 'id="count-open">2<' in text
    assert text.index("宋宏强") < text.index("赵敏")  # the earlier due date first
    other = WebClient(app.test_client())
    other.login("weijian02")
    assert 'id="count-open">0<' in other.get("/inbox/").get_data(as_text=True)


def test_returned_application_shows_the_note_and_can_be_resubmitted(
        app: Flask, web_world: World) -> None:
    task_id = submit_registration(app, web_world, "doctor01")
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    staff.get(f"/inbox/tasks/{task_id}")
    staff.post(f"/inbox/tasks/{task_id}/complete",
               {"decision": "return", "note": "聘用证明缺少公章", "fields": ["employment_proof"]})
    doctor = WebClient(app.test_client())
    doctor.login("doctor01")
    home = doctor.get("/physician/").get_data(as_text=True)
    assert "修改并重新提交注册申请" in home
    with app.app_context():
        mine = db.session.scalar(select(HumanTask).where(HumanTask.status == "open"))
        assert mine is not None and mine.scope_kind == "user"
        mine_id = mine.id
    page = doctor.get(f"/physician/tasks/{mine_id}").get_data(as_text=True)
    assert "聘用证明缺少公章" in page and "已上传：聘用证明.pdf" in page
    form = {"department_id": str(web_world.department_id), "practice_scopes": ["11"],
            "contact_mobile": "15175070658", "declare_health": "on", "declare_no_bar": "on"}
    for name in ("employment_proof", "photo"):
        token = page.split(f'name="{name}__keep" value="')[1].split('"')[0]
        form[f"{name}__keep"] = token
    resp = doctor.post(f"/physician/tasks/{mine_id}", form)
    assert resp.status_code == 302
    detail = doctor.get(resp.headers["Location"]).get_data(as_text=True)
    assert "待机构确认" in detail and "退回补正" in detail


def test_return_by_field_shows_the_approver_exactly_what_changed(app: Flask,
                                                                  web_world: World) -> None:
    task_id = submit_registration(app, web_world, "doctor01")
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    page = staff.get(f"/inbox/tasks/{task_id}").get_data(as_text=True)
    assert "需要补正的项目" in page and 'value="contact_mobile"' in page
    resp = staff.post(f"/inbox/tasks/{task_id}/complete", {"decision": "return", "note": "请核对"})
    assert "请选择需要补正的项目" in resp.get_data(as_text=True)
    staff.post(f"/inbox/tasks/{task_id}/complete",
               {"decision": "return", "note": "联系电话有误", "fields": ["contact_mobile"]})
    doctor = WebClient(app.test_client())
    doctor.login("doctor01")
    with app.app_context():
        mine = db.session.scalar(select(HumanTask.id).where(HumanTask.status == "open"))
    form_page = doctor.get(f"/physician/tasks/{mine}").get_data(as_text=True)
    flagged = form_page.split('id="field-contact_mobile"')[1].split('id="field-')[0]
    assert "审核意见要求补正此项" in flagged and form_page.count("审核意见要求补正此项") == 1
    form = {"department_id": str(web_world.department_id), "practice_scopes": ["11"],
            "contact_mobile": "13912345678", "declare_health": "on", "declare_no_bar": "on"}
    again = resubmit(app, doctor, mine, form_page, form)
    text = staff.get(f"/inbox/tasks/{again}").get_data(as_text=True)
    section = text.split("本次补正修改的内容")[1].split("申请内容")[0]
    assert section.count("<tr>") == 2  # the header and exactly one changed field
    assert "联系电话" in section and "151****0658" in section and "139****5678" in section
    assert "13912345678" not in text  # still masked for the approver


def test_institution_reports_a_cancellation_through_the_page(app: Flask, web_world: World) -> None:
    from app.models import Registration

    with app.app_context():
        q = make_qualification("吴九", 41)
        db.session.add(Registration(qualification_id=q.id, level="执业医师", category="1",
                                    scopes=["11"], place_region="140000",
                                    institution_id=web_world.hospital_id,
                                    authority_id=web_world.authority_id, status="ACTIVE",
                                    cert_no="110140100005555"))
        db.session.commit()
        reg_id = db.session.scalar(select(Registration.id))
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    page = staff.get("/inbox/cancel").get_data(as_text=True)
    assert "机构报告注销" in page and "吴九" in page and "三十日内报告" in page
    resp = staff.post("/inbox/cancel", {"registration_id": str(reg_id), "reason": "left"})
    assert resp.status_code == 422 and "请填写事由发生日期" in resp.get_data(as_text=True)
    resp = staff.post("/inbox/cancel", {"registration_id": str(reg_id), "reason": "left",
                                        "event_date": "2026-01-05"})
    assert resp.status_code == 302
    officer = WebClient(app.test_client())
    officer.login("weijian01")
    text = officer.get("/inbox/").get_data(as_text=True)
    assert "机构报告注销" in text and "吴九" in text


def test_the_inbox_page_costs_two_queries(app: Flask, web_world: World) -> None:
    # issue 14 goal 1 (list ready tasks; the fixed cost of a page): the session with its person,
    # their 消息 count and the publication stamp (the newest published versions are kept per
    # stamp), and the page's tasks with what it shows of them in one statement; a first page
    # with room to spare holds every open task, so the five header counts follow from its rows
    # (a full one reads them in a second statement). 4 before the fifth round (the task ids,
    # their columns and the counts were three statements).
    # No configured business type is published, so the menu's 发起业务 reads no table.
    for username in ("doctor01", "doctor02"):
        submit_registration(app, web_world, username)
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    staff.get("/inbox/")
    selects, page = selects_of(app, lambda: staff.get("/inbox/").get_data(as_text=True))
    assert page.count('href="/inbox/tasks/') == 2 and 'id="count-open">2<' in page
    assert len(selects) == 2, "\n".join(selects)
    assert not [s for s in selects if "configured_type" in s]


def test_the_unread_count_comes_with_the_session_on_every_page(app: Flask, web_world: World) -> None:
    # issue 14 goal 1: the header's 消息（N） is read with the session and its person (no query
    # of its own on any page), and is right; a message stored in the request is counted
    from app.services.platform import outbox
    from tests.factories import user

    task_id = submit_registration(app, web_world, "doctor01")
    with app.app_context():
        for i in range(3):
            outbox.notify_user(user(web_world.staff_id), f"提醒{i}", "请登录系统查看。")
        db.session.commit()
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    for path in ("/inbox/", f"/inbox/tasks/{task_id}"):
        selects, page = selects_of(app, lambda p=path: staff.get(p).get_data(as_text=True))
        header = page[page.index("<header"):page.index("</header>")]
        assert "消息<span aria-hidden=\"true\">（3）</span>" in header and "未读消息 3 条" in header, path
        (unread,) = [s for s in selects if "outbox_message" in s]
        assert "FROM web_session" in unread, path
    assert f'href="/inbox/tasks/{task_id}"' in staff.get("/inbox/").get_data(as_text=True)
    with app.test_request_context():  # a message stored after the session was read
        from app.services.platform import messages
        messages.remember_unread(web_world.staff_id, 3)
        outbox.notify_user(user(web_world.staff_id), "提醒3", "请登录系统查看。")
        assert messages.unread_count(web_world.staff_id) == 4
        db.session.rollback()
