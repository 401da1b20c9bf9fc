"""Process definitions: the baseline in bpmn/ and forms/, versions, and checks."""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy import select

from app import resources
from app.extensions import db
from app.models import ProcessDefinition
from app.models import Role
from app.models.base import utcnow
from app.services.applications import forms as form_service
from app.services.applications import operations
from app.services.engine.clock import script_functions
from app.services.engine.workdays import WorkCalendar
from app.services.errors import NotFound
from app.services.platform import pagehead
from app.workflow.errors import Problem
from app.workflow.errors import WorkflowError
from app.workflow.flags import TaskFlags
from app.workflow.spec import Definition
from app.workflow.spec import stored_definition

ROOT = Path(__file__).resolve().parents[3]  # the checkout (the editor's scenario run only)
LANES = frozenset({"physician", "institution", "target_institution", "commission", "admin"})
START_TASK = "physician_apply"

_lock = threading.Lock()
_defs: dict[tuple[int, str], Definition] = {}


def all_forms(forms_dir: Path | None = None) -> dict[str, dict[str, Any]]:
    """Every form in ``forms/`` (the shipped one unless given) by id (file stem)."""
    folder = resources.forms_dir() if forms_dir is None else forms_dir
    return {p.stem: json.loads(p.read_text("utf-8")) for p in sorted(folder.glob("*.json"))}


def function_names() -> set[str]:
    return set(script_functions(WorkCalendar()))


def check(xml: bytes | str, forms: dict[str, dict[str, Any]],
          process_id: str | None = None) -> tuple[Definition | None, list[Problem]]:
    """Validate a diagram as an upload is validated, with its forms (docs/forms.md): those of
    its user tasks, and the start form a physician fills in when no task names it."""
    from app.workflow import validate_bpmn  # the engine: checking a diagram parses it

    defn, problems = validate_bpmn(xml, forms=forms, operations=operations.names(),
                                   functions=function_names(), lanes=LANES, process_id=process_id,
                                   option_sources=form_service.OPTION_SOURCES)
    if defn is None:
        return defn, problems
    start = start_form_id(defn)
    if start in forms and start not in defn.form_ids:
        problems = [Problem("", f"表单 {start}：{m}") for m in form_service.problems(forms[start])]
    return (defn if not problems else None), problems


@dataclass(frozen=True)
class FileProblem:
    path: str
    element_id: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.element_id}" if self.element_id else self.path
        return f"{where}: {self.message}"


def check_files(paths: list[Path]) -> list[FileProblem]:
    """Validate diagram files (the ``flask bpmn validate`` command)."""
    forms = all_forms()
    out: list[FileProblem] = []
    for path in paths:
        try:
            xml = path.read_bytes()
        except OSError as exc:
            out.append(FileProblem(str(path), "", f"无法读取：{exc.strerror}"))
            continue
        _defn, problems = check(xml, forms)
        out.extend(FileProblem(str(path), p.element_id, p.message) for p in problems)
    return out


def baseline_files(bpmn_dir: Path | None = None) -> list[Path]:
    """The shipped diagrams; a missing or empty folder is an install error, never "nothing new"."""
    folder = resources.bpmn_dir() if bpmn_dir is None else bpmn_dir
    if not folder.is_dir():
        raise resources.MissingResource(f"找不到 bpmn/ 目录（查找位置：{folder}）；安装包不完整，请重新构建并安装")
    paths = sorted(folder.glob("*.bpmn"))
    if not paths:
        raise resources.MissingResource(f"bpmn/ 目录中没有流程图（{folder}）；安装包不完整，请重新构建并安装")
    return paths


def load_baseline(author: str = "system", bpmn_dir: Path | None = None,
                  forms_dir: Path | None = None) -> list[str]:
    """Load each shipped ``bpmn/*.bpmn`` as version 1 of its process if none exists
    (idempotent); raises ``MissingResource`` when the diagrams are not installed."""
    paths = baseline_files(bpmn_dir)
    forms = all_forms(forms_dir)
    loaded = []
    for path in paths:
        xml = path.read_text("utf-8")
        defn, problems = check(xml, forms, path.stem)
        if defn is None:
            raise WorkflowError(f"{path.name} 未通过校验", problems)
        if db.session.scalar(select(func.count()).select_from(ProcessDefinition)
                             .where(ProcessDefinition.process_id == defn.process_id)):
            continue
        used = {fid: forms[fid] for fid in sorted(defn.form_ids | {start_form_id(defn)})
                if fid in forms}
        db.session.add(ProcessDefinition(
            process_id=defn.process_id, version=1, name=defn.name, bpmn_xml=xml, forms=used,
            spec_json=defn.spec_json, sha256=hashlib.sha256(xml.encode()).hexdigest(),
            published_at=utcnow(), author=author))
        loaded.append(defn.process_id)
    db.session.commit()
    forget_published()
    return loaded


def published(process_id: str) -> ProcessDefinition:
    """The newest published version of a process."""
    row = db.session.scalar(
        select(ProcessDefinition)
        .where(ProcessDefinition.process_id == process_id,
               ProcessDefinition.published_at.is_not(None))
        .order_by(ProcessDefinition.version.desc()).limit(1))
    if row is None:
        raise NotFound(_("该业务流程尚未发布"))
    return row


def definition_of(row: ProcessDefinition) -> Definition:
    """The definition of a stored version: its name and user tasks read from the specs it was
    stored with, without loading the engine (cached; versions never change)."""
    key = (row.id, row.sha256)
    with _lock:
        hit = _defs.get(key)
    if hit is not None:
        return hit
    try:
        defn = stored_definition(row.spec_json)
    except (KeyError, TypeError, ValueError):  # specs of another shape: parse the diagram instead
        from app.workflow import load_definition

        parsed = load_definition(row.bpmn_xml, row.process_id)
        defn = Definition(parsed.process_id, parsed.name, row.spec_json, parsed.user_tasks)
    with _lock:
        _defs[key] = defn
    return defn


@dataclass(frozen=True)
class Version:
    """What a step needs of an instance's definition version (immutable, cached)."""

    id: int
    process_id: str
    version: int
    forms: dict[str, Any]
    definition: Definition


_versions: dict[tuple[str, int], Version] = {}


_database_keys: dict[Any, str] = {}


def _database_key() -> str:
    """The URL of the app's database, rendered once per engine (a page asks per task row)."""
    engine = db.engine
    key = _database_keys.get(engine)
    if key is None:
        key = _database_keys[engine] = engine.url.render_as_string()
    return key


def published_version(process_id: str) -> Version:
    """The newest published version of a process, from this request's list of newest versions
    and the cache of versions (no row of the diagram, forms and spec is read)."""
    for definition_id, pid, _name in newest_published():
        if pid == process_id:
            return version_by_id(definition_id)
    raise NotFound(_("该业务流程尚未发布"))


def version_by_id(definition_id: int) -> Version:
    """The cached version of a definition row: a step reads nothing of the diagram, forms or
    spec (versions are immutable and never deleted; see :func:`forget_versions`)."""
    key = (_database_key(), definition_id)  # one process may serve two databases
    with _lock:
        hit = _versions.get(key)
    if hit is not None:
        return hit
    row = db.session.get(ProcessDefinition, definition_id)
    if row is None:
        raise NotFound(_("该业务流程版本不存在"))
    version = Version(row.id, row.process_id, row.version, dict(row.forms), definition_of(row))
    with _lock:
        _versions[key] = version
    return version


def published_versions() -> list[Version]:
    """The newest published version of every process (one small query per request; the rest
    cached)."""
    return [version_by_id(i) for i, _pid, _name in newest_published()]


def _newest_published_statement() -> Any:
    newest = (select(ProcessDefinition.process_id, func.max(ProcessDefinition.version).label("v"))
              .where(ProcessDefinition.published_at.is_not(None))
              .group_by(ProcessDefinition.process_id).subquery())
    return (select(ProcessDefinition.id, ProcessDefinition.process_id, ProcessDefinition.name)
            .join(newest, (ProcessDefinition.process_id == newest.c.process_id)
                  & (ProcessDefinition.version == newest.c.v))
            .order_by(ProcessDefinition.process_id))


_NEWEST_PUBLISHED = _newest_published_statement()  # built once: every page asks


def newest_published() -> list[tuple[int, str, str]]:
    """(id, process id, name) of the newest published version of every process, by process id.

    Once per request at most (the inbox page asks for it for its filters, the business types'
    names and the menu); across requests only for the same publication stamp, read with the
    session (app.services.platform.pagehead): another process may publish at any moment."""
    from flask import has_request_context
    from flask import request

    memo: list[tuple[int, str, str]] | None = (
        getattr(request, "medreg_published", None) if has_request_context() else None)
    if memo is not None:
        return memo
    stamp = pagehead.published_stamp()
    key = (_database_key(), *(stamp or (-1, -1)))
    rows = _published_by_stamp.get(key) if stamp is not None else None
    if rows is None:
        rows = [(i, pid, name) for i, pid, name in db.session.execute(_NEWEST_PUBLISHED)]
        if stamp is not None and max((i for i, _p, _n in rows), default=0) == stamp[0]:
            # kept only when no newer version came since the stamp was read (one committed
            # meanwhile with a smaller id changes the count: the next stamp reads again)
            with _lock:
                if len(_published_by_stamp) > 8:
                    _published_by_stamp.clear()
                _published_by_stamp[key] = rows
    if has_request_context():
        request.medreg_published = rows  # type: ignore[attr-defined]
    return rows


_published_by_stamp: dict[tuple[str, int, int], list[tuple[int, str, str]]] = {}


def forget_published() -> None:
    """After publishing in this request: read the newest versions again."""
    from flask import g
    from flask import has_app_context
    from flask import has_request_context
    from flask import request

    if has_request_context() and hasattr(request, "medreg_published"):
        del request.medreg_published
    pagehead.forget_stamp()
    if has_app_context():
        g.pop("medreg_type_names", None)


def forget_versions() -> None:
    """Empty the caches (for tests that delete definition rows, whose ids SQLite may reuse)."""
    with _lock:
        _versions.clear()
        _defs.clear()
        _published_by_stamp.clear()


def task_flags(definition_id: int, spec_id: str) -> TaskFlags:
    """What the diagram of a definition version allows at one user task (批量确认, 医师可撤回,
    补正时不可修改的字段); a step that is not a user task of it (e.g. ``submit``) allows nothing."""
    task = version_by_id(definition_id).definition.user_tasks.get(spec_id)
    return task.flags if task is not None else TaskFlags()


def start_form_id(defn: Definition) -> str:
    """The form a process starts with: that of the applicant's correction task
    (``physician_apply`` / ``institution_supplement``), else ``<process>_apply``."""
    for spec_id in (START_TASK, "institution_supplement"):
        task = defn.user_tasks.get(spec_id)
        if task is not None:
            return task.form_id
    return f"{defn.process_id}_apply"


def lane_role(lane: str | None) -> Role | None:
    """The role that works a lane."""
    return {"physician": Role.PHYSICIAN, "institution": Role.INSTITUTION,
            "target_institution": Role.INSTITUTION, "commission": Role.COMMISSION,
            "admin": Role.ADMIN}.get(lane or "")
