"""The form dialect (issue 12 §6, docs/forms.md): the meta-schema and its cross-checks refuse
every shape the renderer cannot draw, say where, and every form that passes renders."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from jsonschema import Draft202012Validator

from app.services.applications import forms
from app.services.backoffice import definitions
from app.workflow import form_dialect

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(p.stem for p in (ROOT / "forms").glob("*.json"))


def _shipped(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((ROOT / "forms" / f"{name}.json").read_text("utf-8"))
    return schema


def _small(**extra: Any) -> dict[str, Any]:
    """A one-field form with extra top-level keys."""
    return {"type": "object", "properties": {"reason": {"type": "string", "title": "注销原因"}},
            **extra}


def test_the_meta_schema_is_a_valid_json_schema() -> None:
    Draft202012Validator.check_schema(form_dialect.meta_schema())


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_form_is_in_the_dialect_and_renders(name: str) -> None:
    # issue 12 §6: the renderer never raises on a form that passed
    schema = _shipped(name)
    assert forms.problems(schema) == []
    views = forms.field_views(schema, {}, {}, {})
    assert [v.name for v in views] == schema["x-ui"]["order"]
    forms.errors_of(schema, {})
    forms.payload_from_post(schema, {n: ["1"] for n in schema["properties"]})


# The five shapes of issue 12 that gave a 500 on the form preview or on 信息维护.
ISSUE_SHAPES: dict[str, tuple[dict[str, Any], str]] = {
    "unknown field in x-ui.order": (
        _small(**{"x-ui": {"order": ["reason", "ghost"]}}), "x-ui.order：字段 ghost 不在 properties 中"),
    "a boolean as a field": (
        {"type": "object", "properties": {"c": True}}, "properties.c：应为JSON 对象"),
    "an object in enum": (
        {"type": "object", "properties": {"r": {"type": "string", "enum": [{"a": 1}]}}},
        "properties.r.enum[0]：应为字符串或整数或true/false"),
    "x-ui as a list": (_small(**{"x-ui": []}), "x-ui：应为JSON 对象"),
    "max_kb as text": (
        {"type": "object", "properties": {"f": {"type": "object", "x-attachment": True}},
         "x-ui": {"widgets": {"f": {"widget": "file", "max_kb": "abc"}}}},
        "x-ui.widgets.f.max_kb：应为整数"),
}


@pytest.mark.parametrize("shape", sorted(ISSUE_SHAPES))
def test_each_shape_of_the_issue_is_refused_saying_where(shape: str) -> None:
    # issue 12 §6
    schema, message = ISSUE_SHAPES[shape]
    assert message in forms.problems(schema)


CROSS: dict[str, tuple[dict[str, Any], str]] = {
    "required names an unknown field": (
        _small(required=["reason", "nope"]), "required：字段 nope 不在 properties 中"),
    "a required field left out of the order": (
        {"type": "object", "required": ["b"], "properties": {"a": {"type": "string"},
                                                               "b": {"type": "string"}},
         "x-ui": {"order": ["a"]}}, "x-ui.order：必填字段 b 没有列出（不会显示）"),
    "x-labels for a value not in enum": (
        {"type": "object", "properties": {"d": {"type": "string", "enum": ["a"],
                                                "x-labels": {"a": "同意", "z": "?"}}}},
        "properties.d.x-labels：z 不是 enum 中的选项"),
    "an unknown option source": (
        {"type": "object", "properties": {"i": {"type": "integer"}},
         "x-ui": {"widgets": {"i": {"widget": "select", "options": "hospitals"}}}},
        "x-ui.widgets.i.options：没有名为 hospitals 的选项来源"),
    "a widget for an unknown field": (
        _small(**{"x-ui": {"widgets": {"other": {"widget": "text"}}}}),
        "x-ui.widgets：字段 other 不在 properties 中"),
    "depends_on an unknown field": (
        {"type": "object", "properties": {"i": {"type": "integer"}},
         "x-ui": {"widgets": {"i": {"widget": "select", "options": "departments",
                                    "depends_on": "inst"}}}},
        "x-ui.widgets.i.depends_on：字段 inst 不在 properties 中"),
    "a checkbox on a text field": (
        _small(**{"x-ui": {"widgets": {"reason": {"widget": "checkbox"}}}}),
        "x-ui.widgets.reason：控件 checkbox 不能用于字符串字段"),
    "a select without choices": (
        _small(**{"x-ui": {"widgets": {"reason": {"widget": "select"}}}}),
        "properties.reason：选择类字段需要 enum 或 x-ui 中的 options（选项来源）"),
    "an object that is not an attachment": (
        {"type": "object", "properties": {"o": {"type": "object"}}}, "properties.o：缺少 x-attachment"),
    "an enum of the wrong type": (
        {"type": "object", "properties": {"n": {"type": "integer", "enum": ["1"]}}},
        "properties.n.enum：选项的类型应为整数"),
    "choices on the array instead of its items": (
        {"type": "object", "properties": {"s": {"type": "array", "enum": ["11"],
                                                "items": {"type": "string"}}}},
        "properties.s：数组字段不能有 enum 或 const（多选的选项写在 items.enum 中）"),
    "a pattern that is no regular expression": (
        {"type": "object", "properties": {"p": {"type": "string", "pattern": "("}}},
        "properties.p.pattern：不是有效的正则表达式"),
    "a rule on an unknown field": (
        _small(allOf=[{"if": {"required": ["reason"]}, "then": {"required": ["note"]}}]),
        "allOf：条件中的字段 note 不在 properties 中"),
    "an unknown keyword": (_small(**{"x-magic": 1}), "表单：不支持的键 x-magic"),
    "an unknown widget": (
        _small(**{"x-ui": {"widgets": {"reason": {"widget": "slider"}}}}),
        "x-ui.widgets.reason.widget：只能是"),
    # issue 14: about a million institutions cannot be listed; the search widget finds them
    "institutions listed in a select": (
        {"type": "object", "properties": {"i": {"type": "integer"}},
         "x-ui": {"widgets": {"i": {"widget": "select", "options": "institutions"}}}},
        "x-ui.widgets.i：医疗机构须用 institution_search 控件"),
    "a search without the institutions": (
        {"type": "object", "properties": {"i": {"type": "integer"}},
         "x-ui": {"widgets": {"i": {"widget": "institution_search"}}}},
        "x-ui.widgets.i：控件 institution_search 须配"),
    "a search for a text field": (
        {"type": "object", "properties": {"i": {"type": "string"}},
         "x-ui": {"widgets": {"i": {"widget": "institution_search", "options": "institutions"}}}},
        "x-ui.widgets.i：控件 institution_search 不能用于"),
    "a bad accept list": (
        {"type": "object", "properties": {"f": {"type": "object", "x-attachment": True}},
         "x-ui": {"widgets": {"f": {"widget": "file", "accept": "pdf; exe"}}}},
        "x-ui.widgets.f.accept：应为以逗号分隔的扩展名，如 .pdf,.jpg"),
}


@pytest.mark.parametrize("case", sorted(CROSS))
def test_what_the_renderer_cannot_draw_is_refused(case: str) -> None:
    # issue 12 §6: required ⊆ properties, x-ui names known fields and option sources, x-labels ⊆ enum
    schema, message = CROSS[case]
    found = forms.problems(schema)
    assert any(p.startswith(message) for p in found), found


def test_a_form_with_every_widget_passes_and_renders() -> None:
    # the example of docs/forms.md
    text = (ROOT / "docs" / "forms.md").read_text("utf-8")
    start = text.index("```json\n", text.index("## 完整示例")) + len("```json\n")
    schema = json.loads(text[start:text.index("```", start)])
    assert forms.problems(schema) == []
    views = forms.field_views(schema, {}, {}, {"institutions": [("1", "太原市人民医院")],
                                               "departments": [("2", "内科")]})
    assert {v.widget for v in views} == {"text", "textarea", "date", "select", "radio", "checkbox",
                                         "checkboxes", "readonly", "file", "institution_search"}
    errors = forms.errors_of(schema, {})
    assert errors["reason"] == "请选择注销原因"


def test_the_option_sources_are_those_the_pages_offer(ctx: Flask) -> None:
    # a widget may name only lists the pages fill in (prepare.form_options, the approver's fields)
    from app.services.applications import prepare
    assert set(prepare.form_options(None)) | {"application_fields"} == forms.OPTION_SOURCES


def test_a_stored_form_outside_the_dialect_still_renders_its_known_fields() -> None:
    # versions published before the dialect existed: no 500 on 信息维护 (issue 12)
    schema = copy.deepcopy(_shipped("info_change_apply"))
    schema["x-ui"]["order"].insert(0, "ghost")
    assert [v.name for v in forms.field_views(schema, {}, {}, {})] == schema["x-ui"]["order"][1:]


def test_flask_bpmn_validate_refuses_a_diagram_whose_form_is_outside_the_dialect(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    # issue 12 §6: `flask bpmn validate` checks the forms of the diagrams
    bad = {**definitions.all_forms()}
    bad["info_change_apply"] = copy.deepcopy(bad["info_change_apply"])
    bad["info_change_apply"]["x-ui"]["order"].append("ghost")
    monkeypatch.setattr(definitions, "all_forms", lambda: bad)
    path = str(ROOT / "bpmn" / "info_change.bpmn")
    result = app.test_cli_runner().invoke(args=["bpmn", "validate", path])
    assert result.exit_code == 1, result.output
    assert "表单 info_change_apply：x-ui.order：字段 ghost 不在 properties 中" in result.output
