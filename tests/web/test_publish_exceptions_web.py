"""The editor's 发布 with elements no test case reaches ticked as exceptions, and 运行此用例 on
the 测试用例 tab (issue 12 §1). 行政许可法 第六十一条 / R-15: the exceptions are audited."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from app.services.backoffice import case_runs
from tests.conftest import WebClient
from tests.factories import World
from tests.services.test_editor import _with_timer


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def sync(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, case_runs.SYNC_FLAG, True)


def _run(web: WebClient, url: str) -> Any:
    return web.client.post(url, json={}, headers={"X-CSRFToken": web.token})


def test_admin_ticks_the_unreached_elements_with_reasons_and_publishes(
        web: WebClient, web_world: World, sync: None) -> None:
    # issue 12 §1 "or an explicit, audited exception"; 行政许可法 第六十一条, R-15
    web.login("admin01")
    draft = web.client.get("/admin/processes/cancellation/draft.json").get_json()
    web.client.post("/admin/processes/cancellation/draft", headers={"X-CSRFToken": web.token}, json={
        "xml": _with_timer(draft["xml"]), "forms": draft["forms"], "revision": draft["revision"]})
    run = _run(web, "/admin/processes/cancellation/cases/run").get_json()
    unreached = run["results"]["uncovered"]
    assert "remind_confirm" in unreached and run["results"]["failed"] == 0
    page = web.get("/admin/processes/cancellation").get_data(as_text=True)
    assert "没有测试用例到达的元素" in page and 'name="reason-remind_confirm"' in page

    # a ticked element without its reason: refused next to the field, the input kept
    form: dict[str, Any] = {"note": "机构确认提醒", "exception": unreached,
                            **{f"reason-{e}": "提醒分支在上线后由定时器验证" for e in unreached}}
    resp = web.post("/admin/processes/cancellation/publish", {**form, "reason-remind_confirm": ""})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "请填写理由：为什么没有测试用例到达元素 remind_confirm" in html
    assert 'value="机构确认提醒"' in html and 'value="提醒分支在上线后由定时器验证"' in html
    assert 'value="remind_confirm_task" checked' in html

    done = web.post("/admin/processes/cancellation/publish", form, follow_redirects=True)
    text = _text(done.get_data(as_text=True))
    assert "已发布版本 2" in text
    assert "未到达元素的例外：" in text
    assert " remind_confirm （提醒分支在上线后由定时器验证）" in text


def test_run_this_case_answers_with_its_result_and_path(web: WebClient, web_world: World,
                                                        sync: None) -> None:
    # issue 12 §1: "run one or all", the path taken shown on the diagram
    web.login("admin01")
    page = web.get("/admin/processes/cancellation").get_data(as_text=True)
    assert "运行此用例" in page and "/cases/__KEY__/run" in page
    queued = _run(web, "/admin/processes/cancellation/cases/approved/run")
    assert queued.status_code == 202
    run = web.client.get("/admin/processes/cancellation/cases/run.json").get_json()
    assert run["state"] == "passed" and run["case_key"] == "approved" and run["total"] == 1
    assert "end_approved" in run["results"]["results"][0]["path"]
    missing = _run(web, "/admin/processes/cancellation/cases/nothing/run")
    assert missing.status_code == 404 and "没有这个测试用例" in missing.get_json()["message"]
    # one case never opens publishing: the whole set must run
    resp = web.post("/admin/processes/cancellation/publish", {"note": "x"}, follow_redirects=True)
    assert "请先运行测试用例" in resp.get_data(as_text=True)
