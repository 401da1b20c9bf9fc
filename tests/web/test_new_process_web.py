"""新建流程 pages (issue 12 §3): the form offers lists only, keeps the input with the message next
to each field, opens the new process in the editor, and 按模板生成用例 adds the two cases."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import select

from app.extensions import db
from app.models import ConfiguredType
from tests.conftest import WebClient
from tests.factories import World


def test_the_form_refuses_with_messages_next_to_the_fields_and_keeps_the_input(
        web: WebClient, web_world: World) -> None:
    # refusal rules and operations are chosen from lists, nothing typed is run
    web.login("admin01")
    page = web.get("/admin/processes/new").get_data(as_text=True)
    for label in ("需有有效执业注册", "不得有同类申请在办", "需为执业医师", "remind_holders", "空白流程图"):
        assert label in page
    resp = web.post("/admin/processes/new", {"process_id": "reissue", "name": "补办副本",
                                             "starter": "physician", "template": "skeleton",
                                             "refusal_rules": ["needs_code"]})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "已有流程使用该编号，请换一个" in html and "请从列表中选择不予申请的条件" in html
    assert 'value="补办副本"' in html and 'value="reissue"' in html  # input kept
    assert web.get("/admin/processes/new").status_code == 200
    with web.client.application.app_context():
        assert db.session.scalar(select(func.count()).select_from(ConfiguredType)) == 0  # nothing kept
        db.session.remove()


def test_a_new_process_opens_in_the_editor_and_gets_its_template_cases(
        web: WebClient, web_world: World) -> None:
    web.login("admin01")
    resp = web.post("/admin/processes/new", {"process_id": "cert_copy", "name": "执业证书副本申领",
                                             "starter": "physician", "template": "skeleton",
                                             "refusal_rules": ["registration_current"]},
                    follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "流程编辑" in html and "执业证书副本申领" in html
    assert "按模板生成用例" in html
    listing = web.get("/admin/processes").get_data(as_text=True)
    assert "cert_copy" in listing and "未发布" in listing
    added = web.post("/admin/processes/cert_copy/cases/template", {}, follow_redirects=True)
    assert "已按模板添加测试用例：approved、refused" in added.get_data(as_text=True)
    cases = web.client.get("/admin/processes/cert_copy/cases.json").get_json()["cases"]
    assert sorted(cases) == ["approved", "refused"]
    diff = web.client.get("/admin/processes/cert_copy/diff.json").get_json()["lines"]
    assert any("（尚未发布）" in line for line in diff)
