"""Runs of the test cases off the request (issue 12 §1, §2): the job and its states, one run
per draft, the hard limit, the real worker thread, the publish gate on coverage, and
``flask processes test``."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict
from app.errors import DomainError
from app.errors import InvalidInput
from app.extensions import db
from app.models import AuditEvent
from app.models import CaseRun
from app.models import ProcessDefinition
from app.models.base import utcnow
from app.services.backoffice import case_runs
from app.services.backoffice import editor
from tests.factories import World
from tests.factories import user
from tests.services.test_editor import TIMER_CASE
from tests.services.test_editor import _with_timer


def _admin(world: World) -> Any:
    return user(world.admin_id)


def _save(world: World, xml: str) -> None:
    d = editor.open_draft(_admin(world), "cancellation")
    editor.save_draft(_admin(world), "cancellation", xml, d.forms, d.revision)


@pytest.fixture
def sync(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, case_runs.SYNC_FLAG, True)


def test_an_element_no_case_reaches_keeps_the_draft_from_being_published(world: World,
                                                                         sync: None) -> None:
    xml = editor.open_draft(_admin(world), "cancellation").xml
    _save(world, _with_timer(xml))
    run = case_runs.start(_admin(world), "cancellation")
    assert run.state == "failed"
    assert run.message == "10 个用例全部通过；5 个元素没有用例到达"  # 3 flow nodes, 2 flows
    assert run.results is not None and run.results["failed"] == 0
    assert {"remind_confirm", "remind_confirm_task"} <= set(run.results["uncovered"])
    with pytest.raises(DomainError, match="以下元素没有测试用例到达：.*remind_confirm"):
        editor.publish(_admin(world), "cancellation", "")

    editor.save_case(_admin(world), "cancellation", "remind_confirm", TIMER_CASE)
    assert case_runs.status("cancellation").current is False  # the cases changed: run again
    run = case_runs.start(_admin(world), "cancellation")
    assert run.state == "passed" and run.done == run.total == 11
    assert editor.publish(_admin(world), "cancellation", "提醒") == 2
    v2 = db.session.scalar(select(ProcessDefinition).where(
        ProcessDefinition.process_id == "cancellation", ProcessDefinition.version == 2))
    assert v2 is not None and v2.cases == {"remind_confirm": TIMER_CASE}
    actions = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.action.like("process.case%"))).all()
    assert actions.count("process.cases_started") == 2 and actions.count("process.cases") == 2


def test_one_run_per_draft_at_a_time(world: World, sync: None) -> None:
    editor.open_draft(_admin(world), "cancellation")
    db.session.add(CaseRun(process_id="cancellation", content_sha="x" * 64, state="running",
                           total=10, active_key="cancellation", started_by="admin01"))
    db.session.commit()
    with pytest.raises(Conflict, match="正在运行"):
        case_runs.start(_admin(world), "cancellation")
    assert db.session.scalar(select(CaseRun.id).where(CaseRun.state == "queued")) is None
    # the database itself refuses a second active run of the same draft
    db.session.add(CaseRun(process_id="cancellation", content_sha="y" * 64, state="queued",
                           total=10, active_key="cancellation", started_by="admin02"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_a_run_past_the_limit_is_marked_failed_and_the_draft_freed(world: World, sync: None) -> None:
    editor.open_draft(_admin(world), "cancellation")
    db.session.add(CaseRun(process_id="cancellation", content_sha="x" * 64, state="running",
                           total=10, done=3, active_key="cancellation", started_by="admin01",
                           created_at=utcnow() - case_runs.STALE_AFTER - timedelta(seconds=1)))
    db.session.commit()
    stale = case_runs.status("cancellation")
    assert stale is not None and stale.state == "failed" and stale.finished
    assert stale.message == "运行超过时限或被中断，请重新运行"
    assert case_runs.start(_admin(world), "cancellation").state == "passed"


def test_a_draft_that_fails_its_checks_is_not_run(world: World, sync: None) -> None:
    _save(world, "<bpmn:definitions 未完成")
    with pytest.raises(DomainError, match="草稿未通过校验"):
        case_runs.start(_admin(world), "cancellation")
    assert case_runs.status("cancellation") is None


def test_the_run_works_in_a_thread_of_its_own_and_the_request_returns_at_once(
        world: World, app: Flask) -> None:
    editor.open_draft(_admin(world), "cancellation")
    queued = case_runs.start(_admin(world), "cancellation")
    assert queued.state == "queued" and queued.total == 10 and not queued.finished
    deadline = time.monotonic() + 60
    run = case_runs.status("cancellation")
    while run is not None and not run.finished and time.monotonic() < deadline:
        time.sleep(0.2)
        db.session.remove()
        run = case_runs.status("cancellation")
    assert run is not None and run.state == "passed", run
    assert run.done == 10 and run.current
    assert run.results is not None and run.results["uncovered"] == []
    assert editor.open_draft(_admin(world), "cancellation").cases_passed


def test_a_case_is_checked_before_it_is_kept(world: World) -> None:
    editor.open_draft(_admin(world), "cancellation")
    with pytest.raises(InvalidInput) as bad:
        editor.save_case(_admin(world), "cancellation", "x", {"name": "无结束", "start": {}})
    assert "expect" in bad.value.errors["content"]
    with pytest.raises(InvalidInput):
        editor.save_case(_admin(world), "cancellation", "../x", TIMER_CASE)


def test_processes_test_prints_a_summary_and_exits_1_on_a_failure(world: World, app: Flask) -> None:
    # issue 12 §1: flask --app app processes test [PROCESS_ID]
    ok = app.test_cli_runner().invoke(args=["processes", "test", "registration"])
    assert ok.exit_code == 0, ok.output
    assert "registration：10 个用例通过，0 个失败" in ok.output and "测试用例全部通过" in ok.output
    missing = app.test_cli_runner().invoke(args=["processes", "test", "no_such_process"])
    assert missing.exit_code == 1 and "该业务流程尚未发布" in missing.output
    db.session.add(ProcessDefinition(
        process_id="photo", version=99, name="照片更新", forms={}, spec_json="{}", sha256="0" * 64,
        bpmn_xml=_broken_photo(), published_at=utcnow(), author="test"))
    db.session.commit()
    failed = app.test_cli_runner().invoke(args=["processes", "test", "photo"])
    assert failed.exit_code == 1
    assert "photo：2 个用例通过，1 个失败" in failed.output and "✗ approved" in failed.output


def _broken_photo() -> str:
    xml = db.session.scalar(select(ProcessDefinition.bpmn_xml).where(
        ProcessDefinition.process_id == "photo"))
    assert xml is not None and 'decision == "approve"' in xml
    return xml.replace('decision == "approve"', 'decision == "approved"')
