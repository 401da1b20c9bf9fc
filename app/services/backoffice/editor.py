"""The administrator's process editor: drafts, checks, scenarios, difference, publish, rollback.

A draft is saved on every edit (one per process; a save names the revision it edited, so two
windows never overwrite each other silently). Publishing needs a draft that passes every
check and whose exact content passed the process's scenarios; it adds a new version, and
running applications stay on the version they started with.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy import select

from app.extensions import db
from app.models import ProcessDefinition
from app.models import ProcessDraft
from app.models import ProcessInstance
from app.models import User
from app.models.base import utcnow
from app.services.applications import forms as form_service
from app.services.applications import operations
from app.services.backoffice import definitions
from app.services.errors import Conflict
from app.services.errors import DomainError
from app.services.errors import InvalidInput
from app.services.errors import NotFound
from app.services.platform import audit
from app.workflow import Problem

MAX_XML = 2 * 1024 * 1024
MAX_FORMS = 1024 * 1024
SCENARIO_TIMEOUT = 300
_RESULT = "@@RESULT@@"


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
    scenarios_passed: bool


@dataclass(frozen=True)
class ScenarioReport:
    ok: bool
    passed: int
    failures: list[dict[str, str]]
    uncovered: list[str]
    message: str


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
    return list(out.values())


def versions(process_id: str) -> list[VersionRow]:
    """The versions of a process, newest first; ``current`` is the one new applications use."""
    rows = db.session.scalars(select(ProcessDefinition)
                              .where(ProcessDefinition.process_id == process_id)
                              .order_by(ProcessDefinition.version.desc())).all()
    if not rows:
        raise NotFound(_("没有这个业务流程"))
    running = _running_by_definition()
    current = definitions.published(process_id).version
    return [VersionRow(r.version, r.author, r.published_at, r.note, running.get(r.id, 0),
                       r.version == current) for r in rows]


def _view(d: ProcessDraft, name: str) -> DraftView:
    return DraftView(d.process_id, name, d.base_version, d.bpmn_xml, dict(d.forms), d.revision,
                     d.updated_by, d.updated_at, d.scenarios_passed_sha == _content_sha(d))


def _draft(process_id: str) -> ProcessDraft | None:
    return db.session.scalar(select(ProcessDraft).where(ProcessDraft.process_id == process_id))


def open_draft(actor: User, process_id: str) -> DraftView:
    """The process's draft; the first opening copies the published version."""
    current = definitions.published(process_id)
    draft = _draft(process_id)
    if draft is None:
        draft = ProcessDraft(process_id=process_id, base_version=current.version,
                             bpmn_xml=current.bpmn_xml, forms=dict(current.forms), revision=1,
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
    current = definitions.published(process_id)
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
    return _view(draft, current.name)


def discard_draft(actor: User, process_id: str) -> None:
    """Throw the draft away (the published versions are untouched)."""
    draft = _draft(process_id)
    if draft is not None:
        db.session.delete(draft)
        audit.record(actor, "process.draft_discarded", "process_definition", process_id,
                     {"revision": draft.revision})
    db.session.commit()


def _content_sha(draft: ProcessDraft) -> str:
    blob = draft.bpmn_xml + "\0" + json.dumps(draft.forms, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def _known_forms(draft: ProcessDraft) -> dict[str, dict[str, Any]]:
    return {**definitions.all_forms(), **draft.forms}


def _form_problems(forms: dict[str, Any]) -> list[Problem]:
    """Each form against the dialect (docs/forms.md), with the form's id in the message."""
    return [Problem("", _("表单 %(f)s：%(m)s", f=fid, m=m))
            for fid, schema in sorted(forms.items()) for m in form_service.problems(schema)]


def _problems(draft: ProcessDraft) -> list[Problem]:
    defn, found = definitions.check(draft.bpmn_xml, _known_forms(draft), draft.process_id)
    on_tasks = {p.message for p in found}  # a used form's problems are shown on its task
    problems = [p for p in _form_problems(draft.forms) if p.message not in on_tasks]
    problems.extend(found)
    if defn is not None and defn.process_id != draft.process_id:
        problems.append(Problem("", _("流程编号必须保持为 %(p)s", p=draft.process_id)))
    return problems


def _loaded(process_id: str) -> ProcessDraft:
    draft = _draft(process_id)
    if draft is None:
        raise NotFound(_("没有草稿，请先打开编辑器"))
    return draft


def check_draft(process_id: str) -> list[Problem]:
    """Every problem of the saved draft, with the element it is on (empty: acceptable)."""
    problems = _problems(_loaded(process_id))
    db.session.rollback()
    return problems


def _scenario_env(draft: ProcessDraft, workdir: Path) -> dict[str, str]:
    (workdir / "bpmn").mkdir()
    (workdir / "forms").mkdir()
    (workdir / "bpmn" / f"{draft.process_id}.bpmn").write_text(draft.bpmn_xml, "utf-8")
    for fid, schema in _known_forms(draft).items():
        if "/" in fid or fid.startswith("."):
            continue
        (workdir / "forms" / f"{fid}.json").write_text(json.dumps(schema, ensure_ascii=False),
                                                        "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDREG_SCENARIO")}
    env["MEDREG_SCENARIO_DIR"] = str(workdir)
    return env


def run_scenarios(actor: User, process_id: str) -> ScenarioReport:
    """Run the process's workflows_tests scenarios against the saved draft (in a separate
    interpreter with the draft copied to a temporary folder) and remember a green run."""
    draft = _loaded(process_id)
    problems = _problems(draft)
    if problems:
        db.session.rollback()
        return ScenarioReport(False, 0, [], [], _("草稿未通过校验（%(n)s 个问题），请先修正", n=len(problems)))
    sha = _content_sha(draft)
    with tempfile.TemporaryDirectory(prefix="medreg-scenarios-") as tmp:
        env = _scenario_env(draft, Path(tmp))
        db.session.rollback()  # no transaction stays open while the scenarios run
        try:
            proc = subprocess.run(  # noqa: S603 - fixed interpreter and module, no shell
                [sys.executable, "-m", "workflows_tests.draft_run", process_id],
                cwd=definitions.ROOT, env=env, capture_output=True, text=True,
                timeout=SCENARIO_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            return ScenarioReport(False, 0, [], [], _("场景测试超时（%(s)s 秒）", s=SCENARIO_TIMEOUT))
    marker = proc.stdout.rfind(_RESULT)
    if marker < 0:
        tail = (proc.stderr or proc.stdout)[-2000:]
        return ScenarioReport(False, 0, [{"name": "场景测试无法运行", "detail": tail}], [],
                              _("场景测试无法运行"))
    result = json.loads(proc.stdout[marker + len(_RESULT):])
    tests = result["tests"]
    failures = [{"name": t["name"], "detail": t["detail"]} for t in tests if t["outcome"] == "failed"]
    passed = sum(1 for t in tests if t["outcome"] == "passed")
    if not tests:
        return ScenarioReport(False, 0, [], [], _("该流程没有场景测试，不能发布"))
    ok = not failures
    draft = _loaded(process_id)
    if ok and _content_sha(draft) == sha:
        draft.scenarios_passed_sha = sha
    audit.record(actor, "process.scenarios", "process_definition", process_id,
                 {"passed": passed, "failed": len(failures), "revision": draft.revision})
    db.session.commit()
    message = (_("场景测试全部通过（%(n)s 个）", n=passed) if ok else
               _("%(f)s 个场景失败，%(n)s 个通过", f=len(failures), n=passed))
    return ScenarioReport(ok, passed, failures, result.get("uncovered", []), message)


def _pretty_forms(forms: dict[str, Any]) -> list[str]:
    return json.dumps(forms, ensure_ascii=False, indent=2, sort_keys=True).splitlines()


def diff(process_id: str) -> list[str]:
    """Unified difference of the draft (diagram, then forms) to the published version."""
    draft = _loaded(process_id)
    current = definitions.published(process_id)
    lines = list(difflib.unified_diff(
        current.bpmn_xml.splitlines(), draft.bpmn_xml.splitlines(),
        f"版本 {current.version}/{process_id}.bpmn", f"草稿/{process_id}.bpmn", lineterm=""))
    lines += difflib.unified_diff(_pretty_forms(current.forms), _pretty_forms(draft.forms),
                                  f"版本 {current.version}/表单", "草稿/表单", lineterm="")
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
    return row


def publish(actor: User, process_id: str, note: str) -> int:
    """Publish the draft as the next version; returns the version number."""
    draft = db.session.scalar(select(ProcessDraft).where(ProcessDraft.process_id == process_id)
                              .with_for_update())
    if draft is None:
        raise NotFound(_("没有草稿，请先打开编辑器"))
    problems = _problems(draft)
    if problems:
        db.session.rollback()
        raise DomainError(_("草稿未通过校验（%(n)s 个问题），不能发布", n=len(problems)))
    if draft.scenarios_passed_sha != _content_sha(draft):
        db.session.rollback()
        raise DomainError(_("请先运行场景测试；草稿的当前内容全部通过后才能发布"))
    row = _new_version(actor, process_id, draft.bpmn_xml, dict(draft.forms),
                       note.strip() or _("基于版本 %(v)s 修改", v=draft.base_version))
    db.session.delete(draft)
    audit.record(actor, "process.published", "process_definition", row.id,
                 {"process_id": process_id, "version": row.version, "note": row.note})
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
    """(form ids, operation names) the properties panel offers."""
    return sorted(set(definitions.all_forms()) | set(draft.forms)), sorted(operations.names())
