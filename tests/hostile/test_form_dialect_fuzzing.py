"""Issue 12 §6: JSON Schema shapes built by hypothesis, against the form dialect.

The form preview never answers 5xx: a form is rendered or refused with a message (422). Every
form the dialect accepts renders (the template too), validates any posted data and parses any
post without raising.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask import render_template
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from app.errors import InvalidInput
from app.services.applications import forms
from tests.conftest import WebClient
from tests.factories import World
from tests.hostile.payloads import FUZZ
from tests.hostile.payloads import assert_sane

NAMES = st.sampled_from(["a", "b", "note", "decision", "files", "x-ui", "", "1a", "名"])
SCALARS = st.none() | st.booleans() | st.integers(-3, 10**6) | st.text(max_size=6)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=5) | NAMES, inner, max_size=3),
                    max_leaves=8)
WIDGETS = st.sampled_from(["text", "textarea", "date", "select", "radio", "checkbox",
                           "checkboxes", "readonly", "file", "slider"])
SOURCES = st.sampled_from(sorted(forms.OPTION_SOURCES) + ["hospitals"])
TYPES = st.sampled_from(["string", "integer", "boolean", "array", "object", "number", "null"])


def _or_any(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a plausible value, sometimes any JSON at all."""
    return st.one_of(strategy, strategy, strategy, JSON)


FIELD = _or_any(st.fixed_dictionaries({"type": TYPES}, optional={
    "title": st.text(max_size=8),
    "description": st.text(max_size=8),
    "format": st.sampled_from(["date", "mobile", "resident-id", "email"]),
    "enum": st.lists(SCALARS, min_size=1, max_size=4),
    "const": SCALARS,
    "x-labels": st.dictionaries(st.text(max_size=3), st.text(max_size=4), max_size=3),
    "minLength": st.integers(-1, 5), "maxLength": st.integers(-1, 50),
    "pattern": st.sampled_from(["^[0-9]+$", "(", "a{2}", ".*"]),
    "items": _or_any(st.fixed_dictionaries({"type": st.sampled_from(["string", "integer"])},
                                           optional={"enum": st.lists(SCALARS, max_size=3)})),
    "minItems": st.integers(-1, 4), "maxItems": st.integers(0, 4),
    "uniqueItems": st.booleans(),
    "x-attachment": st.booleans(),
}))
WIDGET = _or_any(st.fixed_dictionaries({}, optional={
    "widget": WIDGETS, "options": SOURCES, "depends_on": NAMES,
    "accept": st.sampled_from([".pdf,.jpg", "pdf", ".PDF", ""]),
    "max_kb": st.integers(-5, 50000) | st.sampled_from(["abc", "1024"]),
    "placeholder": st.text(max_size=5), "value_from": st.text(max_size=5),
}))
UI = _or_any(st.fixed_dictionaries({}, optional={
    "order": st.lists(NAMES, max_size=5),
    "widgets": st.dictionaries(NAMES, WIDGET, max_size=4),
}))
CONDITION = st.fixed_dictionaries({}, optional={
    "required": st.lists(NAMES, max_size=2),
    "properties": st.dictionaries(NAMES, st.fixed_dictionaries({}, optional={
        "const": SCALARS, "minLength": st.integers(0, 3)}), max_size=2),
})
FORM = _or_any(st.fixed_dictionaries({"type": st.just("object") | JSON}, optional={
    "title": st.text(max_size=6),
    "properties": _or_any(st.dictionaries(NAMES, FIELD, max_size=5)),
    "required": _or_any(st.lists(NAMES, max_size=4)),
    "additionalProperties": st.booleans() | JSON,
    "allOf": st.lists(st.fixed_dictionaries({"if": CONDITION, "then": CONDITION}), max_size=2),
    "x-ui": UI,
    "x-review-table": st.text(max_size=10) | JSON,
}))
IDENT = st.from_regex(r"\A[a-z_][a-z0-9_]{0,8}\Z")
WORDS = st.lists(st.text("abcxyz", min_size=1, max_size=4), min_size=1, max_size=4, unique=True)


@st.composite
def _good_field(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A field and its widget that the dialect accepts."""
    kind = draw(st.sampled_from(["text", "enum", "source", "bool", "array", "file"]))
    title = {"title": draw(st.text(max_size=6))}
    if kind == "text":
        fmt = draw(st.sampled_from([{}, {"format": "date"}, {"format": "mobile"},
                                    {"minLength": 2, "maxLength": 20}]))
        return ({"type": "string", **title, **fmt},
                {"widget": draw(st.sampled_from(["text", "textarea", "date", "readonly"]))})
    if kind == "enum":
        values = draw(WORDS)
        labels = {v: v.upper() for v in draw(st.lists(st.sampled_from(values), max_size=2))}
        return ({"type": "string", **title, "enum": values, "x-labels": labels},
                {"widget": draw(st.sampled_from(["radio", "select", "readonly"]))})
    if kind == "source":
        source = draw(SOURCES.filter(lambda n: n != "hospitals"))
        if source == "institutions":  # found by name, never listed (institution_search)
            return ({"type": "integer", **title}, {"widget": "institution_search", "options": source})
        return ({"type": draw(st.sampled_from(["integer", "string"])), **title},
                {"widget": "select", "options": source})
    if kind == "bool":
        return ({"type": "boolean", **title, **draw(st.sampled_from([{}, {"const": True}]))},
                {"widget": "checkbox"})
    if kind == "array":
        return ({"type": "array", **title, "items": {"type": "string", "enum": draw(WORDS)},
                 "minItems": draw(st.integers(0, 1)), "uniqueItems": True},
                {"widget": "checkboxes"})
    return ({"type": "object", **title, "x-attachment": True},
            {"widget": "file", "accept": ".pdf,.jpg", "max_kb": draw(st.integers(1, 20480))})


@st.composite
def _good_form(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(IDENT, min_size=1, max_size=6, unique=True))
    fields = {n: draw(_good_field()) for n in names}
    order = draw(st.permutations(names))
    return {"type": "object", "title": draw(st.text(max_size=6)),
            "required": draw(st.lists(st.sampled_from(names), unique=True)),
            "properties": {n: f for n, (f, _w) in fields.items()},
            "additionalProperties": False,
            "x-ui": {"order": list(order), "widgets": {n: w for n, (_f, w) in fields.items()}}}


def _mutate(form: dict[str, Any], steps: list[int], value: Any) -> dict[str, Any]:
    """The form with one place (chosen by ``steps``) set to ``value``."""
    node: Any = form
    for step in steps:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = keys[step % len(keys)]
        child = node[key]
        if not isinstance(child, (dict, list)) or not child or step % 3 == 0:
            node[key] = value
            return form
        node = child
    return form


GOOD = _good_form()
MUTATED = st.builds(_mutate, GOOD, st.lists(st.integers(0, 50), min_size=1, max_size=5),
                    JSON | FIELD | WIDGET)
SHAPES = st.one_of(GOOD, MUTATED, MUTATED, FORM)
OPTIONS = {name: [("1", "甲"), ("a", "乙")] for name in forms.OPTION_SOURCES}


@settings(FUZZ, max_examples=100)
@given(schema=GOOD)
def test_the_generated_good_forms_pass(schema: dict[str, Any]) -> None:
    # the generator of well-formed forms agrees with the dialect (else the next test proves little)
    assert forms.problems(schema) == []


@settings(FUZZ, max_examples=400)
@given(schema=SHAPES, draw=st.data())
def test_a_form_that_passes_the_dialect_renders_validates_and_parses(
        app: Flask, schema: Any, draw: st.DataObject) -> None:
    # issue 12 §6: the renderer never raises on a form that passed
    if forms.problems(schema):
        return
    names = st.sampled_from(sorted(schema["properties"])) | NAMES
    data = draw.draw(st.dictionaries(names, JSON, max_size=4))
    posted = draw.draw(st.dictionaries(names, st.lists(st.text(max_size=4), max_size=3),
                                       max_size=4))
    views = forms.field_views(schema, data, {n: "错" for n in data}, OPTIONS)
    forms.field_views(schema, {}, {}, {})
    with app.test_request_context():
        render_template("admin/form_preview.html", fields=views)
    forms.errors_of(schema, data, OPTIONS)
    payload = forms.payload_from_post(schema, posted)
    try:
        forms.validate(schema, payload, OPTIONS)
    except InvalidInput as exc:
        assert all(isinstance(m, str) and m for m in exc.errors.values())
    forms.field_titles(schema)
    forms.attachment_limits(schema)


def test_the_form_preview_never_answers_5xx(app: Flask, web: WebClient, web_world: World) -> None:
    # issue 12 §6: fuzz the preview with JSON Schema shapes: no 5xx, a clear refusal instead
    web.login("admin01")
    web.get("/admin/processes/cancellation")

    @settings(FUZZ, max_examples=60)
    @given(schema=SHAPES)
    def run(schema: Any) -> None:
        resp = web.client.post("/admin/form-preview", json={"schema": schema},
                               headers={"X-CSRFToken": web.token})
        assert_sane(resp, schema)
        assert resp.status_code in (200, 422), (resp.status_code, schema)
        body = resp.get_json()
        if resp.status_code == 422:
            assert body["message"].startswith("表单不符合表单格式") and body["errors"]["schema"]
        else:
            assert forms.problems(schema) == [] and "app-form" in body["html"]

    run()
