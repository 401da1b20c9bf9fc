"""The configured business types (新建流程) a web process holds are never stale (issue 14 goal 1,
fifth round): every request reads their stamp with its session's statement (database triggers
move it on every change of configured_type, migration 0035_reference_stamp), and the table is read again only
when it moved — a type another process created, published or removed shows on the very next page."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import text

from app.extensions import db
from app.services.backoffice import case_runs
from app.services.backoffice import configured_types
from app.services.backoffice import editor
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import user
from tests.statements import selects_of

NAME = "执业证书副本申领"


def _create_and_publish(app: Flask, world: World) -> None:
    """An administrator creates and publishes the type (in another process, as it were)."""
    with app.app_context():
        admin = user(world.admin_id)
        configured_types.create(admin, process_id="cert_copy", name=NAME, starter="physician",
                                template="skeleton", rules=["registration_current", "no_open_same"],
                                chosen_operations=[])
        configured_types.add_template_cases(user(world.admin_id), "cert_copy")
        run = case_runs.start(user(world.admin_id), "cert_copy")
        assert run.state == "passed", run.message
        editor.publish(user(world.admin_id), "cert_copy", "")
        db.session.remove()


def test_a_type_created_elsewhere_is_offered_on_the_next_page(
        app: Flask, web_world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, case_runs.SYNC_FLAG, True)
    doctor = WebClient.signed_in(app, "doctor01")
    assert NAME not in doctor.get("/physician/apply").get_data(as_text=True)
    seen, _page = selects_of(app, lambda: doctor.get("/physician/apply"))
    assert not [s for s in seen if "FROM configured_type" in s], "unchanged: the table is not read"
    _create_and_publish(app, web_world)
    seen, page = selects_of(app, lambda: doctor.get("/physician/apply").get_data(as_text=True))
    assert NAME in page
    assert [s for s in seen if "FROM configured_type" in s], "the stamp moved: read again"
    with app.app_context():  # removed by plain SQL (no service of ours): the triggers see it
        db.session.execute(text("DELETE FROM configured_type WHERE process_id = 'cert_copy'"))
        db.session.commit()
        db.session.remove()
    assert NAME not in doctor.get("/physician/apply").get_data(as_text=True)


def test_a_rule_changed_by_sql_applies_on_the_next_page(
        app: Flask, web_world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # the type's refusal rules (需有有效执业注册; 医师法 第十六条 bars, R-16) come from its row
    monkeypatch.setitem(app.config, case_runs.SYNC_FLAG, True)
    _create_and_publish(app, web_world)
    doctor = WebClient.signed_in(app, "doctor01")
    refused = f"您当前没有有效的执业注册，不能申请{NAME}"
    assert refused in doctor.get("/physician/apply").get_data(as_text=True)
    with app.app_context():
        db.session.execute(text("UPDATE configured_type SET refusal_rules = :rules "
                                "WHERE process_id = 'cert_copy'"), {"rules": '["no_open_same"]'})
        db.session.commit()
        db.session.remove()
    page = doctor.get("/physician/apply").get_data(as_text=True)
    assert NAME in page and refused not in page
