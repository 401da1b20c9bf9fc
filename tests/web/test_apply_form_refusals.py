"""The application form says why a physician may not apply now (DOMAIN §4.0–4.1), read with the
qualification in one statement (issue 14 goal 1, fifth round): an open application of the same
type, or of a type that may not be open together with it."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask import current_app

from app.extensions import db
from app.models import Registration
from app.services.engine import processes
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import active_registration
from tests.factories import stored_pdf
from tests.factories import submit_registration
from tests.factories import user


def test_the_form_refuses_a_second_registration_while_one_is_open(app: Flask, web_world: World) -> None:
    # 医师执业注册管理办法 第十二条 (one 注册 at a time: DOMAIN §4.0); 行政许可法 第三十二条
    client = WebClient.signed_in(app, "doctor01")
    assert 'class="app-form"' in client.get("/physician/apply/registration").get_data(as_text=True)
    submit_registration(app, web_world)
    page = client.get("/physician/apply/registration").get_data(as_text=True)
    assert "您已有正在办理的同类申请，请在业务查询中查看进度" in page
    assert 'class="app-form"' not in page


def _change(world: World, reg: Registration) -> dict[str, Any]:
    return {"registration_id": reg.id, "institution_id": world.hospital_id,
            "department_id": world.department_id, "practice_scopes": ["12"], "reason": "工作需要",
            "employment_proof": stored_pdf(world, "聘.pdf"), "training_proof": stored_pdf(world, "培训.pdf"),
            "declare_true": True}


def test_the_cancellation_form_names_the_open_change_that_stands_in_the_way(world: World) -> None:
    # DOMAIN §4.0 (no conflicting open application); 行政许可法 第三十八条 (a reasoned refusal)
    reg = active_registration(world, cert_no="110140100000888")
    web = WebClient(current_app.test_client())
    web.login("doctor01")
    assert 'class="app-form"' in web.get("/physician/apply/cancellation").get_data(as_text=True)
    iid = processes.start_application(user(world.doctor_id), "change", _change(world, reg)).instance_id
    db.session.commit()
    page = web.get("/physician/apply/cancellation").get_data(as_text=True)
    assert f"您的「变更」申请正在办理中（受理编号 {iid}），办结后才能申请注销" in page
    assert 'class="app-form"' not in page


def test_the_form_weighs_every_registration_read_with_the_qualification(world: World) -> None:
    # 医师法 第十六条(三) (吊销 less than two years ago bars 注册); DOMAIN §4.1. The
    # registrations come with the qualification in one statement: the second one counts too
    from datetime import timedelta

    from app.services.engine.clock import today_cst

    active_registration(world, cert_no="110140100000801", status="CANCELLED",
                        status_changed_on=today_cst() - timedelta(days=2000))
    web = WebClient(current_app.test_client())
    web.login("doctor01")
    assert 'class="app-form"' in web.get("/physician/apply/registration").get_data(as_text=True)
    active_registration(world, cert_no="110140100000802", status="REVOKED",
                        status_decided_on=today_cst() - timedelta(days=30))
    page = web.get("/physician/apply/registration").get_data(as_text=True)
    assert "被吊销，自处罚决定之日起不满二年" in page and 'class="app-form"' not in page
