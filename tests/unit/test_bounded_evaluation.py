"""Bounded evaluation of administrator text (issue 12 §5): each dangerous shape of the issue
is refused at 校验 or stopped at run time with "流程脚本运行超时/结果过大"; deadlines are
checked inside long calls (the calendar) and on every Python line of allowed functions."""

from __future__ import annotations

import time
from datetime import date
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.services.backoffice import definitions
from app.services.engine.clock import script_functions
from app.services.engine.clock import today_cst
from app.services.engine.workdays import WorkCalendar
from app.workflow import budget
from app.workflow.budget import LIMIT_MESSAGE
from app.workflow.budget import LimitExceeded
from app.workflow.errors import WorkflowError
from app.workflow.scripts import RestrictedEnvironment
from app.workflow.scripts import check_source

ROOT = Path(__file__).resolve().parents[2]
BASE = (ROOT / "bpmn" / "registration.bpmn").read_text("utf-8")
CONDITION = 'decision == "confirm"'  # on sequence flow f_inst_ok, out of gateway gw_institution
CAL = WorkCalendar()


def _env() -> RestrictedEnvironment:
    return RestrictedEnvironment(script_functions(CAL))


def _far(years: int) -> str:
    return (today_cst() + timedelta(days=366 * years)).isoformat()


# -- stopped at run time: the size guards ------------------------------------------------------

RUNTIME_SHAPES: dict[str, tuple[str, dict[str, Any]]] = {
    # "%0Nd" % 1 through a variable: the static check sees no string constant on the left
    "percent_format_via_variable": ('f = "%0" + str(n) + "d"\ny = f % 1', {"n": 10**8}),
    "round_negative_digits": ("y = round(1, -n)", {"n": 10**8}),
    "round_negative_digits_constant": ("y = round(1, -100000000)", {}),
    "sum_lists": ('a = "x" * 1000\na = [a] * 40\nb = sum([a, a], a)', {}),
    "sum_of_data_lists": ("b = sum(rows, [])", {"rows": [[0] * 1000] * 200}),
    "max_over_heavy_data": ("b = max(rows)", {"rows": [[0] * 1000] * 200}),
    "min_over_heavy_data": ("b = min(rows)", {"rows": [[0] * 1000] * 200}),
    "repeat_string_left": ('s = "x" * 1000\ny = s * n', {"n": 10**6}),
    "repeat_string_right": ('s = "x" * 1000\ny = n * s', {"n": 10**6}),
    "repeat_list_right": ("a = [1]\ny = n * a", {"n": 10**6}),
    "repeat_nested_list": ("a = [1] * 1000\nb = [a] * 1000", {}),
    "literal_of_heavy_values": ("a = [1] * 1000\na = a * 60\nb = [a, a]", {}),
    "f_string_of_large_parts": ('s = "x" * 1000\ns = s * 60\nt = f"{s}{s}"', {}),
    "compare_heavy_data": ("b = rows == rows2", {"rows": [[0] * 1000] * 200,
                                                 "rows2": [[0] * 1000] * 200}),
    "calendar_5000_years_via_variable": (
        "c = resume_clock(pause_clock(start_clock(today()), today()), far)", {"far": "7026-01-01"}),
    "calendar_clock_with_huge_pause": (
        'c = resume_clock({"started_on": today(), "paused_on": today(), "paused_days": n}, today())',
        {"n": 10**9}),
}


@pytest.mark.parametrize("shape", sorted(RUNTIME_SHAPES))
def test_each_dangerous_shape_is_stopped_at_run_time(shape: str) -> None:
    # issue 12 §5: every operator that can build a large value is guarded
    source, data = RUNTIME_SHAPES[shape]
    check_source(source, "exec")  # each piece is allowed: the run-time guard must stop it
    with pytest.raises(LimitExceeded, match=LIMIT_MESSAGE):
        _env().execute(source, dict(data))


def test_str_join_and_format_specs_are_refused_before_running() -> None:
    # issue 12 §5: str.join, f-strings with width (also through a variable), !r conversions
    for source in ('y = ",".join(items)', 'y = f"{x:>{w}}"', 'y = f"{x:09999999}"', 'y = f"{items!r}"',
                   "a[0:0] = a"):
        with pytest.raises(WorkflowError):
            check_source(source, "exec")
    with pytest.raises(WorkflowError, match=r"\.join"):
        _env().evaluate('",".join(items)', {"items": ["a"]})


def test_bounded_values_still_work() -> None:
    # the guards refuse only what is large: ordinary diagram text runs as before
    data: dict[str, Any] = {"n": 3, "rows": [[1, 2], [3]]}
    _env().execute('a = [0]\na = a * n\nb = sum(rows, [])\nc = max(rows)\nd = round(1234, -2)\n'
                   'e = f"{n}件"\nf = 7 % n\nclock = start_clock(today())\n'
                   'clock = pause_clock(clock, today())\nclock = resume_clock(clock, today())', data)
    assert data["a"] == [0, 0, 0] and data["b"] == [1, 2, 3] and data["c"] == [3]
    assert data["d"] == 1200 and data["e"] == "3件" and data["f"] == 1
    assert data["clock"]["paused_on"] is None  # 行政许可法 第四十二条: the clock counts on


# -- stopped at run time: the deadline, inside long calls ----------------------------------------

def test_the_calendar_checks_the_deadline_inside_its_loop() -> None:
    # issue 12 §5: a long calendar call stops at the deadline, not after it returns
    started = time.monotonic()
    with pytest.raises(LimitExceeded, match="超过时间限制"), budget.deadline(0.05):
        CAL.working_days_between(date(1, 1, 1), date(9999, 12, 31))
    print(f"calendar over 9,999 years stopped after {time.monotonic() - started:.3f} s")


def test_a_python_loop_in_an_allowed_function_stops_at_the_deadline() -> None:
    # issue 12 §5: the trace hook checks the deadline on every line of a called function
    def spin() -> int:
        n = 0
        while n >= 0:
            n += 1
        return n

    env = RestrictedEnvironment({"spin": spin})
    started = time.monotonic()
    with pytest.raises(LimitExceeded, match="超过时间限制"):
        env.evaluate("spin()", {})
    print(f"runaway loop stopped after {time.monotonic() - started:.3f} s "
          f"(limit {budget.EVAL_SECONDS} s)")


def test_the_evaluations_of_one_step_share_one_budget() -> None:
    # issue 12 §5: many slow conditions in one step cannot hold the writer lock for long
    env = RestrictedEnvironment({"pause": lambda: time.sleep(budget.EVAL_SECONDS * 0.6)})
    with budget.step(), pytest.raises(LimitExceeded):  # noqa: PT012 - the third one is refused
        env.evaluate("pause()", {})
        env.evaluate("pause()", {})
        env.evaluate("pause()", {})


# -- refused at 校验, on the element that holds the text -----------------------------------------

def _problems(old: str, new: str) -> list[tuple[str, str]]:
    assert old in BASE
    xml = BASE.replace(old, new, 1)
    defn, problems = definitions.check(xml, definitions.all_forms(), "registration")
    assert defn is None, "the diagram must be refused"
    return [(p.element_id, p.message) for p in problems]


def test_a_condition_over_5000_years_repeated_with_and_is_refused_on_its_sequence_flow() -> None:
    # issue 12 §5: the shape of the issue (calendar functions over 5,000 years, repeated with and)
    far = "resume_clock(pause_clock(start_clock(&quot;2026-01-01&quot;), &quot;2026-01-02&quot;), " \
          "&quot;7026-01-01&quot;)"
    problems = _problems(CONDITION, f'decision == "confirm" and {far} and {far} and {far}')
    assert any(eid == "f_inst_ok" and "超出今天前后 3 年" in m for eid, m in problems), problems
    assert any(eid == "f_inst_ok" and "调用函数 9 次" in m for eid, m in problems), problems
    assert all(eid != "gw_institution" for eid, _m in problems)  # not on its gateway


def test_nested_repetition_is_refused_at_upload() -> None:
    # issue 12 §5: repetition inside repetition has no size the check can tell
    problems = _problems("clock = start_clock(today())",
                         "x = [1] * 10 * 3&#10;clock = start_clock(today())")
    assert any(eid == "clock_start" and "嵌套的重复运算" in m for eid, m in problems), problems


def test_a_very_long_text_is_refused_at_upload() -> None:
    # issue 12 §5: compiling a text happens inside the step too, so its length is bounded
    problems = _problems("clock = start_clock(today())",
                         "b = 1&#10;" * 5000 + "clock = start_clock(today())")
    assert any(eid == "clock_start" and "脚本过长" in m for eid, m in problems), problems


def test_a_bounded_calendar_condition_passes() -> None:
    near = _far(1)
    xml = BASE.replace(CONDITION, f'decision == "confirm" and resume_clock(pause_clock('
                                  f'start_clock(today()), today()), &quot;{near}&quot;)["due_on"] != ""', 1)
    defn, problems = definitions.check(xml, definitions.all_forms(), "registration")
    assert defn is not None, problems
