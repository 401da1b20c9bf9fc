"""Forms: JSON Schema + "x-ui", turned into field views, parsed from posts and validated.

Messages are Chinese and keyed by field, so the page shows each next to its field.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from functools import cache
from typing import TYPE_CHECKING
from typing import Any

from flask_babel import gettext as _

from app.services.errors import InvalidInput
from app.services.records import validators
from app.workflow import form_dialect

if TYPE_CHECKING:
    from jsonschema import FormatChecker
    from jsonschema.exceptions import ValidationError

    from app.services.applications import uploads
Option = tuple[str, str]

# The option lists a widget may name (``x-ui.widgets.*.options``): prepare.form_options and
# the approver's "application_fields".
OPTION_SOURCES = frozenset({
    "institutions", "departments", "practice_categories", "person_categories", "practice_scopes",
    "registrations_cancellable", "registrations_active", "registrations_assistant",
    "registrations_legacy", "legacy_sites", "registrations_reportable", "filings_active",
    "application_fields",
})
SEARCH_WIDGET = "institution_search"  # 拟执业机构: found by name, never listed in full
QUERY_SUFFIX = "__q"  # the posted field holding what was typed into a search widget


def problems(schema: object) -> list[str]:
    """What is wrong with a form against the dialect (docs/forms.md); empty: it renders."""
    return form_dialect.problems(schema, OPTION_SOURCES)

FORMAT_MESSAGES = {
    "date": "请按 2026-01-31 的格式填写有效日期",
    "resident-id": "身份证号格式不正确",
    "mobile": "请输入11位有效的手机号码",
    "qualification-cert": "资格证书编码应为24位或27位（最后一位可以是X）",
    "practice-cert": "执业证书编码应为15位数字",
}


def _resident_id(value: object) -> bool:
    return not isinstance(value, str) or validators.resident_id_error(value) is None


def _date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def _mobile(value: object) -> bool:
    return not isinstance(value, str) or validators.is_mobile(value)


def _qual(value: object) -> bool:
    return not isinstance(value, str) or validators.is_qualification_cert(value)


def _practice(value: object) -> bool:
    return not isinstance(value, str) or validators.is_practice_cert(value)


@cache
def format_checker() -> FormatChecker:
    """The formats of our forms (jsonschema is imported on first validation, not by the
    scheduler process)."""
    from jsonschema import FormatChecker
    checker = FormatChecker(formats=())
    for name, check in (("resident-id", _resident_id), ("date", _date), ("mobile", _mobile),
                        ("qualification-cert", _qual), ("practice-cert", _practice)):
        checker.checks(name)(check)
    return checker


ATTACHMENT_SCHEMA = {
    "type": "object",
    "required": ["sha256", "name"],
    "properties": {
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "name": {"type": "string", "maxLength": 200},
        "size": {"type": "integer"},
        "mime": {"type": "string"},
    },
    "additionalProperties": False,
}


def effective_schema(schema: Mapping[str, Any],
                     options: Mapping[str, list[Option]] | None = None) -> dict[str, Any]:
    """The schema as validated: attachments expanded, option lists turned into enums.

    Copy on write: only the properties it changes are copied (the rest is shared with
    ``schema``, read-only), so a form step does not deep-copy the whole form."""
    out = {k: v for k, v in schema.items() if k != "x-ui"}
    widgets = schema.get("x-ui", {}).get("widgets", {})
    props = dict(schema.get("properties", {}))
    for name, original in props.items():
        src = widgets.get(name, {}).get("options")
        listed = options is not None and src in options
        if "x-attachment" not in original and not listed:
            continue
        prop = props[name] = copy.deepcopy(original)
        if prop.pop("x-attachment", False):
            prop.update(copy.deepcopy(ATTACHMENT_SCHEMA))
        if listed and options is not None:
            values = [v for v, _label in options[src]]
            target = prop["items"] if prop.get("type") == "array" else prop
            if target.get("type") == "integer":
                target["enum"] = [int(v) for v in values if str(v).lstrip("-").isdigit()]
            else:
                target["enum"] = values
    if "properties" in schema:
        out["properties"] = props
    return out


def _title(schema: Mapping[str, Any], name: str) -> str:
    return str(schema.get("properties", {}).get(name, {}).get("title", name))


def _missing(schema: Mapping[str, Any], name: str) -> str:
    prop = schema.get("properties", {}).get(name, {})
    if prop.get("x-attachment") or prop.get("type") == "object":
        return f"请上传{_title(schema, name)}"
    if prop.get("type") == "boolean":
        return "请阅读并勾选此项"
    if prop.get("type") in ("integer", "array") or prop.get("enum"):
        return f"请选择{_title(schema, name)}"
    return f"请填写{_title(schema, name)}"


def _messages(err: ValidationError, schema: Mapping[str, Any]) -> list[tuple[str, str]]:
    if err.validator == "required":
        return [(p, _missing(schema, p)) for p in err.validator_value
                if p not in (err.instance or {})]
    return [_message(err, schema)]


def _message(err: ValidationError, schema: Mapping[str, Any]) -> tuple[str, str]:
    path = [p for p in err.absolute_path if isinstance(p, str)]
    name = path[0] if path else ""
    v = err.validator
    if v == "const":
        return name, "请阅读并勾选此项"
    if v == "enum":
        return name, "请选择有效的选项"
    if v == "minItems":
        return name, f"请至少选择 {err.validator_value} 项"
    if v == "maxItems":
        return name, f"最多只能选择 {err.validator_value} 项"
    if v == "uniqueItems":
        return name, "选项不能重复"
    if v == "minLength":
        return name, f"请填写{_title(schema, name)}（至少 {err.validator_value} 个字）"
    if v == "maxLength":
        return name, f"不能超过 {err.validator_value} 个字"
    if v == "format":
        return name, FORMAT_MESSAGES.get(str(err.validator_value), "格式不正确")
    if v == "pattern":
        return name, "格式不正确"
    if v == "type":
        return name, "格式不正确"
    return name, "填写内容不符合要求"


def errors_of(schema: Mapping[str, Any], data: Mapping[str, Any],
              options: Mapping[str, list[Option]] | None = None) -> dict[str, str]:
    """Validate ``data``; return field -> Chinese message (first error per field)."""
    from jsonschema import Draft202012Validator
    validator = Draft202012Validator(effective_schema(schema, options),
                                     format_checker=format_checker())
    out: dict[str, str] = {}
    errs = list(validator.iter_errors(dict(data)))
    for err in _flatten(errs):
        for name, msg in _messages(err, schema):
            out.setdefault(name, msg)
    return out


def _flatten(errs: list[ValidationError]) -> list[ValidationError]:
    out: list[ValidationError] = []
    for err in errs:
        if err.validator in ("allOf", "anyOf", "oneOf", "if", "then") and err.context:
            out.extend(_flatten(list(err.context)))
        else:
            out.append(err)
    return out


def validate(schema: Mapping[str, Any], data: Mapping[str, Any],
             options: Mapping[str, list[Option]] | None = None,
             extra_errors: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Keep only the schema's keys, validate, and raise :class:`InvalidInput` on any error."""
    props = schema.get("properties", {})
    clean = {k: v for k, v in data.items() if k in props}
    errors = {**errors_of(schema, clean, options), **(extra_errors or {})}
    if errors:
        raise InvalidInput(_("请按提示修改后重新提交"), errors, clean)
    return clean


@dataclass
class Submission:
    """A posted form: its fields (name -> values), new files, and files kept from before."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, Any] = field(default_factory=dict)  # name -> attachments.Upload
    kept: dict[str, dict[str, Any]] = field(default_factory=dict)


def payload_from_post(schema: Mapping[str, Any], form: Mapping[str, list[str]],
                      attachments: Mapping[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Turn posted form fields (name -> list of values) into the schema's JSON payload."""
    out: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        if prop.get("x-attachment"):
            if attachments and name in attachments:
                out[name] = attachments[name]
            continue
        values = [v.strip() for v in form.get(name, []) if v is not None]
        kind = prop.get("type")
        if kind == "array":
            vals = [v for v in values if v]
            if vals:
                out[name] = vals
        elif kind == "boolean":
            out[name] = bool(values) and values[-1] in ("on", "true", "1", "yes")
        elif not values or values[0] == "":
            continue
        elif kind == "integer":
            out[name] = _as_int(values[0])
        else:
            out[name] = values[0]
    return out


def _as_int(text: str) -> int | str:
    """ASCII digits within the database's integer range become an int; anything else stays
    text, which the schema then refuses with a message ("²" and 10**30 never reach a query)."""
    digits = text[1:] if text.startswith("-") else text
    if digits.isascii() and digits.isdigit() and len(digits) <= 10 and abs(int(text)) < 2**31:
        return int(text)
    return text


@dataclass
class FieldView:
    """What a template needs to draw one field."""

    name: str
    title: str
    widget: str
    required: bool
    description: str = ""
    options: list[Option] = field(default_factory=list)
    value: Any = None
    error: str | None = None
    accept: str = ""
    max_kb: int = 0
    placeholder: str = ""
    depends_on: str = ""
    display: str = ""
    flag: str = ""  # the approver asked for this field to be corrected
    query: str = ""  # institution_search: what was typed (kept after 查询)
    searched: bool = False  # institution_search: the options are the matches of ``query``

    def selected(self, option_value: str) -> bool:
        if isinstance(self.value, list):
            return option_value in [str(v) for v in self.value]
        return self.value is not None and str(self.value) == option_value

    @property
    def choices(self) -> list[tuple[str, str, bool]]:
        """(value, label, :meth:`selected`) of every option, worked out in one pass (a page
        draws them without a call per option)."""
        if isinstance(self.value, list):
            chosen = {str(v) for v in self.value}
            return [(v, label, v in chosen) for v, label in self.options]
        if self.value is None:
            return [(v, label, False) for v, label in self.options]
        value = str(self.value)
        return [(v, label, v == value) for v, label in self.options]

    @property
    def described_by(self) -> str:
        """The ids of what describes the field (the approver's flag, the hint, the message),
        for aria-describedby; empty when there is none."""
        ids = ([f"flag-{self.name}"] if self.flag else []) + (
            [f"hint-{self.name}"] if self.description else []) + ([f"err-{self.name}"] if self.error else [])
        return " ".join(ids)


def field_views(schema: Mapping[str, Any], values: Mapping[str, Any] | None = None,
                errors: Mapping[str, str] | None = None,
                options: Mapping[str, list[Option]] | None = None) -> list[FieldView]:
    """Field views in the form's order, with values and messages filled in."""
    ui = schema.get("x-ui", {})
    widgets = ui.get("widgets", {})
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    values = values or {}
    out = []
    for name in ui.get("order") or list(props):
        if name not in props:  # refused by the dialect; an old stored form still renders
            continue
        prop = props[name]
        w = widgets.get(name, {})
        widget = w.get("widget") or _default_widget(prop)
        if widget == "select" and w.get("options") == "institutions":
            widget = SEARCH_WIDGET  # a version stored before issue 14: never list them all
        opts: list[Option] = []
        if w.get("options") and options is not None:
            opts = list(options.get(w["options"], []))
        elif prop.get("enum"):
            labels = prop.get("x-labels", {})
            opts = [(str(v), labels.get(v, str(v))) for v in prop["enum"]]
        value = values.get(name)
        display = ""
        if isinstance(value, dict) and "name" in value:
            display = str(value["name"])
        elif isinstance(value, list):
            labels = dict(opts)
            display = "、".join(labels.get(str(v), str(v)) for v in value)
        elif isinstance(value, bool):
            display = "是" if value else "否"
        elif value is not None:
            display = dict(opts).get(str(value), str(value))
        out.append(FieldView(
            name=name, title=prop.get("title", name), widget=widget,
            required=name in required, description=prop.get("description", ""),
            options=opts, value=value, error=(errors or {}).get(name),
            accept=w.get("accept", ""), max_kb=int(w.get("max_kb", 0)),
            placeholder=w.get("placeholder", ""), depends_on=w.get("depends_on", ""),
            display=display))
    return out


def option_sources(schema: Mapping[str, Any]) -> frozenset[str]:
    """The option lists a form's widgets name (what ``prepare.form_options`` need compute)."""
    props = schema.get("properties", {})
    return frozenset(str(w["options"]) for n, w in schema.get("x-ui", {}).get("widgets", {}).items()
                     if n in props and isinstance(w, Mapping) and w.get("options"))


def institution_fields(schema: Mapping[str, Any]) -> list[str]:
    """The fields that name an institution (their widget's options are "institutions")."""
    props = schema.get("properties", {})
    return [n for n, w in schema.get("x-ui", {}).get("widgets", {}).items()
            if n in props and isinstance(w, Mapping) and w.get("options") == "institutions"]


def search_fields(schema: Mapping[str, Any]) -> frozenset[str]:
    """The fields drawn as an institution search (:data:`SEARCH_WIDGET`), including a
    ``select`` of "institutions" in a form stored before the widget existed (issue 14)."""
    props = schema.get("properties", {})
    return frozenset(n for n, w in schema.get("x-ui", {}).get("widgets", {}).items()
                     if n in props and isinstance(w, Mapping) and (
                         w.get("widget") == SEARCH_WIDGET
                         or (w.get("widget") == "select" and w.get("options") == "institutions")))


def shown_values(schema: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, set[str]]:
    """Option list -> the values of ``values`` a read-only view labels from it."""
    widgets = schema.get("x-ui", {}).get("widgets", {})
    out: dict[str, set[str]] = {src: set() for src in option_sources(schema)}
    for name, w in widgets.items():
        src = w.get("options") if isinstance(w, Mapping) else None
        value = values.get(name)
        if src in out and value is not None:
            out[src].update(str(v) for v in (value if isinstance(value, list) else [value]))
    return out


def _default_widget(prop: Mapping[str, Any]) -> str:
    if prop.get("x-attachment"):
        return "file"
    if prop.get("enum"):
        return "radio"
    if prop.get("type") == "boolean":
        return "checkbox"
    if prop.get("type") == "array":
        return "checkboxes"
    return "text"


def field_titles(schema: Mapping[str, Any]) -> list[Option]:
    """(name, title) of a form's fields in order: what an approver may ask to correct."""
    props = schema.get("properties", {})
    order = schema.get("x-ui", {}).get("order") or list(props)
    return [(n, str(props[n].get("title", n))) for n in order if n in props]


def _comparable(value: Any) -> Any:
    return value.get("sha256") if isinstance(value, dict) and "sha256" in value else value


def changes(schema: Mapping[str, Any], old: Mapping[str, Any],
            new: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The fields whose value differs between two submissions: name -> [old, new]."""
    return {n: [old.get(n), new.get(n)] for n, _t in field_titles(schema)
            if _comparable(old.get(n)) != _comparable(new.get(n))}


def attachment_limits(schema: Mapping[str, Any]) -> dict[str, tuple[set[str], int]]:
    """Allowed extensions and size in KB for each attachment field, in the form's order (the
    order files are checked and counted against the daily limit; PostgreSQL's JSONB does not
    keep the order of ``properties``)."""
    widgets = schema.get("x-ui", {}).get("widgets", {})
    props = schema.get("properties", {})
    order = [n for n in (schema.get("x-ui", {}).get("order") or []) if n in props]
    out = {}
    for name in [*order, *(n for n in props if n not in order)]:
        prop = props[name]
        if prop.get("x-attachment"):
            w = widgets.get(name, {})
            exts = {e.strip().lower() for e in w.get("accept", ".pdf,.jpg,.jpeg,.png").split(",")}
            out[name] = (exts, int(w.get("max_kb", 5120)))
    return out


def read_submission(schema: Mapping[str, Any], sub: Submission | Mapping[str, Any],
                    files: uploads.Batch) -> tuple[dict[str, Any], dict[str, str]]:
    """The payload of a submission and the attachment errors. New files are checked and held
    in ``files`` (the store gets them only if the submission is accepted).

    A plain mapping is taken as an already-built payload (CLI, seed, tests).
    """
    from app.services.applications import attachments
    if not isinstance(sub, Submission):
        return dict(sub), {}
    if sub.files or sub.kept:
        files.begin(list(sub.kept.values()))
    errors: dict[str, str] = {}
    refs: dict[str, dict[str, Any]] = {}
    for name, (exts, max_kb) in attachment_limits(schema).items():
        upload = sub.files.get(name)
        got: dict[str, Any] | str | None = None
        if upload is not None:
            got = attachments.check(upload, exts, max_kb) or files.add(upload)
        elif name in sub.kept:
            got = files.keep(sub.kept[name])
        if isinstance(got, str):
            errors[name] = got
        elif got is not None:
            refs[name] = got
    return payload_from_post(schema, sub.fields, refs), errors
