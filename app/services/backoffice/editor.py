"""The administrator's process editor: drafts, checks, test cases, difference, publish, rollback.

A draft is saved on every edit (one per process; a save names the revision it edited, so two
windows never overwrite each other silently). Publishing needs a draft that passes every
check and whose exact content (diagram, forms and test cases) had its latest run of the
test cases green, with every flow node reached (case_runs.py) or named by the administrator as
an exception with a reason (recorded on the version and in the audit event); it adds a new
version, and running applications stay on the version they started with.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy import select

from app.extensions import db
from app.models import CaseRun
from app.models import ConfiguredType
from app.models import ProcessDefinition
from app.models import ProcessDraft
from app.models import ProcessInstance
from app.models import User
from app.models.base import utcnow
from app.services.applications import forms as form_service
from app.services.applications import operations
from app.services.backoffice import cases as case_files
from app.services.backoffice import configured_types
from app.services.backoffice import definitions
from app.services.errors import Conflict
from app.services.errors import DomainError
from app.services.errors import InvalidInput
from app.services.errors import NotFound
from app.services.platform import audit
from app.workflow import Problem

MAX_XML = 2 * 1024 * 1024
MAX_FORMS = 1024 * 1024
CASE_KEY = re.compile(r"^[a-z0-9_]{1,60}$")


@dataclass(frozen=True)
class ProcessRow:
    process_id: str
    name: str
    version: int
    versions: int
    running: int
    draft_by: str | None
    draft_at: datetime | None


@dataclass(frozen=True)
class VersionRow:
    version: int
    author: str
    published_at: datetime | None
    note: str | None
    running: int
    current: bool
    exceptions: dict[str, str]  # unreached elements published as exceptions, with the reason


@dataclass(frozen=True)
class DraftView:
    process_id: str
    name: str
    base_version: int
    xml: str
    forms: dict[str, Any]
    revision: int
    updated_by: str
    updated_at: datetime
    cases_passed: bool  # the latest run on the present content is green
    cases: list[case_files.Case]
    # every case passed on the present content but these elements are not reached: publishing
    # needs each of them named as an exception with a reason (empty: nothing to except)
    unreached: list[str]


def _running_by_definition() -> dict[int, int]:
    rows = db.session.execute(
        select(ProcessInstance.definition_id, func.count())
        .where(ProcessInstance.completed_at.is_(None))
        .group_by(ProcessInstance.definition_id)).all()
    return {d: n for d, n in rows}


def overview() -> list[ProcessRow]:
    """Every process with its current version, number of versions, running applications and draft."""
    defs = db.session.scalars(select(ProcessDefinition).order_by(ProcessDefinition.process_id,
                                                                 ProcessDefinition.version)).all()
    drafts = {d.process_id: d for d in db.session.scalars(select(ProcessDraft))}
    running = _running_by_definition()
    out: dict[str, ProcessRow] = {}
    for row in defs:
        prev = out.get(row.process_id)
        draft = drafts.get(row.process_id)
        current = row if row.published_at is not None else None
        out[row.process_id] = ProcessRow(
            row.process_id, current.name if current else (prev.name if prev else row.name),
            current.version if current else (prev.version if prev else 0),
            (prev.versions if prev else 0) + 1,
            (prev.running if prev else 0) + running.get(row.id, 0),
            draft.updated_by if draft else None, draft.updated_at if draft else None)
    names = configured_names()
    for pid, draft in sorted(drafts.items()):  # new processes (新建流程) not yet published
        if pid not in out:
            out[pid] = ProcessRow(pid, names.get(pid, pid), 0, 0, 0, draft.updated_by,
                                  draft.updated_at)
    return list(out.values())


def configured_names() -> dict[str, str]:
    """Process id -> name of the business types created in the browser."""
    return {p: n for p, n in db.session.execute(select(ConfiguredType.process_id,
                                                       ConfiguredType.name))}


def process_name(process_id: str) -> str:
    """The name of the published version, else (a new process) the configured type's."""
    row = db.session.scalar(
        select(ProcessDefinition.name).where(ProcessDefinition.process_id == process_id,
                                             ProcessDefinition.published_at.is_not(None))
        .order_by(ProcessDefinition.version.desc()).limit(1))
    return row or configured_names().get(process_id, process_id)


def versions(process_id: str) -> list[VersionRow]:
    """The versions of a process, newest first; ``current`` is the one new applications use."""
    rows = db.session.scalars(select(ProcessDefinition)
                              .where(ProcessDefinition.process_id == process_id)
                              .order_by(ProcessDefinition.version.desc())).all()
    if not rows:
        if _draft(process_id) is not None:  # a new process: no version yet
            return []
        raise NotFound(_("没有这个业务流程"))
    running = _running_by_definition()
    current = definitions.published(process_id).version
    return [VersionRow(r.version, r.author, r.published_at, r.note, running.get(r.id, 0),
                       r.version == current, dict(r.coverage_exceptions or {})) for r in rows]


def _view(d: ProcessDraft, name: str) -> DraftView:
    run = _latest_full_run(d)
    return DraftView(d.process_id, name, d.base_version, d.bpmn_xml, dict(d.forms), d.revision,
                     d.updated_by, d.updated_at, run is not None and run.state == "passed",
                     draft_cases(d), _unreached(run) or [])


def _latest_full_run(draft: ProcessDraft) -> CaseRun | None:
    """The latest finished run of every case on the draft's present content (a run of one
    case, 运行此用例, never counts for publishing)."""
    return db.session.scalar(select(CaseRun).where(
        CaseRun.process_id == draft.process_id, CaseRun.content_sha == content_sha(draft),
        CaseRun.case_key.is_(None), CaseRun.state.in_(("passed", "failed")))
        .order_by(CaseRun.id.desc()).limit(1))


def _unreached(run: CaseRun | None) -> list[str] | None:
    """The elements no case reached when every case of ``run`` passed; None when the run is
    missing or a case failed (then nothing can be published)."""
    results = (run.results or {}) if run is not None else {}
    if not results.get("results") or results.get("failed", 1) or run is None:
        return None
    return [str(e) for e in results.get("uncovered") or []]


def draft_cases(draft: ProcessDraft) -> list[case_files.Case]:
    """The draft's test cases: workflows_tests/<process>/, with those edited in the editor
    replacing or adding to them (by key)."""
    found = {c.key: c for c in case_files.load(draft.process_id)}
    for key, content in (draft.cases or {}).items():
        found[key] = case_files.Case(key, content)
    return [found[k] for k in sorted(found)]


def save_case(actor: User, process_id: str, key: Any, content: Any) -> DraftView:
    """Add or replace a test case of the draft (checked against the case format)."""
    if not isinstance(key, str) or not CASE_KEY.match(key):
        raise InvalidInput(_("用例编号只能由小写字母、数字和下划线组成（最多 60 个字符）"),
                           {"key": _("用例编号只能由小写字母、数字和下划线组成")})
    found = case_files.case_problems(content)
    if found:
        raise InvalidInput(_("用例格式不正确"), {"content": "；".join(found[:3])})
    draft = db.session.scalar(select(ProcessDraft).where(ProcessDraft.process_id == process_id)
                              .with_for_update())
    if draft is None:
        raise NotFound(_("没有草稿，请先打开编辑器"))
    draft.cases = {**(draft.cases or {}), key: content}
    draft.updated_by, draft.updated_at = actor.username, utcnow()
    audit.record(actor, "process.case_saved", "process_definition", process_id, {"case": key})
    db.session.commit()
    return _view(draft, process_name(process_id))


@dataclass(frozen=True)
class TaskFields:
    """What a case step of a user task needs: its id, lane and the fields of its form."""

    spec_id: str
    title: str
    lane: str | None
    form_id: str
    fields: list[str]
    required: list[str]


def case_sheet(process_id: str) -> tuple[list[case_files.Case], list[TaskFields]]:
    """The draft's cases, and the user tasks with their form fields (the case editor's helper;
    the first row, ``start``, is the form the application starts with)."""
    draft = loaded(process_id)
    forms = known_forms(draft)
    defn, _found = definitions.check(draft.bpmn_xml, forms, process_id)
    rows: list[TaskFields] = []
    if defn is not None:
        start = definitions.start_form_id(defn)
        pairs = [("start", _("开始（申请表）"), None, start)] + [
            (t.spec_id, t.title, t.lane, t.form_id) for t in sorted(
                defn.user_tasks.values(), key=lambda t: t.spec_id)]
        for spec_id, title, lane, form_id in pairs:
            schema = forms.get(form_id) or {}
            props = schema.get("properties")
            required = schema.get("required")
            rows.append(TaskFields(spec_id, title, lane, form_id,
                                   sorted(props) if isinstance(props, dict) else [],
                                   [str(r) for r in required] if isinstance(required, list) else []))
    found = draft_cases(draft)
    db.session.rollback()
    return found, rows


def draft_of(process_id: str) -> ProcessDraft | None:
    return _draft(process_id)


def _draft(process_id: str) -> ProcessDraft | None:
    return db.session.scalar(select(ProcessDraft).where(ProcessDraft.process_id == process_id))


def open_draft(actor: User, process_id: str) -> DraftView:
    """The process's draft; the first opening copies the published version."""
    draft = _draft(process_id)
    if draft is not None:
        return _view(draft, process_name(process_id))
    current = definitions.published(process_id)
    draft = ProcessDraft(process_id=process_id, base_version=current.version,
                         bpmn_xml=current.bpmn_xml, forms=dict(current.forms), revision=1,
                         cases=dict(current.cases or {}),
                         updated_by=actor.username, updated_at=utcnow())
    db.session.add(draft)
    db.session.commit()
    return _view(draft, current.name)


def _check_forms_payload(forms: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(forms, dict) or not all(
            isinstance(k, str) and isinstance(v, dict) for k, v in forms.items()):
        raise InvalidInput(_("表单数据格式不正确"), {"forms": _("每个表单必须是一个 JSON 对象")})
    if len(json.dumps(forms, ensure_ascii=False).encode()) > MAX_FORMS:
        raise InvalidInput(_("表单过大（超过 1 MB）"), {"forms": _("表单过大")})
    return forms


def save_draft(actor: User, process_id: str, xml: Any, forms: Any, revision: Any) -> DraftView:
    """Save the editor's content as it is (checks come separately, so no edit is ever refused
    for being unfinished). Refuses a save based on an older revision."""
    if not isinstance(xml, str) or not xml.strip():
        raise InvalidInput(_("流程图内容为空"), {"xml": _("流程图内容为空")})
    if len(xml.encode()) > MAX_XML:
        raise InvalidInput(_("流程图过大（超过 2 MB）"), {"xml": _("流程图过大")})
    checked = _check_forms_payload(forms)
    draft = db.session.scalar(select(ProcessDraft).where(ProcessDraft.process_id == process_id)
                              .with_for_update())
    if draft is None:
        raise NotFound(_("草稿已被发布或放弃，请重新打开编辑器"))
    if revision != draft.revision:
        db.session.rollback()
        raise Conflict(_("草稿已在其他窗口或由其他管理员修改（最新修订 %(n)s），"
                         "您的修改仍保留在本机，请刷新页面后再编辑", n=draft.revision))
    draft.bpmn_xml, draft.forms = xml, checked
    draft.revision += 1
    draft.updated_by, draft.updated_at = actor.username, utcnow()
    db.session.commit()
    return _view(draft, process_name(process_id))


def discard_draft(actor: User, process_id: str) -> None:
    """Throw the draft away (the published versions are untouched)."""
    draft = _draft(process_id)
    if draft is not None:
        db.session.delete(draft)
        audit.record(actor, "process.draft_discarded", "process_definition", process_id,
                     {"revision": draft.revision})
        configured_types.forget_unpublished(process_id)
    db.session.commit()


def content_sha(draft: ProcessDraft) -> str:
    """The hash of what a run tests: the diagram, the forms and the test cases."""
    tested = {c.key: c.content for c in draft_cases(draft)}
    blob = "\0".join((draft.bpmn_xml, json.dumps(draft.forms, sort_keys=True, ensure_ascii=False),
                      json.dumps(tested, sort_keys=True, ensure_ascii=False)))
    return hashlib.sha256(blob.encode()).hexdigest()


def known_forms(draft: ProcessDraft) -> dict[str, dict[str, Any]]:
    return {**definitions.all_forms(), **draft.forms}


def _form_problems(forms: dict[str, Any]) -> list[Problem]:
    """Each form against the dialect (docs/forms.md), with the form's id in the message."""
    return [Problem("", _("表单 %(f)s：%(m)s", f=fid, m=m))
            for fid, schema in sorted(forms.items()) for m in form_service.problems(schema)]


def problems_of(draft: ProcessDraft) -> list[Problem]:
    defn, found = definitions.check(draft.bpmn_xml, known_forms(draft), draft.process_id)
    on_tasks = {p.message for p in found}  # a used form's problems are shown on its task
    problems = [p for p in _form_problems(draft.forms) if p.message not in on_tasks]
    problems.extend(found)
    if defn is not None and defn.process_id != draft.process_id:
        problems.append(Problem("", _("流程编号必须保持为 %(p)s", p=draft.process_id)))
    problems.extend(configured_types.operation_problems(draft.process_id, draft.bpmn_xml))
    return problems


def loaded(process_id: str) -> ProcessDraft:
    draft = _draft(process_id)
    if draft is None:
        raise NotFound(_("没有草稿，请先打开编辑器"))
    return draft


def check_draft(process_id: str) -> list[Problem]:
    """Every problem of the saved draft, with the element it is on (empty: acceptable)."""
    problems = problems_of(loaded(process_id))
    db.session.rollback()
    return problems


def _pretty_forms(forms: dict[str, Any]) -> list[str]:
    return json.dumps(forms, ensure_ascii=False, indent=2, sort_keys=True).splitlines()


def diff(process_id: str) -> list[str]:
    """Unified difference of the draft (diagram, then forms) to the published version."""
    draft = loaded(process_id)
    try:
        current = definitions.published(process_id)
        old_xml, old_forms, label = current.bpmn_xml, dict(current.forms), f"版本 {current.version}"
    except NotFound:  # a new process: everything is new
        old_xml, old_forms, label = "", {}, _("（尚未发布）")
    lines = list(difflib.unified_diff(
        old_xml.splitlines(), draft.bpmn_xml.splitlines(),
        f"{label}/{process_id}.bpmn", f"草稿/{process_id}.bpmn", lineterm=""))
    lines += difflib.unified_diff(_pretty_forms(old_forms), _pretty_forms(draft.forms),
                                  f"{label}/表单", "草稿/表单", lineterm="")
    db.session.rollback()
    return lines


def _new_version(actor: User, process_id: str, xml: str, forms: dict[str, Any],
                 note: str) -> ProcessDefinition:
    defn, problems = definitions.check(xml, {**definitions.all_forms(), **forms}, process_id)
    if defn is None:
        raise InvalidInput(_("流程未通过校验"), {"xml": "；".join(p.message for p in problems[:5])})
    known = {**definitions.all_forms(), **forms}
    used = {fid: known[fid] for fid in sorted(defn.form_ids | {definitions.start_form_id(defn)})
            if fid in known}
    latest = db.session.scalar(select(func.max(ProcessDefinition.version))
                               .where(ProcessDefinition.process_id == process_id)) or 0
    row = ProcessDefinition(process_id=process_id, version=latest + 1, name=defn.name,
                            bpmn_xml=xml, forms=used, spec_json=defn.spec_json,
                            sha256=hashlib.sha256(xml.encode()).hexdigest(),
                            published_at=utcnow(), author=actor.username, note=note[:200] or None)
    db.session.add(row)
    db.session.flush()
    definitions.forget_published()
    return row


def _clean_exceptions(exceptions: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(k).strip(): (v.strip() if isinstance(v, str) else "")
            for k, v in (exceptions or {}).items() if str(k).strip()}


def _coverage_gate(draft: ProcessDraft, exceptions: dict[str, str]) -> None:
    """Refuse unless the latest run of every case on the present content is green and each
    element no case reaches is named as an exception with a reason (and only those)."""
    run = _latest_full_run(draft)
    unreached = _unreached(run)
    if unreached is None:
        db.session.rollback()
        raise DomainError(_("请先运行测试用例；草稿的当前内容全部通过、流程图每个元素都有用例到达"
                            "（或将未到达的元素列为例外并说明理由）后才能发布"))
    errors = {f"exception-{e}": _("元素 %(e)s 已有测试用例到达，不能列为例外", e=e)
              for e in exceptions if e not in unreached}
    errors |= {f"reason-{e}": _("请填写理由：为什么没有测试用例到达元素 %(e)s", e=e)
               for e, reason in exceptions.items() if e in unreached and not reason}
    if errors:
        db.session.rollback()
        raise InvalidInput(_("例外不正确：%(m)s", m=next(iter(errors.values()))), errors)
    missing = [e for e in unreached if e not in exceptions]
    if missing:
        db.session.rollback()
        raise DomainError(_("以下元素没有测试用例到达：%(m)s；请补充测试用例，或勾选为例外并填写理由",
                            m="、".join(missing)))


def publish(actor: User, process_id: str, note: str,
            exceptions: Mapping[str, Any] | None = None) -> int:
    """Publish the draft as the next version; returns the version number. ``exceptions`` names
    the flow elements no test case reaches that are published anyway, each with its reason
    (recorded on the version and in the audit event)."""
    draft = db.session.scalar(select(ProcessDraft).where(ProcessDraft.process_id == process_id)
                              .with_for_update())
    if draft is None:
        raise NotFound(_("没有草稿，请先打开编辑器"))
    problems = problems_of(draft)
    if problems:
        db.session.rollback()
        raise DomainError(_("草稿未通过校验（%(n)s 个问题），不能发布", n=len(problems)))
    excepted = _clean_exceptions(exceptions)
    _coverage_gate(draft, excepted)
    row = _new_version(actor, process_id, draft.bpmn_xml, dict(draft.forms),
                       note.strip() or (_("基于版本 %(v)s 修改", v=draft.base_version)
                                        if draft.base_version else _("新建流程")))
    row.cases = dict(draft.cases) if draft.cases else None
    row.coverage_exceptions = dict(sorted(excepted.items())) or None
    db.session.delete(draft)
    event: dict[str, Any] = {"process_id": process_id, "version": row.version, "note": row.note}
    if excepted:
        event["coverage_exceptions"] = row.coverage_exceptions
    audit.record(actor, "process.published", "process_definition", row.id, event)
    db.session.commit()
    return row.version


def rollback(actor: User, process_id: str, version: int) -> int:
    """Make an earlier version current again by publishing a copy of it as the next version."""
    old = db.session.scalar(select(ProcessDefinition).where(
        ProcessDefinition.process_id == process_id, ProcessDefinition.version == version))
    if old is None:
        raise NotFound(_("没有这个版本"))
    if definitions.published(process_id).version == version:
        raise DomainError(_("版本 %(v)s 已是当前版本", v=version))
    row = _new_version(actor, process_id, old.bpmn_xml, dict(old.forms),
                       _("回滚至版本 %(v)s", v=version))
    audit.record(actor, "process.rolled_back", "process_definition", row.id,
                 {"process_id": process_id, "version": row.version, "from_version": version})
    db.session.commit()
    return row.version


def form_preview(schema: Any) -> list[form_service.FieldView]:
    """The fields a form schema renders to (the editor's live preview); a form outside the
    dialect is refused with every problem found, next to the form's text."""
    problems = form_service.problems(schema)
    if problems:
        raise InvalidInput(_("表单不符合表单格式（%(n)s 个问题）：%(m)s", n=len(problems),
                             m=problems[0]), {"schema": "；".join(problems)})
    return form_service.field_views(schema, {}, {}, {})


def editor_choices(draft: DraftView) -> tuple[list[str], list[str]]:
    """(form ids, operation names) the properties panel offers (for a type created in the
    browser, the operations chosen for it)."""
    allowed = configured_types.allowed_operations(draft.process_id)
    return (sorted(set(definitions.all_forms()) | set(draft.forms)),
            sorted(allowed if allowed is not None else operations.names()))
