"""Applications as running processes: start, complete a task, withdraw, fire timers.

Every public function here is one transaction: load (and lock) the instance, check,
step the engine, apply the effects, save the workflow and its human tasks, write
the audit event and the outbox, commit. Any failure rolls everything back.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Integer
from sqlalchemy import Select
from sqlalchemy import bindparam
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.models import HumanTask
from app.models import ProcessInstance
from app.models import Registration
from app.models import Role
from app.models import TaskStatus
from app.models import User
from app.models.base import utcnow
from app.services.applications import conflicts
from app.services.applications import forms
from app.services.applications import operations
from app.services.applications import prepare as applications
from app.services.applications import types
from app.services.applications import uploads
from app.services.applications.types import Starter
from app.services.applications.types import cancellation_report
from app.services.backoffice import calendar
from app.services.backoffice import definitions
from app.services.engine import acceptance
from app.services.engine import policies
from app.services.engine.assignment import scope_of_lane
from app.services.engine.clock import extend_clock
from app.services.engine.clock import received_on
from app.services.engine.clock import recompute
from app.services.engine.clock import restart_clock
from app.services.engine.clock import script_functions
from app.services.engine.clock import today_cst
from app.services.engine.context import StepContext
from app.services.engine.due import due_instance_ids as due_instance_ids  # the sweep's query
from app.services.engine.workdays import WorkCalendar
from app.services.errors import Conflict
from app.services.errors import DomainError
from app.services.errors import Forbidden
from app.services.errors import InvalidInput
from app.services.errors import NotFound
from app.services.platform import audit
from app.services.platform import idempotency
from app.services.platform import outbox
from app.workflow.budget import LIMIT_MESSAGE
from app.workflow.budget import LimitExceeded
from app.workflow.errors import WorkflowError
from app.workflow.spec import SERIALIZER_VERSION

if TYPE_CHECKING:
    from app.workflow import Runtime

ALREADY_HANDLED = "该任务已被处理"
log = logging.getLogger("medreg.processes")
_stepping: ContextVar[int | None] = ContextVar("medreg_stepping", default=None)  # instance id
_READ_MODEL = (ProcessInstance, HumanTask)  # a step's writes that travel with the audit head (PostgreSQL)


def _runtime_args(ctx: StepContext) -> dict[str, Any]:
    def services(name: str, params: dict[str, Any], data: dict[str, Any]) -> Any:
        return operations.call(ctx, name, params, data)

    return {"functions": script_functions(calendar.current()), "services": services}


def _due_at(clock: dict[str, Any] | None) -> datetime | None:
    if not clock or not clock.get("overdue_at") or clock.get("paused_on"):
        return None
    return datetime.fromisoformat(clock["overdue_at"])


def _save(ctx: StepContext, rt: Runtime, completed_guid: str | None = None) -> None:
    """Store the workflow, derive status and timers, and sync the human-task read model."""
    inst = ctx.instance
    rt.compact()  # finished history lives in the read model and the audit log, not the tree
    inst.workflow_json = rt.dump()  # stored zlib-compressed by its column type
    inst.serializer_version = SERIALIZER_VERSION
    data = rt.latest_data()
    clock = data.get("clock") if isinstance(data.get("clock"), dict) else None
    if clock:
        inst.due_on = datetime.fromisoformat(clock["due_on"]).date()
        inst.clock_paused = bool(clock.get("paused_on"))
        inst.received_on = received_on(clock)
    ready = rt.ready_tasks()
    if rt.completed:
        inst.business_status = operations.OUTCOMES.get(inst.outcome or "", "已办结")
        inst.completed_at = ctx.now
        inst.open_key = None
        inst.next_timer_at = None
    else:
        inst.next_timer_at = rt.next_timer_at()
        inst.business_status = (ready[0].status or ready[0].title) if ready else "处理中"
    inst.updated_at = ctx.now

    known = ctx.open_tasks if ctx.open_tasks is not None else db.session.scalars(
        select(HumanTask).where(HumanTask.instance_id == inst.id, HumanTask.status == TaskStatus.OPEN))
    open_rows = {t.task_guid: t for t in known if t.status == TaskStatus.OPEN}
    ready_ids = {t.id for t in ready}
    for guid, row in open_rows.items():
        if guid not in ready_ids and guid != completed_guid:
            row.status = TaskStatus.CANCELLED
            row.completed_at = ctx.now
    for task in ready:
        if task.id in open_rows:
            continue
        kind, scope_id = scope_of_lane(task.lane, inst)
        db.session.add(HumanTask(
            instance_id=inst.id, process_id=inst.process_id, task_guid=task.id,
            task_spec_id=task.spec_id, title=task.title, lane=task.lane, form_id=task.form_id,
            scope_kind=kind, scope_id=scope_id,
            due_at=_due_at(clock) if task.lane == "commission" else None, created_at=ctx.now))
        if task.lane == "physician":
            physician = (db.session.get(User, inst.subject_user_id) if inst.subject_user_id else None)
            if physician is not None:
                outbox.notify_user(physician, f"您的申请需要处理：{task.title}",
                                   f"您的申请（编号 {inst.id}）{task.status or task.title}，"
                                   "请登录系统查看意见并处理。", f"task:{task.id}")
    # no flush: the writes go with the audit head's statement (audit.record(pending=...)), or
    # with the next query's autoflush, or with the commit


def _causes(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        cur = todo.pop()
        if cur is None or any(cur is s for s in seen):
            continue
        seen.append(cur)
        todo += [getattr(cur, "exception", None), cur.__cause__, cur.__context__]
    return seen


def _fail(exc: WorkflowError) -> DomainError:
    """What a person is told when a step fails; internal details go to the log only."""
    causes = _causes(exc)
    if exc.message == ALREADY_HANDLED or any(isinstance(c, StaleDataError) for c in causes):
        return Conflict(ALREADY_HANDLED)
    log.error("workflow step failed: %s", exc.message, exc_info=exc)
    if any(isinstance(c, LimitExceeded) for c in causes):
        return DomainError(_("办理失败（%(m)s），申请未作任何更改，已记录供系统管理员处理。",
                             m=LIMIT_MESSAGE))
    return DomainError(_("办理失败，申请未作任何更改。请稍后重试，如仍有问题请联系系统管理员。"))


@contextmanager
def _step(files: uploads.Batch | None = None) -> Iterator[None]:
    """One transaction: any failure rolls all of it back and becomes a clear DomainError.

    ``files`` are the submission's uploads: on failure they leave the store again, and stay
    in the sender's temp area only when the form is shown again with its messages.
    """
    token = _stepping.set(None)
    try:
        yield
    except WorkflowError as exc:
        db.session.rollback()
        if files is not None:
            files.refused(shown_again=False)
        stepped = _stepping.get()
        limit = next((c for c in _causes(exc) if isinstance(c, LimitExceeded)), None)
        if stepped is not None and limit is not None:
            _mark_failed(stepped, limit.message)
        raise _fail(exc) from exc
    except StaleDataError as exc:
        db.session.rollback()
        if files is not None:
            files.refused(shown_again=False)
        raise Conflict(ALREADY_HANDLED) from exc
    except BaseException as exc:
        db.session.rollback()
        if files is not None:
            files.refused(shown_again=isinstance(exc, InvalidInput))
        raise
    finally:
        _stepping.reset(token)


def _mark_failed(instance_id: int, message: str) -> None:
    """After the rollback, in a transaction of its own: the instance shows the administrator
    its failed step (流程实例, 失败的步骤) until a retry succeeds; its timers stay."""
    try:
        inst = db.session.get(ProcessInstance, instance_id)
        if inst is not None:
            inst.error = message[:500]
            db.session.commit()
    except Exception:  # noqa: BLE001 - the person still gets the clear refusal
        db.session.rollback()
        log.exception("could not mark instance %s failed", instance_id)


def _commit(files: uploads.Batch) -> None:
    """Commit an accepted submission: its files enter the store first, in the transaction."""
    files.promote()
    db.session.commit()
    files.accepted()


def _restore(ctx: StepContext) -> tuple[definitions.Version, Runtime]:
    """The instance's definition version and its workflow, ready to step."""
    from app.workflow import Runtime  # the engine, loaded by the first step a process runs

    _stepping.set(ctx.instance.id)
    version = definitions.version_by_id(ctx.instance.definition_id)
    rt = Runtime.restore(version.definition, ctx.instance.workflow_json, **_runtime_args(ctx))
    return version, rt


@dataclass(frozen=True)
class StartResult:
    instance_id: int
    late_days: int = 0  # an institution's report made after its 30 days (医师法 第十七条)


@dataclass(frozen=True)
class _Submitter:
    """Who started a business, as its first (already completed) step shows it."""

    starter: Starter
    lane: str
    title: str
    scope_kind: str
    scope_id: int | None


def _submitter(actor: User | None, prepared: applications.Prepared) -> _Submitter:
    if actor is None:
        return _Submitter("system", "commission", "依职权注销", "authority", prepared.authority_id)
    if actor.role is Role.PHYSICIAN:
        return _Submitter("physician", "physician", "提交申请", "user", actor.id)
    if actor.role is Role.INSTITUTION:
        return _Submitter("institution", "institution", "报告注销", "institution",
                          prepared.institution_id)
    return _Submitter("commission", "commission", "依职权注销", "authority", prepared.authority_id)


_STARTERS: dict[Role, Starter] = {Role.PHYSICIAN: "physician", Role.INSTITUTION: "institution",
                                   Role.COMMISSION: "commission"}


def _starter_of(actor: User | None) -> Starter | None:
    """How types name the actor in their ``starters`` (None: nobody who starts a business)."""
    return "system" if actor is None else _STARTERS.get(actor.role)


def _business_type(actor: User | None, process_id: str) -> types.BusinessType:
    """The type, if this actor is one of its starters (types.BusinessType.starters)."""
    bt = types.get(process_id)
    starter = _starter_of(actor)
    if bt is not None and starter in bt.starters:
        return bt
    if starter == "physician":
        raise DomainError(_("不支持的业务类型"))
    if bt is not None and "physician" in bt.starters:
        raise Forbidden(_("只有医师可以提交业务申请"))
    raise Forbidden(_("您无权发起此项业务"))


def _prepare(bt: types.BusinessType, actor: User | None, schema: dict[str, Any],
             payload: dict[str, Any], file_errors: dict[str, str]) -> applications.Prepared:
    if bt.kind == "case" and bt.configured and bt.prepare is not None:  # 发起业务
        assert actor is not None  # configured cases have a staff starter
        return bt.prepare(actor, bt.process_id, schema, payload, None, file_errors)
    if bt.kind == "case":
        return applications.prepare_report(actor, bt.process_id, schema, payload, None, file_errors)
    assert actor is not None  # physician types have a physician starter
    return applications.prepare(actor, bt.process_id, schema, payload, None, file_errors)


def _subject(bt: types.BusinessType, actor: User | None, reg: Registration | None) -> User | None:
    """The physician the business is about: the applicant, or for a case the registration's
    owner (never an unactivated claimant; None when the physician has no account)."""
    if bt.kind != "case":
        return actor
    if reg is None:
        return None
    return db.session.scalar(select(User).where(
        User.id_number == reg.qualification.id_number, User.role == Role.PHYSICIAN,
        User.activated.is_(True)).limit(1))


def start(actor: User | None, process_id: str, submission: forms.Submission | dict[str, Any],
          upload_dir: str = "", token: str | None = None) -> StartResult:
    """Start a business of any type and run it to its first wait: a physician's application
    (业务申请, 信息修改), an institution's 报告注销, a commission's or a scheduled rule's
    (``actor`` None) 依职权注销. Who may start it and how its data is prepared come from its
    :class:`~app.services.applications.types.BusinessType`.

    ``token`` is the form's idempotency token: submitted again, it returns the first result.
    """
    from app.workflow import Runtime  # the engine, loaded by the first step a process runs

    bt = _business_type(actor, process_id)
    row = definitions.published(process_id)
    defn = definitions.definition_of(row)
    form_id = definitions.start_form_id(defn)
    schema = row.forms[form_id]
    actor_id = actor.id if actor else None
    action = "case.start" if bt.kind == "case" else "application.submit"
    files = uploads.Batch(upload_dir, actor_id)
    with _step(files):
        once = idempotency.claim(token, actor_id, action)
        if once.first is not None:
            db.session.rollback()
            return StartResult(once.first)
        payload, file_errors = forms.read_submission(schema, submission, files)
        prepared = _prepare(bt, actor, schema, payload, file_errors)
        reg = (db.session.get(Registration, prepared.registration_id)
               if prepared.registration_id is not None else None)
        subject = _subject(bt, actor, reg)
        now = utcnow()
        inst = ProcessInstance(
            process_id=process_id, definition_id=row.id,
            subject_user_id=subject.id if subject else None,
            qualification_id=reg.qualification_id if bt.kind == "case" and reg else (
                subject.qualification_id if subject else None),
            institution_id=prepared.institution_id, authority_id=prepared.authority_id,
            registration_id=prepared.registration_id,
            target_institution_id=prepared.target_institution_id, business_status="已提交",
            application=prepared.data, workflow_json="{}", serializer_version=SERIALIZER_VERSION,
            created_at=now, updated_at=now,
            open_key=bt.open_key(actor.id) if bt.kind == "application" and actor else None)
        db.session.add(inst)
        try:
            db.session.flush()
        except IntegrityError as exc:  # the same application, submitted at the same moment
            raise DomainError(_("您已有正在办理的同类申请，请在业务查询中查看进度")) from exc
        conflicts.on_start(inst)
        ctx = StepContext(inst, actor, now, upload_dir)
        rt = Runtime.start(defn, prepared.data, **_runtime_args(ctx))
        who = _submitter(actor, prepared)
        if bt.kind == "case" and bt.configured:
            who = dataclasses.replace(who, title="发起业务")
        db.session.add(HumanTask(
            instance_id=inst.id, process_id=inst.process_id, task_guid=f"submit-{inst.id}",
            task_spec_id="submit", title=who.title, lane=who.lane, form_id=form_id, scope_kind=who.scope_kind,
            scope_id=who.scope_id, status=TaskStatus.COMPLETED, data=None, created_at=now,  # data: inst.application
            completed_by_id=actor_id, completed_at=now))
        _save(ctx, rt)
        if bt.kind == "case":
            audit.record(actor, "case.start", "process_instance", inst.id,
                         {"process": process_id, "registration": prepared.registration_id}, pending=_READ_MODEL)
        else:
            audit.record(actor, "application.submit", "process_instance", inst.id,
                         {"process": process_id, "version": row.version}, pending=_READ_MODEL)
        started = StartResult(inst.id, cancellation_report.reported_late_days(
            process_id, prepared.data, now))
        once.done(inst.id)
        _commit(files)
    return started


def start_application(actor: User, process_id: str,
                      submission: forms.Submission | dict[str, Any],
                      upload_dir: str = "", token: str | None = None) -> StartResult:
    """A physician's application (kept for its many callers; see :func:`start`)."""
    return start(actor, process_id, submission, upload_dir, token)


def start_case(actor: User | None, process_id: str,
               submission: forms.Submission | dict[str, Any], upload_dir: str = "",
               token: str | None = None) -> StartResult:
    """An institution's 报告注销 or a commission's 依职权注销 (kept for its callers; see
    :func:`start`)."""
    return start(actor, process_id, submission, upload_dir, token)


@cache
def _task_lock_query() -> Select[tuple[HumanTask, ProcessInstance]]:
    """The statement of :func:`_lock_task` (parameter ``task_id``), built once."""
    task_id = bindparam("task_id", type_=Integer)
    instance_of = select(HumanTask.instance_id).where(HumanTask.id == task_id).scalar_subquery()
    return (select(HumanTask, ProcessInstance)
            .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
            .where(HumanTask.instance_id == instance_of,
                   or_(HumanTask.status == TaskStatus.OPEN, HumanTask.id == task_id))
            .with_for_update(of=ProcessInstance)
            .execution_options(populate_existing=True))


def _lock_task(task_id: int) -> tuple[HumanTask, ProcessInstance, list[HumanTask]]:
    """The task, its instance (row locked) and the instance's open tasks, read fresh in one
    round trip."""
    rows = db.session.execute(_task_lock_query(), {"task_id": task_id}).all()
    task = next((t for t, _i in rows if t.id == task_id), None)
    if task is None:
        raise NotFound(_("任务不存在"))
    return task, rows[0][1], [t for t, _i in rows]


def complete_task(actor: User, task_id: int, submission: forms.Submission | dict[str, Any],
                  upload_dir: str = "", via: str | None = None, token: str | None = None) -> int:
    """Complete a user task with form data; exactly one of concurrent attempts wins.

    Returns the application's number; the same ``token`` submitted again returns it again
    instead of "already handled".

    :raise Conflict: the task was already handled ("该任务已被处理").
    :raise InvalidInput: the form data was refused (messages by field).
    """
    files = uploads.Batch(upload_dir, actor.id)
    with _step(files):
        once = idempotency.claim(token, actor.id, "task.complete")
        if once.first is not None:
            db.session.rollback()
            return once.first
        task, inst, open_tasks = _lock_task(task_id)
        if not policies.in_scope(actor, task):
            raise Forbidden(_("您无权办理此任务"))
        if task.status != TaskStatus.OPEN:
            raise Conflict(ALREADY_HANDLED)
        _refuse_if_suspended(inst)
        if not policies.can_complete(actor, task):
            raise Forbidden(_("您无权办理此任务"))
        ctx = StepContext(inst, actor, utcnow(), upload_dir, open_tasks=open_tasks)
        row, rt = _restore(ctx)
        schema = row.forms[task.form_id]
        payload, file_errors = forms.read_submission(schema, submission, files)
        start_schema = row.forms[definitions.start_form_id(rt.definition)]
        if task.lane == "physician":
            data = applications.prepare(actor, inst.process_id, schema, payload, inst,
                                        file_errors).data
            task.changes = forms.changes(start_schema, inst.application, data)
        elif task.task_spec_id == "institution_supplement":
            bt = types.get(inst.process_id)
            staff_case = bt is not None and bt.configured and bt.prepare is not None
            prepare_case = bt.prepare if staff_case and bt is not None and bt.prepare else \
                applications.prepare_report  # a configured case (发起业务) or 报告注销
            data = prepare_case(actor, inst.process_id, schema, payload, inst, file_errors).data
            task.changes = forms.changes(start_schema, inst.application, data)
        else:
            options = {"application_fields": forms.field_titles(start_schema)}
            data = forms.validate(schema, payload, options,
                                  conflicts.decision_errors(inst, task.form_id, payload, file_errors))
        acceptance.refuse_late_correction(calendar.current(), task, inst, data, today_cst())
        rt.complete(task.task_guid, data)
        task.status = TaskStatus.COMPLETED
        task.completed_by_id = actor.id
        task.completed_at = ctx.now
        task.data = data
        if task.changes is not None:
            inst.application = {**inst.application, **data}
        _save(ctx, rt, completed_guid=task.task_guid)
        if acceptance.is_acceptance(task, data) and inst.accepted_on is None:
            _accept(ctx, rt, *acceptance.accepted(calendar.current(), inst, today_cst()))
        instance_id = inst.id
        audit.record(actor, f"task.{task.task_spec_id}", "process_instance", instance_id,
                     {"task": task.id, "decision": data.get("decision"),
                      "note": data.get("note"), **({"via": via} if via else {})}, pending=_READ_MODEL)
        once.done(instance_id)
        _commit(files)
    return instance_id


def withdraw(actor: User, instance_id: int, token: str | None = None) -> None:
    """The physician withdraws an application the institution has not confirmed yet
    (the same ``token`` submitted again changes nothing and is not refused)."""
    with _step():
        once = idempotency.claim(token, actor.id, f"withdraw:{instance_id}")
        if once.first is not None:
            db.session.rollback()
            return
        inst = db.session.scalar(select(ProcessInstance).where(ProcessInstance.id == instance_id)
                                 .with_for_update().execution_options(populate_existing=True))
        if inst is None or inst.subject_user_id != actor.id:
            raise NotFound(_("申请不存在"))
        _refuse_if_suspended(inst)
        ctx = StepContext(inst, actor, utcnow())
        _row, rt = _restore(ctx)
        if "withdraw" not in rt.waiting_messages():
            raise Conflict(_("医疗机构已确认，申请不能再撤回"))
        rt.send_message("withdraw", {"by": actor.id})
        _save(ctx, rt)
        audit.record(actor, "application.withdraw", "process_instance", inst.id, pending=_READ_MODEL)
        once.done(inst.id)
        db.session.commit()


def can_withdraw(instance: ProcessInstance) -> bool:
    """Whether a withdrawal is possible now: an open task the diagram marks withdrawable
    (medreg:withdrawable; read from the task read model)."""
    return instance.completed_at is None and any(
        t.status == TaskStatus.OPEN and definitions.task_flags(instance.definition_id, t.task_spec_id)
        .withdrawable for t in instance.tasks)


def fire_timers(instance_id: int) -> bool:
    """Fire the due timers of one instance in its own transaction. Returns True if it ran."""
    try:
        q = select(ProcessInstance).where(ProcessInstance.id == instance_id)
        if db.engine.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        inst = db.session.scalar(q.execution_options(populate_existing=True))
        now = utcnow()
        if inst is None or inst.next_timer_at is None or inst.next_timer_at > now or inst.suspended:
            db.session.rollback()
            return False
        ctx = StepContext(inst, None, now)
        _row, rt = _restore(ctx)
        rt.fire_timers()
        _save(ctx, rt)
        db.session.commit()
        return True
    except WorkflowError as exc:
        db.session.rollback()
        _mark_error(instance_id, exc.message)
        return False


def _mark_error(instance_id: int, message: str) -> None:
    inst = db.session.get(ProcessInstance, instance_id)
    if inst is not None:
        inst.error = message[:500]
        inst.next_timer_at = None
        db.session.commit()



# -- administration: suspend, resume, terminate, retry ----------------------------------------

def _refuse_if_suspended(inst: ProcessInstance) -> None:
    if inst.suspended:
        raise Conflict(_("该申请已被系统管理员暂停办理，请稍后再试或联系系统管理员"))


def _lock_instance(instance_id: int) -> ProcessInstance:
    inst = db.session.scalar(select(ProcessInstance).where(ProcessInstance.id == instance_id)
                             .with_for_update().execution_options(populate_existing=True))
    if inst is None:
        raise NotFound(_("申请不存在"))
    if inst.completed_at is not None:
        raise Conflict(_("该申请已办结"))
    return inst


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("请填写原因"), {"reason": _("请填写原因")})
    return reason[:500]


def set_suspended(actor: User, instance_id: int, suspended: bool, reason: str = "") -> None:
    """Suspend (nobody can complete its tasks, its timers wait) or resume an application;
    timers that came due while suspended fire at the next sweep."""
    with _step():
        why = _reason(reason) if suspended else (reason or "").strip()[:500]
        inst = _lock_instance(instance_id)
        if inst.suspended == suspended:
            raise Conflict(_("该申请已处于暂停状态") if suspended else _("该申请未被暂停"))
        inst.suspended = suspended
        inst.updated_at = utcnow()
        audit.record(actor, "instance.suspended" if suspended else "instance.resumed",
                     "process_instance", inst.id, {"reason": why}, pending=_READ_MODEL)
        db.session.commit()


def terminate(actor: User, instance_id: int, reason: str) -> None:
    """End an application where it stands: open tasks cancelled, timers stopped, the
    physician and the institution told why."""
    with _step():
        why = _reason(reason)
        inst = _lock_instance(instance_id)
        ctx = StepContext(inst, actor, utcnow())
        _row, rt = _restore(ctx)
        rt.cancel()
        inst.workflow_json = rt.dump()
        inst.outcome = "terminated"
        inst.business_status = operations.OUTCOMES["terminated"]
        inst.completed_at = inst.updated_at = ctx.now
        inst.open_key = None
        inst.next_timer_at = None
        inst.suspended = False
        for task in db.session.scalars(select(HumanTask).where(
                HumanTask.instance_id == inst.id, HumanTask.status == TaskStatus.OPEN)):
            task.status, task.completed_at = TaskStatus.CANCELLED, ctx.now
        operations.close_application(ctx, {"note": why}, "terminated")  # tells them why
        db.session.commit()


def retry(actor: User, instance_id: int) -> None:
    """Run a failed timer step again (after the cause was fixed); on success the error clears."""
    with _step():
        inst = _lock_instance(instance_id)
        if not inst.error:
            raise Conflict(_("该申请没有失败的步骤"))
        ctx = StepContext(inst, actor, utcnow())
        _row, rt = _restore(ctx)
        rt.fire_timers()
        _save(ctx, rt)
        audit.record(actor, "instance.retried", "process_instance", inst.id,
                     {"error": inst.error}, pending=_READ_MODEL)
        inst.error = None
        db.session.commit()


# -- the calendar changed: count the running clocks again -------------------------------------

@dataclass(frozen=True)
class Recounted:
    instance_id: int
    due_before: str | None
    due_after: str | None


def recount_clocks(actor: User, cal: WorkCalendar, year: int) -> list[Recounted]:
    """Count again, on ``cal``, the statutory clock of every running application that could
    reach into ``year``: due day, reminder and overdue timers, the inbox's due times.

    Runs inside the caller's transaction (the calendar is entered in the same one) and
    audits each changed application; an application no longer late stops being 已超期."""
    out: list[Recounted] = []
    now = utcnow()
    rows = db.session.scalars(select(ProcessInstance).where(
        ProcessInstance.completed_at.is_(None), ProcessInstance.due_on.is_not(None),
        ProcessInstance.due_on >= date(year, 1, 1)).order_by(ProcessInstance.id)
        .with_for_update())
    for inst in list(rows):
        ctx = StepContext(inst, actor, now)
        _row, rt = _restore(ctx)
        moved = _rewrite_clock(ctx, rt, lambda c: recompute(cal, c))
        if moved is None:
            continue
        audit.record(actor, "clock.recounted", "process_instance", inst.id,
                     {"year": year, "due_before": moved.due_before, "due_after": moved.due_after})
        out.append(moved)
    db.session.flush()
    return out


def _rewrite_clock(ctx: StepContext, rt: Runtime,
                   change: Callable[[dict[str, Any]], dict[str, Any]]) -> Recounted | None:
    """Change the instance's clock, its timers, due day and inbox due times (None: unchanged)."""
    inst, now = ctx.instance, ctx.now
    before = rt.latest_data().get("clock")
    rt.rewrite_data("clock", change)
    clock = rt.latest_data().get("clock")
    if not isinstance(clock, dict) or not isinstance(before, dict) or clock == before:
        return None
    inst.workflow_json = rt.dump()
    inst.due_on = date.fromisoformat(clock["due_on"])
    inst.next_timer_at = rt.next_timer_at()
    due_at = _due_at(clock)
    for task in db.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == inst.id, HumanTask.status == "open",
            HumanTask.lane == "commission")):
        task.due_at = due_at
    if inst.overdue and due_at is not None and due_at > now:
        inst.overdue = False
    inst.updated_at = now
    return Recounted(inst.id, before.get("due_on"), clock["due_on"])


def _accept(ctx: StepContext, rt: Runtime, day: date, deemed: bool) -> None:
    """受理 on ``day``: the clock counts from it; the applicant gets the dated 受理通知."""
    cal = calendar.current()
    _rewrite_clock(ctx, rt, lambda c: restart_clock(cal, c, day))
    operations.acceptance_notice(ctx, {}, day.isoformat(), deemed)


def accept_deemed(instance_id: int) -> bool:
    """No 补正 notice within five working days: the application counts as accepted on receipt
    (行政许可法 第三十二条); one transaction. Returns True if it was accepted now."""
    with _step():
        inst = db.session.scalar(select(ProcessInstance).where(ProcessInstance.id == instance_id)
                                 .with_for_update().execution_options(populate_existing=True))
        if (inst is None or inst.accepted_on is not None or inst.received_on is None
                or inst.completed_at is not None
                or not acceptance.correction_closed(calendar.current(), inst, today_cst())):
            db.session.rollback()
            return False
        ctx = StepContext(inst, None, utcnow())
        _row, rt = _restore(ctx)
        _accept(ctx, rt, inst.received_on, True)
        db.session.commit()
    return True


DECIDE_TASK = "commission_decide"


def extension_allowed() -> bool:
    """Whether this installation allows 延期 (行政许可法 第四十二条; off by default)."""
    from flask import current_app

    value = current_app.config.get("MEDREG_ALLOW_EXTENSION", False)
    return value is True or str(value).strip().lower() in ("1", "true", "on", "yes")


def can_extend(task: HumanTask, today: date) -> bool:
    """Whether the officer's decision task may be extended now (once, before the due day)."""
    inst = task.instance
    return (extension_allowed() and task.status == "open" and task.task_spec_id == DECIDE_TASK
            and not inst.extended and inst.completed_at is None and inst.due_on is not None
            and today <= inst.due_on)


def extend(actor: User, task_id: int, reason: str, approved_by: str) -> date:
    """延期: with the head's approval the decision may take ten more working days, once; the
    due day, the timers and the inbox move, and the applicant is told why (行政许可法
    第四十二条). Returns the new due day.

    :raise Forbidden: extensions are off, or the actor is not the commission in charge.
    :raise InvalidInput: no reason or no approving head (the input is kept).
    :raise Conflict: already extended, past the due day, or not the decision step.
    """
    with _step():
        if not extension_allowed():
            raise Forbidden(_("本系统未开启延期办理"))
        task, inst, open_tasks = _lock_task(task_id)
        if actor.role is not Role.COMMISSION or not policies.in_scope(actor, task):
            raise NotFound(_("任务不存在"))
        if task.status != "open":
            raise Conflict(ALREADY_HANDLED)
        _refuse_if_suspended(inst)
        if task.task_spec_id != DECIDE_TASK:
            raise Conflict(_("只有审查决定环节可以延期"))
        values = {"reason": (reason or "").strip()[:500],
                  "approved_by": (approved_by or "").strip()[:60]}
        errors = {}
        if len(values["reason"]) < 2:
            errors["reason"] = _("请填写延期理由")
        if not values["approved_by"]:
            errors["approved_by"] = _("请填写批准延期的本行政机关负责人")
        if errors:
            raise InvalidInput(_("请按提示修改后重新提交"), errors, values)
        if inst.extended:
            raise Conflict(_("该申请已延期一次，不能再次延期"))
        if inst.due_on is None or today_cst() > inst.due_on:
            raise Conflict(_("已超过法定办理期限，不能再延期"))
        ctx = StepContext(inst, actor, utcnow(), open_tasks=open_tasks)
        _row, rt = _restore(ctx)
        cal = calendar.current()
        moved = _rewrite_clock(ctx, rt, lambda c: extend_clock(cal, c))
        if moved is None or inst.due_on is None:
            raise Conflict(_("该申请已延期一次，不能再次延期"))
        inst.extended = True
        operations.extension_notice(ctx, {}, values["reason"], moved.due_before or "")
        audit.record(actor, "application.extended", "process_instance", inst.id,
                     {**values, "due_before": moved.due_before, "due_after": moved.due_after}, pending=_READ_MODEL)
        new_due = inst.due_on
        db.session.commit()
    return new_due
