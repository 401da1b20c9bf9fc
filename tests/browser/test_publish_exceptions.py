"""In the browser editor: 运行此用例 runs one case and marks its path; after a run of every
case, the 发布 section offers the unreached elements as exceptions with a reason, and the
version lists them (issue 12 §1; 行政许可法 第六十一条 / R-15: the exceptions are audited)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.browser.helpers import sign_in
from tests.factories import World
from tests.services.test_editor import _with_timer

pytestmark = pytest.mark.browser
NewPage = Callable[[], Page]


def test_admin_runs_one_case_then_publishes_with_exceptions(web_world: World,
                                                            new_page: NewPage) -> None:
    admin = new_page()
    sign_in(admin, "admin01")
    admin.goto("/admin/processes/cancellation")
    expect(admin.locator("#editor")).to_have_attribute("data-ready", "true")

    admin.get_by_role("tab", name="测试用例").click()
    admin.select_option("#case-pick", "approved")
    admin.get_by_role("button", name="运行此用例").click()
    expect(admin.locator("#scenario-result")).to_contain_text("用例 approved 通过", timeout=60_000)
    expect(admin.locator("g[data-element-id=end_approved].case-path")).to_have_count(1)

    # a reminder no case reaches, saved as the administrator's draft
    csrf = admin.locator("#editor").get_attribute("data-csrf") or ""
    draft = admin.request.get("/admin/processes/cancellation/draft.json").json()
    saved = admin.request.post("/admin/processes/cancellation/draft", headers={"X-CSRFToken": csrf},
                               data={"xml": _with_timer(draft["xml"]), "forms": draft["forms"],
                                     "revision": draft["revision"]})
    assert saved.ok, saved.text()
    admin.reload()
    expect(admin.locator("#editor")).to_have_attribute("data-ready", "true")
    admin.get_by_role("button", name="运行测试用例").click()
    expect(admin.locator("#scenario-result")).to_contain_text("10 个用例全部通过", timeout=90_000)
    rows = admin.locator("#coverage-exceptions input[name=exception]")
    expect(rows.first).to_be_visible()
    for element in rows.evaluate_all("els => els.map(e => e.value)"):
        admin.check(f"input[name=exception][value={element}]")
        admin.fill(f"[id='reason-{element}']", "提醒分支上线后验证")
    admin.fill("#note", "机构确认提醒")
    admin.get_by_role("button", name="发布新版本").click()
    expect(admin.locator("main")).to_contain_text("已发布版本 2")
    expect(admin.locator("#versions tr", has_text="版本 2")).to_contain_text(
        "remind_confirm（提醒分支上线后验证）")
