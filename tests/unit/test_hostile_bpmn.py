"""Hostile diagrams as an administrator could upload them: XML attacks, oversized files,
unsafe code in every place the engine evaluates text, CPU and memory bombs. All are refused
with a clear message (on the element where there is one) and nothing runs; what passes the
static checks still runs under a size guard and a per-step limit."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from app.services.backoffice import definitions
from app.workflow import Runtime
from app.workflow import WorkflowError
from app.workflow import load_definition
from app.workflow.engine import MAX_STEP_TASKS
from app.workflow.xmlsafe import MAX_BPMN_BYTES

ROOT = Path(__file__).resolve().parents[2]
BASE = (ROOT / "bpmn" / "cancellation.bpmn").read_text("utf-8")
# What a hostile script would create; one path per test process, so parallel runs of the
# suite (other worktrees, a second `make test`) never see each other's marker.
MARKER = Path(tempfile.gettempdir()) / f"medreg-hostile-marker-{os.getpid()}"
HEAD = '<?xml version="1.0" encoding="UTF-8"?>'


def _check(xml: str) -> list[tuple[str, str]]:
    defn, problems = definitions.check(xml, definitions.all_forms(), "cancellation")
    assert defn is None, "a hostile diagram must not be accepted"
    assert problems
    return [(p.element_id, p.message) for p in problems]


XML_ATTACKS = {
    "xxe_file": f'{HEAD}\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    "billion_laughs": f'{HEAD}\n<!DOCTYPE d [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
                      '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>',
    "external_dtd": f'{HEAD}\n<!DOCTYPE bpmn:definitions SYSTEM "http://127.0.0.1:9/evil.dtd">',
    "parameter_entity": f'{HEAD}\n<!DOCTYPE d [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>',
}


@pytest.mark.parametrize("kind", sorted(XML_ATTACKS))
def test_xml_attacks_are_refused_before_parsing_anything(kind: str) -> None:
    xml = BASE.replace(HEAD, XML_ATTACKS[kind], 1)
    messages = " ".join(m for _e, m in _check(xml))
    assert "DOCTYPE" in messages or "格式" in messages, messages


def test_xinclude_is_not_processed() -> None:
    xml = BASE.replace('<bpmn:message id="withdraw" name="withdraw" />',
                       '<bpmn:message id="withdraw" name="withdraw" />'
                       '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" '
                       'parse="text"/>', 1)
    assert "root:" not in " ".join(m for _e, m in _check(xml))


def test_oversized_files_are_refused() -> None:
    padding = "<!--" + "x" * MAX_BPMN_BYTES + "-->"
    assert "过大" in " ".join(m for _e, m in _check(BASE.replace("</bpmn:definitions>",
                                                                  padding + "</bpmn:definitions>")))


UNSAFE = {  # where the engine would evaluate it -> (original, replacement, element)
    "script": ("clock = start_clock(today())", f"clock = open('{MARKER}', 'w')", "clock_start"),
    "condition": ('decision == "confirm"', "(lambda: 1)()", "f_inst_ok"),  # on its sequence flow
    "timer": ('>clock["remind_at"]</bpmn:timeDate>', ">__import__('os').getcwd()</bpmn:timeDate>",
              "accept_reminder"),
    "service_parameter": ("value=\"'withdrawn'\"", "value=\"().__class__.__bases__\"", "close_withdrawn"),
    "f_string_bomb": ("clock = start_clock(today())", 'x = f"{1:>999999999}"', "clock_start"),
}


@pytest.mark.parametrize("place", sorted(UNSAFE))
def test_unsafe_code_is_refused_on_its_element(place: str) -> None:
    old, new, element = UNSAFE[place]
    assert old in BASE
    problems = _check(BASE.replace(old, new, 1))
    assert any(eid == element for eid, _m in problems), problems
    assert not MARKER.exists()


LOOP = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="loop" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="spin" name="自增"><bpmn:incoming>f1</bpmn:incoming><bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>n = n + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="again" default="f4"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing><bpmn:outgoing>f4</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="spin" />
    <bpmn:sequenceFlow id="f2" sourceRef="spin" targetRef="again" />
    <bpmn:sequenceFlow id="f3" sourceRef="again" targetRef="spin">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">n &gt; 0</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="again" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"""


def test_a_loop_without_waiting_is_refused_at_upload_and_stopped_at_run() -> None:
    defn, problems = definitions.check(LOOP, {}, "loop")
    assert defn is None
    assert any("不经过人工任务或等待事件的循环" in p.message and p.element_id in ("spin", "again")
               for p in problems), problems
    # even if such a diagram got past the upload, a step stops after MAX_STEP_TASKS tasks
    # or at the step's deadline, whichever comes first (issue 12 §5)
    with pytest.raises(WorkflowError, match="流程脚本运行超时/结果过大"):
        Runtime.start(load_definition(LOOP, "loop"), {"n": 1})
    assert MAX_STEP_TASKS <= 1000


BOMBS = {
    "power_tower": "a = 9 ** 4\n" + "a = a ** 4\n" * 12,
    "doubling": 's = "x" * 1000\n' + "s = s + s\n" * 40,
    "repeat_variable": "x = [1] * 1000\nx = x * 1000\nx = x * 1000",
    "augmented": 's = "x" * 1000\n' + "s += s\n" * 40,
    "text_of_list": 's = "x" * 1000\ns = s * 100\nx = [s] * 1000\ny = str(x)',
}


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_memory_bombs_built_from_allowed_pieces_stop_with_a_clear_error(kind: str) -> None:
    xml = BASE.replace("clock = start_clock(today())", BOMBS[kind].strip().replace("\n", "&#10;"), 1)
    defn, problems = definitions.check(xml, definitions.all_forms(), "cancellation")
    assert defn is not None, problems  # each piece is allowed; the size guard stops the whole
    from workflows_tests.test_business_types import CASES
    from workflows_tests.test_business_types import Driver

    driver = Driver("cancellation", "cancellation_apply")
    driver.definition = load_definition(xml, "cancellation")
    driver.start(CASES["cancellation"][2])
    with pytest.raises(WorkflowError, match="过大|不允许把列表"):
        driver.complete("institution_confirm", "institution",
                        {"decision": "confirm", "paper_held": True})
