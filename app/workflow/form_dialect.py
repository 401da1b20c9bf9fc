"""The form dialect: a meta-schema (``form_dialect.json``) plus the checks it cannot express.

A form that passes :func:`problems` renders and validates without raising (docs/forms.md).
Messages are Chinese and name the place in the form they are about.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING
from typing import Any

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

MAX_PROBLEMS = 20
WIDGET_TYPES: Mapping[str, Collection[str]] = {
    "text": ("string", "integer"), "textarea": ("string",), "date": ("string",),
    "select": ("string", "integer"), "radio": ("string", "integer", "boolean"),
    "checkbox": ("boolean",), "checkboxes": ("array",), "file": ("object",),
    "institution_search": ("integer",),
}
_PY_TYPES: Mapping[str, tuple[type, ...]] = {"string": (str,), "integer": (int,), "boolean": (bool,)}
_TYPE_NAMES = {"object": "JSON 对象", "array": "数组", "string": "字符串", "integer": "整数",
               "boolean": "true/false", "number": "数字"}


@cache
def meta_schema() -> dict[str, Any]:
    """The dialect's meta-schema (JSON Schema 2020-12)."""
    text = resources.files("app.workflow").joinpath("form_dialect.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> Validator:
    from jsonschema import Draft202012Validator  # on first use: the scheduler never needs it
    validator: Validator = Draft202012Validator(meta_schema())
    return validator


def _where(path: Collection[object]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "表单"


def _type_names(expected: object) -> str:
    kinds = expected if isinstance(expected, list) else [expected]
    return "或".join(_TYPE_NAMES.get(str(k), str(k)) for k in kinds)


def _message(err: ValidationError) -> str:
    """A Chinese sentence for one meta-schema error."""
    where, v, val = _where(err.absolute_path), err.validator, err.validator_value
    if v == "additionalProperties":
        known = err.schema.get("properties", {}) if isinstance(err.schema, Mapping) else {}
        extra = sorted(set(err.instance) - set(known))
        return f"{where}：不支持的键 {'、'.join(map(str, extra))}"
    if v == "required":
        missing = [k for k in val if k not in err.instance]
        return f"{where}：缺少 {'、'.join(missing)}"
    if v == "type":
        return f"{where}：应为{_type_names(val)}"
    if v == "enum":
        return f"{where}：只能是 {'、'.join(json.dumps(x, ensure_ascii=False) for x in val)} 之一"
    if v == "const":
        return f"{where}：只能是 {json.dumps(val, ensure_ascii=False)}"
    if v == "uniqueItems":
        return f"{where}：有重复的项"
    if v == "pattern" and err.absolute_path and err.absolute_path[-1] == "accept":
        return f"{where}：应为以逗号分隔的扩展名，如 .pdf,.jpg"
    if v in ("pattern", "propertyNames"):
        return f"{where}：名称只能由字母、数字和下划线组成（字母或下划线开头）"
    if v in ("minimum", "maximum"):
        bounds = err.schema if isinstance(err.schema, Mapping) else {}
        return f"{where}：应在 {bounds.get('minimum', '')}～{bounds.get('maximum', '')} 之间"
    if v in ("minItems", "minProperties"):
        return f"{where}：至少需要 {val} 项"
    if v in ("maxItems", "maxProperties", "maxLength"):
        return f"{where}：过长（至多 {val}）"
    return f"{where}：不符合表单格式（{v}）"


def _scalar_type_ok(value: object, kind: str) -> bool:
    if kind not in _PY_TYPES:
        return True
    if kind == "integer" and isinstance(value, bool):
        return False
    return isinstance(value, _PY_TYPES[kind])


def _field_problems(name: str, prop: Mapping[str, Any], widget: Mapping[str, Any],
                    option_sources: Collection[str] | None) -> list[str]:
    out: list[str] = []
    kind = str(prop["type"])
    where = f"properties.{name}"
    for target, label in ((prop, where), (prop.get("items") or {}, f"{where}.items")):
        enum = target.get("enum")
        item_kind = str(target.get("type", kind))
        if enum is not None and not all(_scalar_type_ok(v, item_kind) for v in enum):
            out.append(f"{label}.enum：选项的类型应为{_type_names(item_kind)}")
        labels = target.get("x-labels")
        if labels is not None:
            known = {str(v) for v in enum or []}
            extra = sorted(k for k in labels if k not in known)
            if extra:
                out.append(f"{label}.x-labels：{'、'.join(extra)} 不是 enum 中的选项")
        if target.get("pattern") is not None:
            try:
                re.compile(str(target["pattern"]))
            except re.error:
                out.append(f"{label}.pattern：不是有效的正则表达式")
    if kind in ("array", "object") and ("enum" in prop or "const" in prop):
        out.append(f"{where}：{_type_names(kind)}字段不能有 enum 或 const（多选的选项写在 items.enum 中）")
    if "const" in prop and not _scalar_type_ok(prop["const"], kind):
        out.append(f"{where}.const：类型应为{_type_names(kind)}")
    for low, high in (("minLength", "maxLength"), ("minItems", "maxItems"), ("minimum", "maximum")):
        if low in prop and high in prop and prop[low] > prop[high]:
            out.append(f"{where}：{low} 大于 {high}")
    chosen = widget.get("widget")
    if chosen is not None and chosen in WIDGET_TYPES and kind not in WIDGET_TYPES[chosen]:
        out.append(f"x-ui.widgets.{name}：控件 {chosen} 不能用于{_type_names(kind)}字段")
    if kind == "object" and chosen not in (None, "file", "readonly"):
        out.append(f"x-ui.widgets.{name}：附件字段只能用 file 控件")
    source = widget.get("options")
    if source is not None and option_sources is not None and source not in option_sources:
        out.append(f"x-ui.widgets.{name}.options：没有名为 {source} 的选项来源")
    if chosen == "institution_search" and source != "institutions":
        out.append(f"x-ui.widgets.{name}：控件 institution_search 须配 \"options\": \"institutions\"")
    if source == "institutions" and chosen not in ("institution_search", "readonly"):
        # about a million medical institutions: a list of them all cannot be drawn (issue 14)
        out.append(f"x-ui.widgets.{name}：医疗机构须用 institution_search 控件（按名称查询），"
                   "不能逐一列出")
    has_choices = source is not None or "enum" in prop or "enum" in (prop.get("items") or {})
    if (chosen in ("select", "radio", "checkboxes") or kind == "array") and not has_choices \
            and "const" not in prop:
        out.append(f"{where}：选择类字段需要 enum 或 x-ui 中的 options（选项来源）")
    return out


def _rule_fields(rules: list[Any]) -> set[str]:
    names: set[str] = set()
    stack: list[Any] = [part for rule in rules for part in rule.values()]
    while stack:
        cond = stack.pop()
        names |= set(cond.get("required", [])) | set(cond.get("properties", {}))
        if "not" in cond:
            stack.append(cond["not"])
    return names


def cross_problems(schema: Mapping[str, Any],
                   option_sources: Collection[str] | None = None) -> list[str]:
    """What the meta-schema cannot say (call only on a form that passed it)."""
    props: Mapping[str, Any] = schema["properties"]
    ui: Mapping[str, Any] = schema.get("x-ui", {})
    widgets: Mapping[str, Any] = ui.get("widgets", {})
    order: list[str] = ui.get("order") or []
    out = [f"required：字段 {n} 不在 properties 中" for n in schema.get("required", [])
           if n not in props]
    out += [f"x-ui.order：字段 {n} 不在 properties 中" for n in order if n not in props]
    if order:
        out += [f"x-ui.order：必填字段 {n} 没有列出（不会显示）" for n in schema.get("required", [])
                if n in props and n not in order]
    out += [f"x-ui.widgets：字段 {n} 不在 properties 中" for n in widgets if n not in props]
    for n, w in widgets.items():
        dep = w.get("depends_on")
        if dep is not None and dep not in props:
            out.append(f"x-ui.widgets.{n}.depends_on：字段 {dep} 不在 properties 中")
    out += [f"allOf：条件中的字段 {n} 不在 properties 中"
            for n in sorted(_rule_fields(schema.get("allOf", []))) if n not in props]
    for name, prop in props.items():
        out += _field_problems(name, prop, widgets.get(name, {}), option_sources)
    return out


def problems(schema: object, option_sources: Collection[str] | None = None) -> list[str]:
    """Every problem of a form (empty: it renders and validates without raising).

    :param option_sources: the names ``x-ui.widgets.*.options`` may use (None: not checked).
    """
    errors = sorted(_validator().iter_errors(schema),
                    key=lambda e: (len(e.absolute_path), [str(p) for p in e.absolute_path]))
    if errors:
        return [_message(e) for e in errors[:MAX_PROBLEMS]]
    assert isinstance(schema, Mapping)  # noqa: S101 - the meta-schema says it is an object
    found = cross_problems(schema, option_sources)
    if found:
        return found[:MAX_PROBLEMS]
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return [f"不是有效的 JSON Schema：{exc.message}"]
    return []
