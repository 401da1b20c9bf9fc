"""Publishing with an explicit, audited exception for elements no test case reaches, running
one case alone (运行此用例), and ``flask processes publish`` (issue 12 §1, §7).

No rule row of DOMAIN.md is about process versions; the exceptions are audited as every step
is: 行政许可法 第六十一条, R-15."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app import resources
from app.errors import DomainError
from app.errors import InvalidInput
from app.errors import NotFound
from app.extensions import db
from app.models import AuditEvent
from app.models import CaseRun
from app.models import ProcessDefinition
from app.models import ProcessDraft
from app.services.backoffice import case_runs
from app.services.backoffice import editor
from tests.factories import World
from tests.factories import user
from tests.services.test_editor import _with_timer

TIMER_ELEMENTS = {"remind_confirm", "remind_confirm_task"}


def _admin(world: World) -> Any:
    return user(world.admin_id)


@pytest.fixture
def sync(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, case_runs.SYNC_FLAG, True)


def _timer_draft_run(world: World) -> list[str]:
    """A draft with a reminder no case reaches, its cases run: the unreached elements."""
    d = editor.open_draft(_admin(world), "cancellation")
    editor.save_draft(_admin(world), "cancellation", _with_timer(d.xml), d.forms, d.revision)
    run = case_runs.start(_admin(world), "cancellation")
    assert run.state == "failed" and run.results is not None and run.results["failed"] == 0
    return list(run.results["uncovered"])


def _version(n: int) -> ProcessDefinition | None:
    return db.session.scalar(select(ProcessDefinition).where(
        ProcessDefinition.process_id == "cancellation", ProcessDefinition.version == n))


def test_unreached_elements_are_published_as_exceptions_with_their_reasons(world: World,
                                                                          sync: None) -> None:
    # issue 12 §1: "every flow node reached (or an explicit, audited exception)"
    # 行政许可法 第六十一条 / R-15: the exception and its reason are in the audit log
    unreached = _timer_draft_run(world)
    assert TIMER_ELEMENTS <= set(unreached)
    assert editor.open_draft(_admin(world), "cancellation").unreached == unreached
    reasons = {e: f"提醒分支由定时器测试覆盖（{e}）" for e in unreached}
    assert editor.publish(_admin(world), "cancellation", "机构确认提醒", reasons) == 2
    v2 = _version(2)
    assert v2 is not None and v2.coverage_exceptions == reasons
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "process.published")
                              .order_by(AuditEvent.id.desc()).limit(1))
    assert event is not None and event.actor_id == world.admin_id
    assert event.detail["coverage_exceptions"] == reasons
    shown = editor.versions("cancellation")[0]
    assert shown.version == 2 and shown.current and shown.exceptions == reasons


def test_an_exception_needs_a_reason_an_unreached_element_and_all_of_them(world: World,
                                                                          sync: None) -> None:
    # issue 12 §1; R-15: nothing is published without the reason being recorded
    unreached = _timer_draft_run(world)
    everything = {e: "定时器分支" for e in unreached}
    with pytest.raises(InvalidInput) as no_reason:
        editor.publish(_admin(world), "cancellation", "", {**everything, "remind_confirm": "  "})
    assert "请填写理由" in no_reason.value.errors["reason-remind_confirm"]
    with pytest.raises(InvalidInput) as reached:
        editor.publish(_admin(world), "cancellation", "", {**everything, "start": "不需要"})
    assert "已有测试用例到达" in reached.value.errors["exception-start"]
    with pytest.raises(DomainError, match="以下元素没有测试用例到达：.*remind_confirm_task"):
        editor.publish(_admin(world), "cancellation", "", {"remind_confirm": "定时器分支"})
    assert _version(2) is None and editor.draft_of("cancellation") is not None


def test_a_failing_case_cannot_be_excepted(world: World, sync: None) -> None:
    # issue 12 §1: the exception is for coverage only; every case must be green
    d = editor.open_draft(_admin(world), "cancellation")
    broken = {**d.cases[0].content, "expect": {"end": "no_such_end"}}
    editor.save_case(_admin(world), "cancellation", d.cases[0].key, broken)
    run = case_runs.start(_admin(world), "cancellation")
    assert run.state == "failed" and run.results is not None and run.results["failed"] == 1
    with pytest.raises(DomainError, match="请先运行测试用例"):
        editor.publish(_admin(world), "cancellation", "", {"start": "不需要"})
    assert editor.open_draft(_admin(world), "cancellation").unreached == []


def test_running_one_case_shows_its_result_and_path_and_never_opens_publishing(
        world: World, sync: None) -> None:
    # issue 12 §1: 运行此用例 on the 测试用例 tab
    editor.open_draft(_admin(world), "cancellation")
    run = case_runs.start(_admin(world), "cancellation", "approved")
    assert run.state == "passed" and run.done == run.total == 1 and run.case_key == "approved"
    assert run.message.startswith("用例 approved 通过")
    assert run.results is not None and run.results["uncovered"] == []
    (result,) = run.results["results"]
    assert result["key"] == "approved" and "institution_confirm" in result["path"]
    assert "end_approved" in result["path"]
    assert case_runs.status("cancellation") == run  # the page polls it like the others
    with pytest.raises(DomainError, match="请先运行测试用例"):
        editor.publish(_admin(world), "cancellation", "")
    with pytest.raises(NotFound, match="没有这个测试用例"):
        case_runs.start(_admin(world), "cancellation", "no_such_case")
    row = db.session.scalar(select(CaseRun).order_by(CaseRun.id.desc()).limit(1))
    assert row is not None and row.case_key == "approved"


def test_a_failing_single_case_says_what_differs(world: World, sync: None) -> None:
    d = editor.open_draft(_admin(world), "cancellation")
    case = next(c for c in d.cases if c.key == "approved")
    editor.save_case(_admin(world), "cancellation", "approved",
                     {**case.content, "expect": {**case.content["expect"], "end": "end_rejected"}})
    run = case_runs.start(_admin(world), "cancellation", "approved")
    assert run.state == "failed"
    assert run.message.startswith("用例 approved 失败：应结束于 end_rejected")


# -- flask processes publish ------------------------------------------------------------------


def _newest_with_timer() -> None:
    """Version 50 of cancellation: version 1 with a reminder no case reaches (version 1 is
    reference data the tests share, so it stays as it is)."""
    v1 = _version(1)
    assert v1 is not None
    db.session.add(ProcessDefinition(
        process_id="cancellation", version=50, name=v1.name, forms=dict(v1.forms),
        spec_json=v1.spec_json, sha256="0" * 64, bpmn_xml=_with_timer(v1.bpmn_xml),
        published_at=v1.published_at, author="test"))
    db.session.commit()


def _cli(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["processes", "publish", *args])


def test_the_command_runs_the_cases_and_publishes_through_the_editors_gate(world: World,
                                                                          app: Flask) -> None:
    # issue 12 §7: "a scripted publish"; R-15: audited as the editor's 发布
    done = _cli(app, "cancellation", "--author", "admin01")
    assert done.exit_code == 0, done.output
    assert "cancellation：10 个测试用例通过，已发布版本 2" in done.output
    v2 = _version(2)
    assert v2 is not None and v2.author == "admin01" and v2.coverage_exceptions is None
    assert v2.bpmn_xml == _version(1).bpmn_xml  # type: ignore[union-attr]
    actions = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.actor_id == world.admin_id)).all()
    assert {"process.cases_started", "process.cases", "process.published"} <= set(actions)
    assert editor.draft_of("cancellation") is None
    assert db.session.scalar(select(CaseRun.state).order_by(CaseRun.id.desc()).limit(1)) == "passed"


def test_the_command_says_why_it_cannot_publish_and_leaves_no_draft(world: World,
                                                                   app: Flask) -> None:
    # issue 12 §7: exit 1 with the reasons in Chinese
    _newest_with_timer()  # the newest version has a branch no case reaches
    refused = _cli(app, "cancellation")
    assert refused.exit_code == 1
    assert "cancellation：不能发布" in refused.output
    assert "以下元素没有测试用例到达" in refused.output and "remind_confirm_task" in refused.output
    assert editor.draft_of("cancellation") is None and _version(51) is None
    unknown = _cli(app, "cancellation", "--author", "nobody")
    assert unknown.exit_code == 1 and "没有系统管理员 nobody" in unknown.output
    # the shipped file instead of the newest version
    files = _cli(app, "cancellation", "--from-files", "--note", "按安装包发布")
    assert files.exit_code == 0, files.output
    v2 = _version(51)
    shipped = (resources.bpmn_dir() / "cancellation.bpmn").read_text(encoding="utf-8")
    assert v2 is not None and v2.bpmn_xml == shipped and v2.note == "按安装包发布"


def test_the_command_takes_exceptions_with_reasons(world: World, app: Flask) -> None:
    # issue 12 §1 / R-15: the exception of the command is the editor's, audited
    _newest_with_timer()
    uncovered = ["remind_confirm", "remind_confirm_task"]
    partial = _cli(app, "cancellation", *[f"--exception={e}=定时器分支" for e in uncovered])
    assert partial.exit_code == 1  # the two flows to and from the reminder are unreached too
    missing = [line for line in partial.output.splitlines() if "以下元素没有测试用例到达" in line]
    assert missing, partial.output
    rest = missing[0].split("：", 1)[1].split("；")[0].split("、")
    every = [*uncovered, *rest]
    done = _cli(app, "cancellation", *[f"--exception={e}=定时器分支" for e in every])
    assert done.exit_code == 0, done.output
    v2 = _version(51)
    assert v2 is not None and set(v2.coverage_exceptions or {}) == set(every)


def test_the_command_leaves_an_administrators_draft_alone(world: World, app: Flask) -> None:
    editor.open_draft(_admin(world), "cancellation")
    busy = _cli(app, "cancellation")
    assert busy.exit_code == 1 and "该流程有草稿正在编辑（admin01" in busy.output
    assert db.session.scalar(select(ProcessDraft.updated_by)) == "admin01"
    unknown = _cli(app, "no_such_process")
    assert unknown.exit_code == 1 and "该业务流程尚未发布" in unknown.output
