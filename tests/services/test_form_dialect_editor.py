"""Issue 12 §6: a form outside the dialect is caught by 校验 and cannot be published; a version
stored before the dialect existed still opens on 信息维护 (it gave every physician a 500)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.errors import DomainError
from app.extensions import db
from app.models import ProcessDefinition
from app.services.backoffice import definitions
from app.services.backoffice import editor
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import user

GHOST = "表单 info_change_apply：x-ui.order：字段 ghost 不在 properties 中"


def _ghost_form(forms: dict[str, Any]) -> dict[str, Any]:
    form = copy.deepcopy(forms["info_change_apply"])
    form["x-ui"]["order"].append("ghost")
    return form


def test_a_form_naming_an_unknown_field_fails_the_check_and_is_not_published(world: World) -> None:
    # issue 12: x-ui.order naming an unknown field passed 校验, was published, then 500 on 信息维护
    admin = user(world.admin_id)
    draft = editor.open_draft(admin, "info_change")
    forms = dict(draft.forms, info_change_apply=_ghost_form(draft.forms))
    editor.save_draft(admin, "info_change", draft.xml, forms, draft.revision)
    messages = [p.message for p in editor.check_draft("info_change")]
    assert messages.count(GHOST) == 1, messages
    with pytest.raises(DomainError, match="未通过校验"):
        editor.publish(admin, "info_change", "加一个字段")
    assert definitions.published("info_change").version == 1


def test_a_form_of_a_user_task_is_reported_on_that_task(world: World) -> None:
    # issue 12 §6: the problem is shown on the element that holds the form
    admin = user(world.admin_id)
    draft = editor.open_draft(admin, "info_change")
    review = copy.deepcopy(draft.forms["institution_review"])
    review["properties"]["decision"]["x-labels"]["maybe"] = "也许"
    forms = dict(draft.forms, institution_review=review)
    editor.save_draft(admin, "info_change", draft.xml, forms, draft.revision)
    found = {(p.element_id, p.message) for p in editor.check_draft("info_change")}
    assert ("institution_review",
            "表单 institution_review：properties.decision.x-labels：maybe 不是 enum 中的选项") in found


def test_a_version_stored_before_the_dialect_still_opens_on_the_profile_page(
        web: WebClient, web_world: World, app: Flask) -> None:
    # issue 12: every physician got a 500 on 信息维护; the renderer now skips the unknown name
    with app.app_context():
        v1 = db.session.scalar(select(ProcessDefinition).where(
            ProcessDefinition.process_id == "info_change"))
        assert v1 is not None
        forms = dict(v1.forms, info_change_apply=_ghost_form(v1.forms))
        db.session.add(ProcessDefinition(
            process_id="info_change", version=2, name=v1.name, bpmn_xml=v1.bpmn_xml, forms=forms,
            spec_json=v1.spec_json, sha256=v1.sha256, published_at=v1.published_at,
            author="old"))
        db.session.commit()
        assert definitions.published("info_change").version == 2
    web.login("doctor01")
    resp = web.get("/physician/profile")
    assert resp.status_code == 200
    assert "毕业学校" in resp.get_data(as_text=True)


def test_the_preview_refuses_each_shape_of_the_issue_with_a_message(web: WebClient,
                                                                    web_world: World) -> None:
    # issue 12: five shapes gave 500 on the form preview
    web.login("admin01")
    web.get("/admin/processes/cancellation")
    shapes = [
        {"type": "object", "properties": {"c": True}},
        {"type": "object", "properties": {"r": {"type": "string", "enum": [{"a": 1}]}}},
        {"type": "object", "properties": {"r": {"type": "string"}}, "x-ui": []},
        {"type": "object", "properties": {"f": {"type": "object", "x-attachment": True}},
         "x-ui": {"widgets": {"f": {"widget": "file", "max_kb": "abc"}}}},
        {"type": "object", "properties": {"r": {"type": "string"}}, "x-ui": {"order": ["r", "x"]}},
    ]
    for schema in shapes:
        resp = web.client.post("/admin/form-preview", json={"schema": schema},
                               headers={"X-CSRFToken": web.token})
        assert resp.status_code == 422, (schema, resp.status_code)
        body = resp.get_json()
        assert body["message"].startswith("表单不符合表单格式"), body
        assert body["errors"]["schema"], body
