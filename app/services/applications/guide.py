"""业务说明: what each business type asks and how it runs, read from its published
definition (the form's fields and attachments, the diagram's steps) and its registry entry
(conditions, conflicts). Built-in and configured types alike; nothing is written twice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from app.models import Role
from app.services.applications import eligibility
from app.services.applications import types
from app.services.engine import processes
from app.services.engine.clock import CORRECTION_DAYS
from app.services.engine.clock import EXTENSION_DAYS
from app.services.engine.clock import LIMIT_DAYS
from app.services.errors import NotFound

APPLICANT = "医师"


@dataclass(frozen=True)
class Item:
    """One thing the applicant fills in or hands in."""

    title: str
    required: bool


@dataclass(frozen=True)
class Step:
    """One step of the handling, and who takes it."""

    title: str
    who: str


@dataclass(frozen=True)
class TypeGuide:
    """The 业务说明 page of one business type."""

    process_id: str
    name: str
    info: str | None
    conditions: list[str]
    fields: list[Item]
    materials: list[Item]
    declarations: list[str]
    paper: str | None  # the 申请审核表 printed, signed and stamped
    steps: list[Step]
    time_limit: str | None
    version: int


def index() -> list[tuple[str, str]]:
    """(process id, name) of every business type a physician can apply for, in 业务申请 order."""
    return list(eligibility.business_types().items())


def type_guide(process_id: str) -> TypeGuide:
    """The description of one business type, from its newest published version.

    :raise NotFound: not a physician's business type, or not published.
    """
    from app.services.backoffice import definitions
    from app.workflow import outline

    names = eligibility.business_types()
    bt = types.get(process_id)
    if bt is None or bt.kind != "application" or process_id not in names:
        raise NotFound(_("没有这项业务的说明"))
    row = definitions.published(process_id)
    defn = definitions.definition_of(row)
    start_form = definitions.start_form_id(defn)
    schema: dict[str, Any] = row.forms.get(start_form, {})
    fields, materials, declarations = _items(schema)
    steps = [Step(_("提交申请"), APPLICANT)]
    commission = False
    for milestone in outline(row.bpmn_xml).tasks:  # the order the path reaches them
        task = defn.user_tasks.get(milestone.spec_id)
        if task is None or task.form_id == start_form:  # the applicant's own correction
            continue
        role = definitions.lane_role(task.lane)
        commission = commission or role is Role.COMMISSION
        steps.append(Step(task.title, _role_label(role)))
    steps.append(Step(_("办结"), _("卫生健康行政部门") if commission else _("医疗机构")))
    limit = _(
        "卫生健康行政部门自受理申请之日起%(days)d个工作日内作出决定（医师法 第十三条）；申请材料不齐全"
        "或者不符合法定形式的，在%(fix)d个工作日内一次性告知需要补正的全部内容（行政许可法 第三十二条）。",
        days=LIMIT_DAYS, fix=CORRECTION_DAYS) if commission else None
    if limit and processes.extension_allowed():
        limit += _("%(days)d个工作日内不能作出决定的，经本行政机关负责人批准，可以延长%(more)d个工作日，"
                   "并将延长期限的理由告知申请人（行政许可法 第四十二条）。",
                   days=LIMIT_DAYS, more=EXTENSION_DAYS)
    return TypeGuide(process_id, names[process_id], bt.info, _conditions(bt), fields, materials,
                     declarations, schema.get("x-review-table"), steps, limit, row.version)


def _role_label(role: Role | None) -> str:
    if role is Role.COMMISSION:
        return _("卫生健康行政部门")
    return role.label if role is not None else _("系统")


def _conditions(bt: types.BusinessType) -> list[str]:
    out = list(bt.conditions)
    out.append(_("同类申请正在办理期间，不能再次申请。"))
    names = eligibility.business_types()
    busy = [names[p] for p in names if p in types.conflicts_of(bt.process_id)]
    if busy:
        out.append(_("以下业务正在办理期间，不能同时申请：%(list)s。", list="、".join(busy)))
    return out


def _items(schema: dict[str, Any]) -> tuple[list[Item], list[Item], list[str]]:
    """The form's fields, attachments and declarations, in the form's order."""
    props: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    order = [n for n in schema.get("x-ui", {}).get("order", []) if n in props]
    order += [n for n in props if n not in order]
    fields: list[Item] = []
    materials: list[Item] = []
    declarations: list[str] = []
    for name in order:
        prop = props[name]
        title = str(prop.get("title") or name)
        if prop.get("x-attachment"):
            materials.append(Item(title, name in required))
        elif prop.get("type") == "boolean" and prop.get("const") is True:
            declarations.append(title)
        else:
            fields.append(Item(title, name in required))
    return fields, materials, declarations
