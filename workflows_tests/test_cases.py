"""Every test case of every process (workflows_tests/<process>/<case>.json) through the
product's case runner, and the runner's own behaviour: the first difference in Chinese,
the coverage, virtual timers, and a draft's exact content."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from app import resources
from app.services.backoffice import cases
from app.services.backoffice import definitions
from app.workflow.cases import shape

ALL = [(pid, case.key) for pid in cases.process_ids_with_cases() for case in cases.load(pid)]


def _xml(pid: str) -> str:
    return (resources.bpmn_dir() / f"{pid}.bpmn").read_text(encoding="utf-8")


def _case(pid: str, key: str) -> cases.Case:
    return next(c for c in cases.load(pid) if c.key == key)


def _run(pid: str, *items: cases.Case, xml: str | None = None) -> cases.Report:
    return cases.run(pid, xml or _xml(pid), definitions.all_forms(), list(items))


def _edited(case: cases.Case, **changes: Any) -> cases.Case:
    content = copy.deepcopy(case.content)
    for key, value in changes.items():
        content[key] = value
    return cases.Case(case.key, content)


@pytest.mark.parametrize(("pid", "key"), ALL, ids=[f"{p}/{k}" for p, k in ALL])
def test_case(pid: str, key: str) -> None:
    # The rules each case shows are named in its "rules" (e.g. 行政许可法 第三十二条, R-5).
    result = _run(pid, _case(pid, key)).results[0]
    assert result.ok, result.detail
    assert result.path[0] == "start"


def test_every_process_has_cases_that_reach_every_flow_node_and_flow() -> None:
    diagrams = sorted(p.stem for p in resources.bpmn_dir().glob("*.bpmn"))
    assert cases.process_ids_with_cases() == diagrams
    for pid in diagrams:
        report = cases.run_files(pid)
        assert report.failed == 0, pid
        assert report.uncovered == [], pid
        assert report.ok


def test_every_case_file_has_the_documented_shape() -> None:
    for pid in cases.process_ids_with_cases():
        for case in cases.load(pid):
            assert cases.case_problems(case.content) == [], f"{pid}/{case.key}"


def test_a_case_with_an_unknown_key_is_refused_before_it_runs() -> None:
    bad = _edited(_case("registration", "approved"), expected={"end": "end_approved"})
    result = _run("registration", bad).results[0]
    assert not result.ok
    assert result.detail.startswith("用例格式不正确")
    assert result.path == []


def test_a_wrong_end_is_reported_as_the_first_difference_in_chinese() -> None:
    # 行政许可法 第三十八条: a refusal is a decision of its own, not an approval
    case = _case("registration", "refused")
    wrong = _edited(case, expect={**case.content["expect"], "end": "end_approved"})
    result = _run("registration", wrong).results[0]
    assert not result.ok
    assert result.detail == "应结束于 end_approved，实际结束于 end_refused"


def test_a_wrong_business_status_and_a_missing_service_call_are_reported() -> None:
    case = _case("registration", "approved")
    status = _edited(case, expect={**case.content["expect"], "business_status": "不予受理"})
    assert _run("registration", status).results[0].detail == "业务状态应为“不予受理”，实际为“已批准”"
    order = _edited(case, expect={"called": ["close_application", "apply_registration"]})
    detail = _run("registration", order).results[0].detail
    assert detail.startswith("应调用服务 apply_registration（按所列顺序）")
    extra = _edited(case, expect={"not_called": ["apply_registration"]})
    assert _run("registration", extra).results[0].detail == "不应调用服务 apply_registration，但调用了"


def test_a_step_on_a_task_that_is_not_ready_names_the_step_and_the_ready_tasks() -> None:
    case = _case("registration", "approved")
    steps = copy.deepcopy(case.content["steps"])
    steps.insert(1, {"task": "commission_decide", "lane": "commission", "data": {"decision": "approve"}})
    result = _run("registration", _edited(case, steps=steps)).results[0]
    assert result.detail == "第 2 步：环节 commission_decide 不是待办（待办：commission_accept）"
    lane = copy.deepcopy(case.content["steps"])
    lane[0]["lane"] = "commission"
    result = _run("registration", _edited(case, steps=lane)).results[0]
    assert result.detail == "第 1 步：环节 institution_confirm 属于泳道 institution，不是 commission"


def test_data_the_form_refuses_fails_the_case_with_the_field() -> None:
    # the institution must hold the signed 申请审核表 to confirm
    case = _case("registration", "approved")
    steps = copy.deepcopy(case.content["steps"])
    steps[0]["data"] = {"decision": "confirm"}
    result = _run("registration", _edited(case, steps=steps)).results[0]
    assert not result.ok
    assert result.detail.startswith("第 1 步：表单 institution_confirm_paper 不接受所填数据（paper_held：")


def test_timers_fire_on_the_case_clock_not_on_real_time() -> None:
    # 行政许可法 第四十二条: reminder at the 15th working day, overdue after the 20th
    case = _case("registration", "timers_accept")
    early = _edited(case, steps=[*case.content["steps"][:-2], {"advance_days": 14}],
                    expect={"ready": ["commission_accept"], "not_called": ["statutory_reminder"]})
    assert _run("registration", early).results[0].ok
    late = _edited(case, steps=[*case.content["steps"][:-2], {"advance_days": 16}],
                   expect={"ready": ["commission_accept"], "called": ["statutory_reminder"],
                           "not_called": ["statutory_overdue"]})
    result = _run("registration", late).results[0]
    assert result.ok, result.detail
    assert "accept_reminder" in result.path and "accept_overdue" not in result.path
    gone = _edited(case, steps=[{"timer": "decide_overdue"}])
    assert _run("registration", gone).results[0].detail.startswith(
        "第 1 步：定时器 decide_overdue 没有在等待")


def test_a_draft_s_exact_content_is_run_and_its_unreached_elements_listed() -> None:
    xml = _xml("registration").replace('"end_refused"', '"end_denied"').replace(
        ">end_refused<", ">end_denied<")
    assert "end_denied" in shape(xml, "registration").end_events
    report = _run("registration", _case("registration", "refused"), xml=xml)
    assert report.results[0].detail == "应结束于 end_refused，实际结束于 end_denied"
    assert not report.ok
    assert "end_withdrawn" in report.uncovered and "f_start" not in report.uncovered


def test_a_diagram_that_does_not_parse_fails_every_case() -> None:
    report = _run("registration", _case("registration", "approved"), xml="<nope/>")
    assert not report.ok and report.results[0].detail


def test_case_files_are_json_in_the_process_folder(tmp_path: Path) -> None:
    (tmp_path / "photo").mkdir()
    (tmp_path / "photo" / "broken.json").write_text("{", encoding="utf-8")
    (tmp_path / "photo" / "ok.json").write_text(
        json.dumps(_case("photo", "approved").content, ensure_ascii=False), encoding="utf-8")
    loaded = cases.load("photo", tmp_path)
    assert [c.key for c in loaded] == ["broken", "ok"]
    report = cases.run("photo", _xml("photo"), definitions.all_forms(), loaded)
    assert [r.ok for r in report.results] == [False, True]
    assert report.results[0].detail.startswith("用例格式不正确")


def test_a_run_stops_at_its_time_limit_and_says_so() -> None:
    # issue 12 §2: a hard time limit per run
    found = cases.load("photo")
    report = cases.run("photo", _xml("photo"), definitions.all_forms(), found, seconds=0)
    assert [r.ok for r in report.results] == [False] * len(found)
    assert {r.detail for r in report.results} == {"运行超过时限（0 秒），未运行"}
    assert not report.ok
