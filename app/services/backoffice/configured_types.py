"""新建流程: a new process (a new business type) created in the browser.

The administrator gives an id, a Chinese name, who starts it, a template (the common skeleton
or an empty diagram), and chooses from lists the refusal rules
(:mod:`app.services.applications.refusal_rules`) and the service operations its service tasks
may call (the @operation registry). The process opens in the editor as a draft with its
application form; the skeleton's two test cases can be added from the 测试用例 tab. Once
published, the type is on 业务申请 (types/configured.py registers it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import resources
from app.extensions import db
from app.models import ConfiguredType
from app.models import ProcessDefinition
from app.models import ProcessDraft
from app.models import User
from app.models.base import utcnow
from app.services.applications import operations
from app.services.applications import refusal_rules
from app.services.applications import types
from app.services.applications.types import configured
from app.services.backoffice import skeleton
from app.services.errors import Conflict
from app.services.errors import DomainError
from app.services.errors import InvalidInput
from app.services.errors import NotFound
from app.services.platform import audit
from app.workflow import Problem

RESERVED = frozenset({"new"})  # a path of the process pages
PROCESS_ID = re.compile(r"^[a-z][a-z0-9_]{2,39}$")
STARTERS = {"physician": "医师", "institution": "医疗机构", "commission": "卫生健康委员会"}
TEMPLATES = {"skeleton": "通用流程：医师申请 → 医疗机构确认（医疗机构发起时省去）→ 卫健委受理 → 审查决定"
                         "（含法定时限提醒与超期）",
             "empty": "空白流程图"}
# what the skeleton itself calls: always allowed
BASE_OPERATIONS = frozenset({"close_application", "statutory_reminder", "statutory_overdue"})
_OPERATOR = re.compile(r"<(?:\w+:)?serviceTask\b[^>]*?\bid=\"([^\"]+)\"(.*?)</(?:\w+:)?serviceTask>",
                       re.S)
_OPERATOR_ID = re.compile(r"serviceTaskOperator\b[^>]*?\bid=\"([^\"]*)\"")


@dataclass(frozen=True)
class Choices:
    """What 新建流程 offers: every list the administrator picks from."""

    starters: dict[str, str]
    templates: dict[str, str]
    refusal_rules: dict[str, str]  # key -> label
    operations: list[str]  # those beyond BASE_OPERATIONS


def choices() -> Choices:
    return Choices(STARTERS, TEMPLATES, {k: r.label for k, r in refusal_rules.CATALOGUE.items()},
                   sorted(operations.names() - BASE_OPERATIONS))


def _taken(process_id: str) -> bool:
    """An existing process, draft, configured type, shipped diagram or registered type."""
    for model in (ProcessDefinition, ProcessDraft, ConfiguredType):
        if db.session.scalar(select(model.id).where(model.process_id == process_id).limit(1)):
            return True
    shipped = resources.bpmn_dir() / f"{process_id}.bpmn"
    registered = types.get(process_id)  # configured ones: the table above is the truth
    return (process_id in RESERVED or shipped.exists()
            or (registered is not None and not registered.configured))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list | tuple) else []


def create(actor: User, process_id: Any, name: Any, starter: Any, template: Any,
           rules: Any, chosen_operations: Any) -> str:
    """Create the process as a draft with its form, and its type configuration; returns its id.
    Every problem is reported next to its field, nothing is kept."""
    pid = process_id.strip() if isinstance(process_id, str) else ""
    title = name.strip() if isinstance(name, str) else ""
    rule_keys, op_names = _strings(rules), _strings(chosen_operations)
    errors: dict[str, str] = {}
    if not PROCESS_ID.match(pid):
        errors["process_id"] = _("流程编号须以小写字母开头，只能由小写字母、数字和下划线组成（3–40 个字符）")
    elif _taken(pid):
        errors["process_id"] = _("已有流程使用该编号，请换一个")
    if not title or len(title) > 40 or not re.search(r"[\u4e00-\u9fff]", title):
        errors["name"] = _("请填写业务名称（中文，最多 40 个字）")
    if starter not in STARTERS:
        errors["starter"] = _("请选择发起人")
    if template not in TEMPLATES:
        errors["template"] = _("请选择模板")
    elif template == "skeleton" and starter == "commission":
        errors["template"] = _("通用流程由医师或医疗机构发起；卫生健康委员会发起的业务请选择空白流程图")
    if any(k not in refusal_rules.CATALOGUE for k in rule_keys):
        errors["refusal_rules"] = _("请从列表中选择不予申请的条件")
    if any(o not in operations.names() for o in op_names):
        errors["operations"] = _("请从列表中选择服务操作")
    if errors:
        raise InvalidInput(_("请检查标出的项目"), errors)
    xml = (skeleton.skeleton_xml(pid, title, starter) if template == "skeleton"
           else skeleton.empty_xml(pid, title, starter))
    form_id = f"{pid}_apply"
    db.session.add(ConfiguredType(
        process_id=pid, name=title, starter=starter, template=template,
        refusal_rules=[k for k in refusal_rules.CATALOGUE if k in rule_keys],
        operations=sorted(set(op_names) - BASE_OPERATIONS), created_by=actor.username))
    db.session.add(ProcessDraft(process_id=pid, base_version=0, bpmn_xml=xml,
                                forms={form_id: skeleton.apply_form(title, starter)}, revision=1,
                                cases=None, updated_by=actor.username, updated_at=utcnow()))
    audit.record(actor, "process.created", "process_definition", pid,
                 {"name": title, "starter": starter, "template": template,
                  "refusal_rules": rule_keys, "operations": op_names})
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_("已有流程使用该编号，请换一个")) from None
    configured.refresh()
    return pid


def _row(process_id: str) -> ConfiguredType | None:
    return db.session.scalar(select(ConfiguredType).where(ConfiguredType.process_id == process_id))


def add_template_cases(actor: User, process_id: str) -> list[str]:
    """Add the skeleton's test cases (准予 and 不予批准) to the draft; returns their keys."""
    row = _row(process_id)
    if row is None or row.template != "skeleton":
        raise DomainError(_("只有按通用流程新建的流程可以按模板生成用例"))
    draft = db.session.scalar(select(ProcessDraft).where(ProcessDraft.process_id == process_id)
                              .with_for_update())
    if draft is None:
        raise NotFound(_("没有草稿，请先打开编辑器"))
    made = skeleton.template_cases(process_id, row.starter)
    draft.cases = {**(draft.cases or {}), **made}
    draft.updated_by, draft.updated_at = actor.username, utcnow()
    audit.record(actor, "process.case_saved", "process_definition", process_id,
                 {"cases": sorted(made)})
    db.session.commit()
    return sorted(made)


def has_template(process_id: str) -> bool:
    row = _row(process_id)
    return row is not None and row.template == "skeleton"


def allowed_operations(process_id: str) -> set[str] | None:
    """The operations a configured type's service tasks may call (None: not configured)."""
    row = _row(process_id)
    return None if row is None else set(row.operations or ()) | BASE_OPERATIONS


def operation_problems(process_id: str, xml: str) -> list[Problem]:
    """Service tasks of a configured type that call an operation not chosen for it."""
    allowed = allowed_operations(process_id)
    if allowed is None:
        return []
    out = []
    for task_id, body in _OPERATOR.findall(xml):
        for op in _OPERATOR_ID.findall(body):
            if op and op not in allowed:
                out.append(Problem(task_id, _("服务操作 %(op)s 不在为该业务选定的服务操作中", op=op)))
    return out


def forget_unpublished(process_id: str) -> None:
    """A new process's draft was discarded before its first version: its type goes too (the
    caller commits)."""
    if db.session.scalar(select(ProcessDefinition.id).where(
            ProcessDefinition.process_id == process_id).limit(1)) is None:
        row = _row(process_id)
        if row is not None:
            db.session.delete(row)

