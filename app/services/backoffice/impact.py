"""Impact before publish: running applications per version and the tasks they wait at, what
the draft removes or changes there, and the audited migration of waiting applications to the
current version (where the diagram allows it; refused otherwise with the reason).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.models import ProcessDefinition
from app.models import ProcessDraft
from app.models import ProcessInstance
from app.models import TaskStatus
from app.models import User
from app.models.base import utcnow
from app.services.backoffice import definitions
from app.services.errors import Conflict
from app.services.errors import DomainError
from app.services.errors import NotFound
from app.services.platform import audit
from app.workflow.errors import WorkflowError
from app.workflow.spec import Definition

REMOVED = "草稿中已删除该环节"
FORM_CHANGED = "草稿中该环节的表单已改变"
LANE_CHANGED = "草稿中该环节的泳道（办理角色）已改变"
WAITING_ONLY = "（等待定时器或自动环节）"


@dataclass(frozen=True)
class TaskImpact:
    """Running applications waiting at one task of a version."""

    spec_id: str
    title: str
    count: int
    changes: list[str]  # what the draft does to it (empty: unchanged)


@dataclass(frozen=True)
class VersionImpact:
    version: int
    current: bool
    running: int
    tasks: list[TaskImpact]


@dataclass(frozen=True)
class Candidate:
    """A running application on an older version, and why it cannot move (empty: it can)."""

    instance_id: int
    version: int
    tasks: list[str]
    reasons: list[str]


@dataclass(frozen=True)
class Impact:
    process_id: str
    versions: list[VersionImpact]
    draft_checked: bool  # False: the draft does not parse, so its changes are unknown
    current_version: int
    candidates: list[Candidate]


@dataclass(frozen=True)
class Migrated:
    moved: list[int]
    refused: list[Candidate]


def _draft_definition(process_id: str) -> tuple[Definition | None, dict[str, object]]:
    draft = db.session.scalar(select(ProcessDraft).where(ProcessDraft.process_id == process_id))
    if draft is None:
        return None, {}
    from app.workflow import load_definition  # the engine: loaded when an impact is asked for

    try:
        return load_definition(draft.bpmn_xml, process_id), dict(draft.forms)
    except WorkflowError:
        return None, {}


def _task_changes(spec_id: str, old: definitions.Version, new: Definition,
                  new_forms: dict[str, object]) -> list[str]:
    before, after = old.definition.user_tasks.get(spec_id), new.user_tasks.get(spec_id)
    if before is None:
        return []
    if after is None:
        return [_(REMOVED)]
    out = []
    if after.form_id != before.form_id or (
            after.form_id in new_forms and new_forms[after.form_id] != old.forms.get(before.form_id)):
        out.append(_(FORM_CHANGED))
    if after.lane != before.lane:
        out.append(_(LANE_CHANGED))
    return out


def _running(process_id: str) -> list[tuple[ProcessInstance, list[HumanTask]]]:
    insts = db.session.scalars(select(ProcessInstance).where(
        ProcessInstance.process_id == process_id, ProcessInstance.completed_at.is_(None))
        .order_by(ProcessInstance.id)).all()
    open_tasks: dict[int, list[HumanTask]] = {}
    for t in db.session.scalars(select(HumanTask).join(ProcessInstance).where(
            ProcessInstance.process_id == process_id, ProcessInstance.completed_at.is_(None),
            HumanTask.status == TaskStatus.OPEN).order_by(HumanTask.id)):
        open_tasks.setdefault(t.instance_id, []).append(t)
    return [(i, open_tasks.get(i.id, [])) for i in insts]


def _reasons(inst: ProcessInstance, open_tasks: list[HumanTask],
             target: definitions.Version) -> list[str]:
    """Why ``inst`` cannot move to ``target`` (empty: it can)."""
    if inst.definition_id == target.id:
        return [_("已在当前版本")]
    if inst.error:
        return [_("该申请有失败的步骤，请先重试或处理")]
    old = definitions.version_by_id(inst.definition_id)
    out = []
    for t in open_tasks:
        after = target.definition.user_tasks.get(t.task_spec_id)
        if after is None:
            out.append(_("环节“%(t)s”在新版本中不存在", t=t.title))
        elif after.form_id != t.form_id or target.forms.get(after.form_id) != old.forms.get(t.form_id):
            out.append(_("环节“%(t)s”的表单在新版本中已改变", t=t.title))
        elif after.lane != t.lane:
            out.append(_("环节“%(t)s”的泳道在新版本中已改变", t=t.title))
    if out:
        return out
    from app.workflow.migrate import obstacles  # the engine

    return obstacles(inst.workflow_json, old.definition, target.definition)


def editor_draft_exists(process_id: str) -> bool:
    return db.session.scalar(select(ProcessDraft.id).where(
        ProcessDraft.process_id == process_id)) is not None


def impact(process_id: str) -> Impact:
    """Running applications per version, the tasks they wait at and what the draft does to
    those tasks; and, for the older versions, which applications can move to the current one."""
    rows = db.session.scalars(select(ProcessDefinition).where(
        ProcessDefinition.process_id == process_id).order_by(ProcessDefinition.version.desc())).all()
    if not rows:
        if editor_draft_exists(process_id):  # a new process (新建流程): nothing runs yet
            return Impact(process_id, [], True, 0, [])
        raise NotFound(_("没有这个业务流程"))
    current = definitions.version_by_id(definitions.published(process_id).id)
    draft, draft_forms = _draft_definition(process_id)
    running = _running(process_id)
    out: list[VersionImpact] = []
    candidates: list[Candidate] = []
    for row in rows:
        mine = [(i, ts) for i, ts in running if i.definition_id == row.id]
        if not mine:
            continue
        version = definitions.version_by_id(row.id)
        counts: Counter[tuple[str, str]] = Counter()
        for _inst, ts in mine:
            for t in ts:
                counts[(t.task_spec_id, t.title)] += 1
            if not ts:
                counts[("", _(WAITING_ONLY))] += 1
        tasks = [TaskImpact(sid, title, n,
                            _task_changes(sid, version, draft, draft_forms) if draft and sid else [])
                 for (sid, title), n in sorted(counts.items())]
        out.append(VersionImpact(row.version, row.id == current.id, len(mine), tasks))
        if row.id != current.id:
            candidates += [Candidate(i.id, row.version, [t.title for t in ts],
                                     _reasons(i, ts, current)) for i, ts in mine]
    db.session.rollback()
    return Impact(process_id, out, draft is not None, current.version, candidates)


def _move(actor: User, inst: ProcessInstance, target: definitions.Version) -> None:
    from app.workflow.migrate import migrate_state  # the engine

    old = definitions.version_by_id(inst.definition_id)
    inst.workflow_json = migrate_state(inst.workflow_json, old.definition, target.definition)
    inst.definition_id = target.id
    inst.updated_at = utcnow()
    audit.record(actor, "instance.migrated", "process_instance", inst.id,
                 {"process_id": inst.process_id, "from_version": old.version,
                  "to_version": target.version})


def migrate(actor: User, process_id: str, instance_id: int | None = None) -> Migrated:
    """Move one waiting application (``instance_id``) or every eligible one of the process to
    the current version, audited per application. One application that cannot move is refused
    with the reason; for "all", those that cannot move stay and are listed."""
    current = definitions.version_by_id(definitions.published(process_id).id)
    moved: list[int] = []
    refused: list[Candidate] = []
    try:
        for inst, ts in _running(process_id):
            if instance_id is not None and inst.id != instance_id:
                continue
            if instance_id is None and inst.definition_id == current.id:
                continue
            locked = db.session.scalar(select(ProcessInstance).where(ProcessInstance.id == inst.id)
                                       .with_for_update().execution_options(populate_existing=True))
            if locked is None or locked.completed_at is not None:
                continue  # finished meanwhile
            ts = list(db.session.scalars(select(HumanTask).where(  # as they are under the lock
                HumanTask.instance_id == inst.id, HumanTask.status == TaskStatus.OPEN)
                .order_by(HumanTask.id)))
            reasons = _reasons(locked, ts, current)
            if reasons:
                refused.append(Candidate(inst.id, definitions.version_by_id(inst.definition_id).version,
                                         [t.title for t in ts], reasons))
                continue
            _move(actor, locked, current)
            moved.append(inst.id)
        if instance_id is not None and not moved:
            if not refused:
                raise NotFound(_("没有这个办理中的申请"))
            raise Conflict(_("申请 %(i)s 不能迁移到版本 %(v)s：%(r)s", i=instance_id,
                             v=current.version, r="；".join(refused[0].reasons)))
        db.session.commit()
    except WorkflowError as exc:
        db.session.rollback()
        raise DomainError(_("迁移失败，申请未作任何更改：%(m)s", m=exc.message)) from exc
    except BaseException:
        db.session.rollback()
        raise
    return Migrated(moved, refused)
