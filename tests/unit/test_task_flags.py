"""Task flags live in the diagrams (issue 11 §1): 批量确认 (medreg:bulk), 医师可撤回
(medreg:withdrawable) and the fields a correction keeps (medreg:locked) are properties of the
BPMN user task; `flask bpmn validate` refuses unknown names and bad values in Chinese."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

from app.workflow import TaskFlags
from app.workflow import load_definition

ROOT = Path(__file__).resolve().parents[2]
BASE = (ROOT / "bpmn" / "registration.bpmn").read_text("utf-8")
BULK = '<spiffworkflow:property name="medreg:bulk" value="true" />'


def test_the_shipped_diagram_says_what_each_task_allows() -> None:
    tasks = load_definition(BASE, "registration").user_tasks
    assert tasks["institution_confirm"].flags == TaskFlags(bulk=True, withdrawable=True)
    # guide-conformance row 10: 撤回申请 until the institution confirms; a correction keeps
    # the institution applied to (issue 11 §1: the diagram says so, not a list in the code)
    assert tasks["physician_apply"].flags == TaskFlags(withdrawable=True,
                                                       locked=frozenset({"institution_id"}))
    assert tasks["physician_supplement"].flags == TaskFlags(locked=frozenset({"institution_id"}))
    assert tasks["commission_decide"].flags == TaskFlags()  # a decision is never bulk


def test_a_version_from_before_the_flags_keeps_what_the_code_said() -> None:
    old = re.sub(r'\s*<spiffworkflow:property name="medreg:[^"]+" value="[^"]*" />', "", BASE)
    assert "medreg:" not in old
    tasks = load_definition(old, "registration").user_tasks
    assert tasks["institution_confirm"].flags.bulk and tasks["institution_confirm"].flags.withdrawable
    assert tasks["physician_apply"].flags.withdrawable
    assert "institution_id" in tasks["physician_apply"].flags.locked
    assert tasks["commission_accept"].flags == TaskFlags()


def _variant(kind: str) -> str:
    if kind == "unknown_name":
        return BASE.replace(BULK, '<spiffworkflow:property name="medreg:bulck" value="true" />')
    if kind == "bad_boolean":
        return BASE.replace(BULK, '<spiffworkflow:property name="medreg:bulk" value="是" />')
    if kind == "locked_not_in_form":
        return BASE.replace('name="medreg:locked" value="institution_id"',
                            'name="medreg:locked" value="institution_id,salary"', 1)
    if kind == "locked_not_a_name":
        return BASE.replace('name="medreg:locked" value="institution_id"',
                            'name="medreg:locked" value="institution id"', 1)
    if kind == "withdrawable_without_event":
        return BASE.replace('attachedToRef="institution_confirm">\n      <bpmn:outgoing>f_wd2',
                            'attachedToRef="physician_apply">\n      <bpmn:outgoing>f_wd2')
    raise AssertionError(kind)


EXPECT = {
    "unknown_name": ("institution_confirm", "未知的任务属性 medreg:bulck"),
    "bad_boolean": ("institution_confirm", "的值只能是 true 或 false，不能是“是”"),
    "locked_not_in_form": ("physician_apply", "中的字段 salary 不在该任务的表单中"),
    "locked_not_a_name": ("physician_apply", "应为以逗号分隔的字段名"),
    # the 撤回申请 button would show, and the withdrawal would be refused
    "withdrawable_without_event": ("institution_confirm", "但没有接收“医师撤回”消息"),
}


@pytest.mark.parametrize("kind", sorted(EXPECT))
def test_validate_refuses_bad_task_flags(app: Flask, tmp_path: Path, kind: str) -> None:
    text = _variant(kind)
    assert text != BASE, "the test must really change the diagram"
    path = tmp_path / f"{kind}.bpmn"
    path.write_text(text, "utf-8")
    result = app.test_cli_runner().invoke(args=["bpmn", "validate", str(path)])
    assert result.exit_code == 1, result.output
    element, message = EXPECT[kind]
    assert any(element in ln and message in ln for ln in result.output.splitlines()), result.output


def test_flags_only_on_user_tasks(app: Flask, tmp_path: Path) -> None:
    text = BASE.replace('<spiffworkflow:serviceTaskOperator id="close_application"',
                        '<spiffworkflow:properties><spiffworkflow:property name="medreg:bulk" '
                        'value="true" /></spiffworkflow:properties>\n'
                        '        <spiffworkflow:serviceTaskOperator id="close_application"', 1)
    assert text != BASE
    path = tmp_path / "service.bpmn"
    path.write_text(text, "utf-8")
    result = app.test_cli_runner().invoke(args=["bpmn", "validate", str(path)])
    assert result.exit_code == 1 and "只能设置在用户任务上" in result.output, result.output
