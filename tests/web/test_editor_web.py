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
    assert resp.status_code == 200 and "请先运行测试用例" in html and "流程编辑" in html


def test_running_the_cases_is_a_job_the_page_polls_then_publish(web: WebClient, web_world: World,
                                                                app: Any, monkeypatch: Any) -> None:
    # issue 12 §2: 运行测试用例 answers at once (202) and the page polls its progress
    from app.services.backoffice import case_runs

    monkeypatch.setitem(app.config, case_runs.SYNC_FLAG, True)
    web.login("admin01")
    page = web.get("/admin/processes/cancellation").get_data(as_text=True)
    assert "运行测试用例" in page and "cases/run.json" in page
    assert web.client.get("/admin/processes/cancellation/cases/run.json").get_json() == {
        "state": "none", "finished": True}
    queued = _json(web, "/admin/processes/cancellation/cases/run", {})
    assert queued.status_code == 202
    run = web.client.get("/admin/processes/cancellation/cases/run.json",
                         headers={"Accept": "application/json"}).get_json()
    assert run["state"] == "passed" and run["done"] == run["total"] == 10 and run["current"]
    assert "测试用例全部通过（10 个）" in run["message"]
    assert web.get("/admin/processes/cancellation").get_data(as_text=True).count("已通过全部测试用例") == 1
    resp = web.post("/admin/processes/cancellation/publish", {"note": "x"}, follow_redirects=True)
    assert "已发布版本 2" in resp.get_data(as_text=True)


def test_a_bad_case_is_refused_next_to_its_field(web: WebClient, web_world: World) -> None:
    web.login("admin01")
    web.get("/admin/processes/cancellation")
    bad = _json(web, "/admin/processes/cancellation/cases", {"key": "x", "content": {"name": "无结束"}})
    assert bad.status_code == 422
    assert "expect" in bad.get_json()["errors"]["content"]
    key = _json(web, "/admin/processes/cancellation/cases", {"key": "A B", "content": {}})
    assert key.status_code == 422 and "小写字母" in key.get_json()["errors"]["key"]


def test_the_cases_tab_lists_the_cases_and_the_fields_of_each_task(web: WebClient, web_world: World) -> None:
    web.login("admin01")
    page = web.get("/admin/processes/cancellation").get_data(as_text=True)
    assert 'data-tab="pane-cases"' in page and "保存用例" in page
    sheet = web.client.get("/admin/processes/cancellation/cases.json").get_json()
    assert sheet["cases"]["approved"]["expect"]["end"] == "end_approved"
    tasks = {t["id"]: t for t in sheet["tasks"]}
    assert tasks["start"]["form"] == "cancellation_apply" and "reason" in tasks["start"]["required"]
    assert tasks["institution_confirm"]["lane"] == "institution"
    assert "paper_held" in tasks["institution_confirm"]["fields"]
    case = {**sheet["cases"]["approved"], "name": "受理并准予（改）"}
    saved = _json(web, "/admin/processes/cancellation/cases", {"key": "approved", "content": case})
    assert saved.status_code == 200 and "approved" in saved.get_json()["cases"]
    again = web.client.get("/admin/processes/cancellation/cases.json").get_json()
    assert again["cases"]["approved"]["name"] == "受理并准予（改）"
