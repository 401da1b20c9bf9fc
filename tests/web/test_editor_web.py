"""The editor's JSON endpoints answer in JSON, errors included, and keep the CSRF check."""

from __future__ import annotations

from typing import Any

from tests.conftest import WebClient
from tests.factories import World


def _json(web: WebClient, url: str, body: dict[str, Any], token: bool = True) -> Any:
    headers = {"X-CSRFToken": web.token} if token else {}
    return web.client.post(url, json=body, headers=headers)


def test_a_stale_save_is_refused_in_json_and_the_draft_kept(web: WebClient, web_world: World) -> None:
    web.login("admin01")
    web.get("/admin/processes/cancellation")
    draft = web.client.get("/admin/processes/cancellation/draft.json").get_json()
    ok = _json(web, "/admin/processes/cancellation/draft",
               {"xml": draft["xml"] + "<!-- 1 -->", "forms": draft["forms"], "revision": draft["revision"]})
    assert ok.status_code == 200 and ok.get_json()["revision"] == draft["revision"] + 1
    stale = _json(web, "/admin/processes/cancellation/draft",
                  {"xml": draft["xml"], "forms": draft["forms"], "revision": draft["revision"]})
    assert stale.status_code == 409
    assert "请刷新页面" in stale.get_json()["message"]
    assert web.client.get("/admin/processes/cancellation/draft.json").get_json()["xml"].endswith("<!-- 1 -->")


def test_saving_without_the_csrf_token_is_refused(web: WebClient, web_world: World) -> None:
    web.login("admin01")
    web.get("/admin/processes/cancellation")
    draft = web.client.get("/admin/processes/cancellation/draft.json").get_json()
    resp = _json(web, "/admin/processes/cancellation/draft",
                 {"xml": "<x/>", "forms": {}, "revision": draft["revision"]}, token=False)
    assert resp.status_code == 400
    assert web.client.get("/admin/processes/cancellation/draft.json").get_json()["xml"] == draft["xml"]


def test_bad_input_gets_a_clear_message(web: WebClient, web_world: World) -> None:
    web.login("admin01")
    web.get("/admin/processes/cancellation")
    draft = web.client.get("/admin/processes/cancellation/draft.json").get_json()
    bad_forms = _json(web, "/admin/processes/cancellation/draft",
                      {"xml": draft["xml"], "forms": {"a": [1]}, "revision": draft["revision"]})
    assert bad_forms.status_code == 422 and "JSON 对象" in bad_forms.get_json()["errors"]["forms"]
    preview = _json(web, "/admin/form-preview", {"schema": {"type": "object", "properties": {"a": {"type": 7}}}})
    assert preview.status_code == 422 and "表单不符合表单格式" in preview.get_json()["message"]
    good = _json(web, "/admin/form-preview", {"schema": {"type": "object", "properties": {
        "reason": {"type": "string", "title": "注销原因"}}}})
    assert "注销原因" in good.get_json()["html"]


def test_publishing_an_unchecked_draft_says_why_on_the_editor(web: WebClient, web_world: World) -> None:
    web.login("admin01")
    web.get("/admin/processes/cancellation")
    resp = web.post("/admin/processes/cancellation/publish", {"note": "x"}, follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "请先运行场景测试" in html and "流程编辑" in html
