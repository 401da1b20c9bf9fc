"""The read side: inboxes, counts, task pages and application histories.

Everything here reads the human-task read model; nothing deserializes a workflow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import NamedTuple

from flask_babel import gettext as _
from sqlalchemy import Integer
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import literal_column
from sqlalchemy import null
from sqlalchemy import select
from sqlalchemy import union_all
from sqlalchemy.orm import aliased
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm import defer
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.models import HumanTask
from app.models import Institution
from app.models import ProcessInstance
from app.models import Qualification
from app.models import Registration
from app.models import Role
from app.models import ScopeKind
from app.models import TaskComment
from app.models import TaskStatus
from app.models import User
from app.models.base import utcnow
from app.services.applications import conflicts
from app.services.applications import eligibility
from app.services.applications import forms
from app.services.applications import prepare as applications
from app.services.applications import timeline
from app.services.applications.types import cancellation_report
from app.services.backoffice import calendar
from app.services.backoffice import definitions
from app.services.engine import acceptance
from app.services.engine import policies
from app.services.engine import processes
from app.services.engine.assignment import scope_of_user
from app.services.engine.clock import CST
from app.services.engine.clock import today_cst
from app.services.errors import Conflict
from app.services.errors import Forbidden
from app.services.errors import NotFound
from app.services.inbox import comments
from app.services.platform import audit
from app.services.platform.paging import Keyset
from app.services.records.validators import mask_id
from app.services.records.validators import mask_mobile
from app.workflow import with_lane_names


class InboxRow(NamedTuple):
    """One task of the 待办任务 list (a named tuple: a page makes up to 50 of them, and a
    tuple is made four times faster than a frozen dataclass)."""

    task_id: int
    instance_id: int
    title: str
    business_type: str
    physician_name: str
    institution_name: str
    status: str
    created_at: datetime
    due_at: datetime | None
    claimed_by: str | None
    claimed_by_me: bool
    overdue: bool
    bulk: bool = False  # a routine confirmation that may be done with others at once

    @property
    def due_on(self) -> date | None:
        """The last day of the statutory limit (``due_at`` is the moment after it ends)."""
        return due_day(self.due_at)


def due_day(due_at: datetime | None) -> date | None:
    """The due DAY of a task whose ``due_at`` is the start of the day after it (Beijing)."""
    if due_at is None:
        return None
    moment = due_at if due_at.tzinfo else due_at.replace(tzinfo=UTC)
    return (moment.astimezone(CST) - timedelta(microseconds=1)).date()


@dataclass(frozen=True)
class InboxCounts:
    open: int
    mine: int
    unclaimed: int
    due_soon: int
    overdue: int


def _scope_of(actor: User) -> tuple[ScopeKind, int | None]:
    """The inbox the actor works (institution or authority); Forbidden for anyone else."""
    scope = scope_of_user(actor)
    if scope is None or actor.role in (Role.PHYSICIAN, Role.ADMIN):
        raise Forbidden(_("您没有待办任务箱"))
    return scope


def _scope_filter(actor: User) -> Any:
    kind, sid = _scope_of(actor)
    return and_(HumanTask.scope_kind == kind, HumanTask.scope_id == sid,
                HumanTask.status == TaskStatus.OPEN)


@dataclass(frozen=True)
class InboxFilter:
    """What the inbox shows: business type, step, due state, claim, physician name; the order."""

    process_id: str = ""
    step: str = ""  # task_spec_id, e.g. institution_confirm
    due: str = ""  # overdue / week
    claim: str = ""  # mine / unclaimed
    name: str = ""
    sort: str = "due"  # due / arrived / name
    after: str = ""  # keyset cursor: the last row of the previous page

    @classmethod
    def from_args(cls, args: Any) -> InboxFilter:
        sort = args.get("sort", "due")
        return cls(args.get("process_id", "")[:60], args.get("step", "")[:60],
                   args.get("due", "")[:10], args.get("claim", "")[:10],
                   args.get("name", "").strip()[:30], sort if sort in SORTS else "due",
                   args.get("after", "")[:80])

    def args(self, **changes: str) -> dict[str, Any]:
        """Query arguments for a link (e.g. the next page)."""
        out = {k: v for k, v in self.__dict__.items() if v}
        out.update(changes)
        return out


SORTS = {"due": "办理期限", "arrived": "到达时间", "name": "医师姓名"}
PAGE_SIZE = 50
COUNT_CAP = 100  # counts stop here ("100+"): no count over a whole large inbox


DUE_ORDER = Keyset((HumanTask.due_at, HumanTask.id), (datetime, int), nulls_last=True)
ARRIVED_ORDER = Keyset((HumanTask.created_at, HumanTask.id), (datetime, int))


def cursor_of(row: InboxRow, sort: str) -> str:
    """The keyset cursor after ``row`` (due: due time and id; arrived: arrival and id)."""
    if sort == "arrived":
        return ARRIVED_ORDER.cursor((row.created_at, row.task_id))
    return DUE_ORDER.cursor((row.due_at, row.task_id))


def _page_statement(ids: Any, order: list[Any], counts: bool) -> Any:
    """What the inbox shows of one page of tasks (columns only: no workflow state, no form data)
    in the page's order, from ``ids`` (the page's task ids, ordered and limited: the index
    walk); with ``counts`` the five header counts ride on every row (each computed once: they
    do not depend on the row), so rows and counts are one round trip."""
    page = ids.subquery("page")
    claimer = db.aliased(User)
    columns: list[Any] = [
        HumanTask.id, HumanTask.title, HumanTask.created_at, HumanTask.due_at,
        HumanTask.claimed_by_id, HumanTask.task_spec_id, ProcessInstance.id,
        ProcessInstance.process_id, ProcessInstance.business_status, ProcessInstance.overdue,
        Qualification.name, Institution.name, claimer.display_name, ProcessInstance.definition_id]
    if counts:
        columns += _count_columns()
    return (select(*columns).select_from(page)
            .join(HumanTask, HumanTask.id == page.c.id)
            .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
            .outerjoin(Qualification, Qualification.id == ProcessInstance.qualification_id)
            .outerjoin(Institution, Institution.id == ProcessInstance.institution_id)
            .outerjoin(claimer, claimer.id == HumanTask.claimed_by_id)
            .order_by(*order))


_first_page: dict[str, Any] = {}


def _first_page_statement() -> Any:
    """The page a person opens first (no filter, soonest due first), built once per process
    and database kind (the order of a NULL due time is written per dialect); a request binds
    the scope."""
    key = db.engine.dialect.name
    stmt = _first_page.get(key)
    if stmt is None:
        order = DUE_ORDER.order_by()
        ids = (select(HumanTask.id)
               .where(HumanTask.scope_kind == bindparam("kind"), HumanTask.scope_id == bindparam("sid"),
                      HumanTask.status == TaskStatus.OPEN)
               .order_by(*order).limit(PAGE_SIZE))
        stmt = _first_page[key] = _page_statement(ids, order, False)
    return stmt


@dataclass(frozen=True)
class InboxPage:
    """What the 待办任务 page shows: one page of tasks, the header counts, the filters' choices,
    the cursor of the next page (None: this is the last, or the order has no cursor) and whether
    it offers 批量确认 (an institution's page with a routine confirmation on it)."""

    rows: list[InboxRow]
    counts: InboxCounts
    types: list[tuple[str, str]]
    steps: list[tuple[str, str]]
    next_after: str | None
    bulk: bool


def inbox_page(actor: User, filters: InboxFilter | None = None) -> InboxPage:
    """The 待办任务 page: its rows and the header counts in one statement (a second one for
    the counts only when the first page is full or a filtered page is empty), the filters'
    choices from the published diagrams."""
    f = filters or InboxFilter()
    published = _published(actor.role)
    rows, counts = _read(actor, f, PAGE_SIZE, True, published.names)
    if counts is None:
        counts = inbox_counts(actor)
    after = (cursor_of(rows[-1], f.sort)
             if len(rows) == PAGE_SIZE and f.sort != "name" else None)
    bulk = actor.role is Role.INSTITUTION and any(r.bulk for r in rows)
    return InboxPage(rows, counts, published.types, published.steps, after, bulk)


def inbox(actor: User, filters: InboxFilter | None = None, limit: int = PAGE_SIZE) -> list[InboxRow]:
    """One page of open tasks in the actor's scope, filtered and sorted (soonest due first by
    default). Pages continue by keyset (``filters.after``) on the index
    (scope, status, due_at, id), so the cost does not grow with the size of the inbox."""
    return _read(actor, filters or InboxFilter(), limit, False, None)[0]


def _read(actor: User, f: InboxFilter, limit: int, counts: bool,
          names: dict[str, str] | None) -> tuple[list[InboxRow], InboxCounts | None]:
    """One page of rows in one statement: the page's ids straight from the index (joins only
    when a filter needs them), then what the page shows of them. With ``counts`` the header
    counts too: a first page with room to spare holds every open task, so they follow from
    its rows; any other page's rows carry them. None when neither could give them (a full
    first page, an empty page)."""
    kind, sid = _scope_of(actor)
    now = utcnow()
    me = actor.id  # actor may be a request-local proxy: read once
    params: dict[str, Any] = {"kind": kind, "sid": sid}
    first = f == _NO_FILTER and limit == PAGE_SIZE
    carried = counts and not first
    if first:
        stmt = _first_page_statement()
    else:
        ids, order = _page_ids(actor, f, now, limit)
        stmt = _page_statement(ids, order, carried)
        if carried:
            params.update(me=me, now=now, week=now + timedelta(days=7), cap=COUNT_CAP)
    found = db.session.connection().execute(stmt, params).all()
    if found and names is None:
        names = _published(actor.role).names
    flags: dict[tuple[int, str], bool] = {}
    out = []
    for row in found:
        (tid, title, created, due, claimed_by, spec, iid, pid, status, overdue,
         name, inst_name, claimed, definition_id) = row[:14]
        bulk = flags.get((definition_id, spec))
        if bulk is None:
            bulk = flags[definition_id, spec] = definitions.task_flags(definition_id, spec).bulk
        out.append(InboxRow(tid, iid, title, names.get(pid, pid) if names else pid, name,
                            inst_name or "", status, created, due, claimed, claimed_by == me,
                            bool(overdue or (due is not None and due < now)), bulk))
    if not counts:
        return out, None
    if carried:
        return out, (InboxCounts(*(int(v or 0) for v in found[0][14:])) if found else None)
    return out, (_counted(found, me, now) if len(found) < limit else None)


def _counted(rows: Sequence[Any], me: int, now: datetime) -> InboxCounts:
    """The header counts of a scope whose every open task is in ``rows`` (the query's counts,
    each capped at ``COUNT_CAP``, from the rows: no count query)."""
    week = now + timedelta(days=7)
    mine = unclaimed = soon = late = 0
    for row in rows:
        due, claimed_by = row[3], row[4]
        if claimed_by is None:
            unclaimed += 1
        elif claimed_by == me:
            mine += 1
        if due is not None:
            if due < now:
                late += 1
            elif due < week:
                soon += 1
    return InboxCounts(*(min(n, COUNT_CAP) for n in (len(rows), mine, unclaimed, soon, late)))


_NO_FILTER = InboxFilter()


def _page_ids(actor: User, f: InboxFilter, now: datetime, limit: int) -> tuple[Any, list[Any]]:
    """The ids of a filtered or later page (a statement) and the page's order."""
    ids = select(HumanTask.id).where(_scope_filter(actor))
    if f.process_id or f.name or f.sort == "name":
        ids = ids.join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
    if f.name or f.sort == "name":
        ids = ids.outerjoin(Qualification, Qualification.id == ProcessInstance.qualification_id)
    if f.process_id:
        ids = ids.where(ProcessInstance.process_id == f.process_id)
    if f.step:
        ids = ids.where(HumanTask.task_spec_id == f.step)
    if f.due == "overdue":
        ids = ids.where(HumanTask.due_at < now)
    elif f.due == "week":
        ids = ids.where(HumanTask.due_at >= now, HumanTask.due_at < now + timedelta(days=7))
    if f.claim == "mine":
        ids = ids.where(HumanTask.claimed_by_id == actor.id)
    elif f.claim == "unclaimed":
        ids = ids.where(HumanTask.claimed_by_id.is_(None))
    if f.name:
        ids = ids.where(Qualification.name.contains(f.name, autoescape=True))
    order: list[Any]
    if f.sort == "name":
        order = [Qualification.name, HumanTask.id]
    else:
        keyset = ARRIVED_ORDER if f.sort == "arrived" else DUE_ORDER
        after = keyset.read(f.after)
        if after is not None:
            ids = ids.where(keyset.after(after))
        order = keyset.order_by()
    return ids.order_by(*order).limit(limit), order


def inbox_choices(actor: User) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(business types, steps) the actor's role works, for the filters: read from the published
    diagrams, not from the inbox (whose size must not slow the page)."""
    found = _published(actor.role)
    return found.types, found.steps


@dataclass(frozen=True)
class _Published:
    """What the inbox takes from the newest published versions for one role."""

    types: list[tuple[str, str]]  # the filters' business types and steps the role works
    steps: list[tuple[str, str]]
    names: dict[str, str]  # process id -> business type name (eligibility.type_names)


def _published(role: Role) -> _Published:
    """The newest published versions are read per request (their ids: one small query, or
    none when the publication stamp is unchanged; the versions from their cache); what follows
    from them (published versions never change) is kept per process, by their ids and the
    role."""
    versions = definitions.published_versions()
    key = (tuple(v.id for v in versions), role)
    hit = _choices.get(key)
    if hit is not None:
        return hit
    names = {v.process_id: v.definition.name for v in versions}
    types, steps = set(), set()
    for version in versions:
        for spec in version.definition.user_tasks.values():
            if definitions.lane_role(spec.lane) is role:
                types.add((version.process_id, names.get(version.process_id, version.process_id)))
                steps.add((spec.spec_id, spec.title))
    if len(_choices) > 64:  # a publication makes a new key; the old ones are not asked for again
        _choices.clear()
    _choices[key] = found = _Published(sorted(types), sorted(steps), names)
    return found


_choices: dict[tuple[tuple[int, ...], Role], _Published] = {}


def _capped_count(*conditions: Any) -> Any:
    """How many open tasks match, counting at most ``COUNT_CAP`` (bound as ``cap``; index-only,
    bounded)."""
    limited = select(HumanTask.id).where(*conditions).limit(bindparam("cap", type_=Integer)).subquery()
    return select(func.count()).select_from(limited).scalar_subquery()


def _count_columns() -> list[Any]:
    """The five header counts as columns (each capped at ``cap``); a request binds the scope,
    the person and the time (no statement built or cache key computed per request)."""
    scope = and_(HumanTask.scope_kind == bindparam("kind"), HumanTask.scope_id == bindparam("sid"),
                 HumanTask.status == TaskStatus.OPEN)
    now = bindparam("now", type_=HumanTask.due_at.type)
    return [
        _capped_count(scope),
        _capped_count(scope, HumanTask.claimed_by_id == bindparam("me")),
        _capped_count(scope, HumanTask.claimed_by_id.is_(None)),
        _capped_count(scope, HumanTask.due_at >= now,
                      HumanTask.due_at < bindparam("week", type_=HumanTask.due_at.type)),
        _capped_count(scope, HumanTask.due_at < now)]  # the header's 消息（N） came with the session


def _counts_statement() -> Any:
    """The header counts' one statement (when no page row carries them), built once per process."""
    return select(*_count_columns())


_COUNTS = _counts_statement()


def inbox_counts(actor: User) -> InboxCounts:
    """Counts for the inbox header in one query, each capped at ``COUNT_CAP`` (the page's 消息
    count came with the session: app.services.accounts.websessions)."""
    kind, sid = _scope_of(actor)
    now = utcnow()
    counts = db.session.connection().execute(_COUNTS, {
        "kind": kind, "sid": sid, "me": actor.id, "now": now, "week": now + timedelta(days=7),
        "cap": COUNT_CAP}).one()
    return InboxCounts(*(int(v or 0) for v in counts))


def _task_for(actor: User, task_id: int) -> HumanTask:
    task = db.session.get(HumanTask, task_id)
    if task is None or not policies.in_scope(actor, task):
        raise NotFound(_("任务不存在"))
    return task


def claim(actor: User, task_id: int) -> None:
    """Take a task so colleagues see it is being handled."""
    task = _task_for(actor, task_id)
    if task.status != TaskStatus.OPEN:
        raise Conflict(_("该任务已被处理"))
    if task.claimed_by_id not in (None, actor.id):
        raise Conflict(_("该任务已被其他人认领"))
    task.claimed_by_id = actor.id
    audit.record(actor, "task.claim", "human_task", task.id)
    db.session.commit()


def unclaim(actor: User, task_id: int) -> None:
    """Give a claimed task back to the team."""
    task = _task_for(actor, task_id)
    if task.claimed_by_id != actor.id:
        raise Conflict(_("您没有认领此任务"))
    task.claimed_by_id = None
    audit.record(actor, "task.unclaim", "human_task", task.id)
    db.session.commit()


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    title: str
    who: str
    decision: str
    note: str


class TaskLine(NamedTuple):
    """A step of an application as its history, its paper step and its changes read it (a
    row of columns, not an entity), with the name of whoever completed it."""

    id: int
    title: str
    form_id: str
    lane: str | None
    status: str
    scope_kind: str
    data: dict[str, Any] | None
    changes: dict[str, Any] | None
    created_at: datetime
    completed_at: datetime | None
    completed_by_id: int | None
    completed_by: str  # the completer's name ("" if none)


@dataclass(frozen=True)
class ApplicationView:
    instance: ProcessInstance
    business_type: str
    physician_name: str
    physician_id_masked: str
    institution_name: str
    fields: list[forms.FieldView]
    history: list[HistoryEntry]
    open_tasks: list[TaskLine]
    days_left: int | None
    late_report_days: int = 0  # an institution's report made after its 30 days (逾期报告)
    # the header's name of ``institution_name``: 拟执业机构 for a new registration, the current
    # 执业机构 for anything done to a registration held (注销, 变更, 备案, 补办, ...)
    institution_label: str = "拟执业机构"
    target_institution_name: str = ""  # 变更/备案: the institution it goes to (拟执业机构)
    tasks: list[TaskLine] = field(default_factory=list)  # every step, in order


def _labels(forms_of: dict[str, Any], form_id: str, value: Any) -> str:
    prop = forms_of.get(form_id, {}).get("properties", {}).get("decision", {})
    return str(prop.get("x-labels", {}).get(value, value or ""))


# an instance's tasks with the name of whoever completed each, in one statement (built once)
_TASKS_DONE_BY = (select(HumanTask, User.display_name)
                  .outerjoin(User, User.id == HumanTask.completed_by_id)
                  .where(HumanTask.instance_id == bindparam("instance_id")).order_by(HumanTask.id))


def _tasks_with_names(inst: ProcessInstance) -> list[TaskLine]:
    """Load ``inst.tasks`` (as its relationship would, in its order) together with the names of
    the people who completed them (for the pages that read ``inst.tasks`` afterwards)."""
    rows = db.session.execute(_TASKS_DONE_BY, {"instance_id": inst.id}).tuples().all()
    set_committed_value(inst, "tasks", [t for t, _name in rows])
    return [TaskLine(t.id, t.title, t.form_id, t.lane, t.status, t.scope_kind, t.data, t.changes,
                     t.created_at, t.completed_at, t.completed_by_id,
                     (name or "") if t.completed_by_id else "") for t, name in rows]


# the same as rows of the columns read (the task page: no entity per step), built once
_TASK_LINES = (select(HumanTask.id, HumanTask.title, HumanTask.form_id, HumanTask.lane,
                      HumanTask.status, HumanTask.scope_kind, HumanTask.data, HumanTask.changes,
                      HumanTask.created_at, HumanTask.completed_at, HumanTask.completed_by_id,
                      User.display_name)
               .outerjoin(User, User.id == HumanTask.completed_by_id)
               .where(HumanTask.instance_id == bindparam("instance_id")).order_by(HumanTask.id))


def _task_lines(inst: ProcessInstance) -> list[TaskLine]:
    """An instance's steps in order, with their completers' names (one statement)."""
    rows = db.session.connection().execute(_TASK_LINES, {"instance_id": inst.id}).tuples()
    return [_line(*row) for row in rows]


def _line(i: int, title: str, form_id: str, lane: str | None, status: str, kind: str,
          data: dict[str, Any] | None, changes: dict[str, Any] | None, created: datetime,
          done_at: datetime | None, by_id: int | None, name: str | None) -> TaskLine:
    """A step from the columns :data:`_TASK_LINES` reads (the completer's name only when done)."""
    return TaskLine(i, title, form_id, lane, status, kind, data, changes, created, done_at, by_id,
                    (name or "") if by_id else "")


# the task page's steps (rows tagged 0, as _TASK_LINES) and the comments of the actor's
# organisation (tagged 1: id, body in the title's place, created_at, author in the name's
# place), in one statement built once; each part in its order
_STEPS_AND_COMMENTS = union_all(
    _TASK_LINES.order_by(None).add_columns(literal_column("0", Integer).label("part")),
    select(TaskComment.id, TaskComment.body, null(), null(), null(), null(), null(), null(),
           TaskComment.created_at, null(), null(), TaskComment.author_name,
           literal_column("1", Integer))
    .where(TaskComment.instance_id == bindparam("instance_id"),
           TaskComment.scope_kind == bindparam("kind"), TaskComment.scope_id == bindparam("sid")),
).order_by(literal_column("part"), literal_column("id"))


def _steps_and_comments(inst: ProcessInstance, scope: tuple[str, int | None],
                        ) -> tuple[list[TaskLine], list[comments.Shown]]:
    """An instance's steps (as :func:`_task_lines`) and the comments of the organisation
    ``scope`` on it, oldest first (:func:`comments.for_instance`), in one statement."""
    lines: list[TaskLine] = []
    shown: list[comments.Shown] = []
    for *row, part in db.session.connection().execute(
            _STEPS_AND_COMMENTS, {"instance_id": inst.id, "kind": scope[0], "sid": scope[1]}):
        if part == 0:
            lines.append(_line(*row))
        else:
            shown.append(comments.Shown(row[11], row[8], row[1]))
    return lines, shown


def _history(inst: ProcessInstance, forms_of: dict[str, Any],
             lines: list[TaskLine]) -> list[HistoryEntry]:
    out = []
    for t in lines:
        if t.status == TaskStatus.COMPLETED and t.completed_at is not None:
            data = t.data or {}
            out.append(HistoryEntry(t.completed_at, t.title, t.completed_by,
                                    _labels(forms_of, t.form_id, data.get("decision")),
                                    str(data.get("note") or "")))
        elif t.status == TaskStatus.CANCELLED and t.completed_at is not None:
            out.append(HistoryEntry(t.completed_at, t.title, "", "已取消", ""))
    if inst.completed_at is not None:
        out.append(HistoryEntry(inst.completed_at, "办结", "", inst.business_status, ""))
    return sorted(out, key=lambda h: h.at)


# an instance as a page shows it: with its definition version (one statement), without the
# workflow state (about 10 KiB no page shows; the engine reads it when it steps)
_SHOWN_INSTANCE = (joinedload(ProcessInstance.definition), defer(ProcessInstance.workflow_json))


class _Applicant(NamedTuple):
    """What a page shows of the applicant's account (columns, not the entity)."""

    id: int
    display_name: str
    id_number: str | None


@dataclass(frozen=True)
class _Parties:
    """Who an application names: the applicant, the qualification, the institution and (变更,
    备案) the institution it goes to; each None when the application names none. The
    qualification and institutions are entities (the option lists read them: in the session
    once read, a later get costs nothing)."""

    physician: _Applicant | None
    qual: Qualification | None
    institution: Institution | None
    target: Institution | None

    @classmethod
    def of(cls, row: Any) -> _Parties:
        """From the columns :func:`_with_parties` adds, in its order."""
        user_id, name, id_number, qual, institution, target = row
        return cls(_Applicant(user_id, name, id_number) if user_id is not None else None,
                   qual, institution, target)


def application_view(actor: User, instance_id: int) -> ApplicationView:
    """The whole application as the actor may see it: data, history, open steps."""
    inst = db.session.get(ProcessInstance, instance_id, options=_SHOWN_INSTANCE)
    if inst is None or not policies.can_view_instance(actor, inst):
        raise NotFound(_("申请不存在"))
    parties = _parties(inst)
    return _view(actor, inst, parties, definitions.version_by_id(inst.definition_id),
                 _tasks_with_names(inst))[0]


def _view(actor: User, inst: ProcessInstance, parties: _Parties, version: definitions.Version,
          lines: list[TaskLine], *more: dict[str, Any],
          person: applications.PersonCategories | None = None, department_stamp: int | None = None,
          ) -> tuple[ApplicationView, dict[str, list[forms.Option]]]:
    """:func:`application_view` of an instance already read and allowed, with its parties, its
    (cached, immutable) definition version — the forms are not read from its row — and its
    steps; and the option labels it showed, which also name the values ``more`` (other values
    of the start form the page shows: read with the application's, not again); ``person``: the
    applicant's 执业类别 and the catalogue's stamp when read already (prepare.person_from);
    ``department_stamp``: the departments' stamp, when read already (prepare.DEPARTMENT_STAMP)."""
    physician, qual, institution = parties.physician, parties.qual, parties.institution
    start_form = version.forms[definitions.start_form_id(version.definition)]
    options = _display_options(start_form, inst, qual, inst.application, *more, person=person,
                               department_stamp=department_stamp)
    own = physician is not None and physician.id == actor.id
    fields = forms.field_views(start_form, inst.application, None, options)
    if not own:
        props = start_form.get("properties", {})
        for f in fields:
            if props.get(f.name, {}).get("format") == "mobile":
                f.display = mask_mobile(str(f.value or ""))
    days_left = None
    if inst.due_on and inst.completed_at is None:
        today: date = today_cst()
        cal = calendar.current()
        days_left = (cal.working_days_between(today, inst.due_on) if today <= inst.due_on
                     else -cal.working_days_between(inst.due_on, today))
    return ApplicationView(
        inst, eligibility.type_name(inst.process_id),
        physician.display_name if physician else (qual.name if qual else ""),
        (physician.id_number or "") if own and physician is not None else mask_id(qual.id_number if qual else ""),
        institution.name if institution else "", fields, _history(inst, version.forms, lines),
        [t for t in lines if t.status == TaskStatus.OPEN], days_left,
        cancellation_report.reported_late_days(inst.process_id, inst.application, inst.created_at),
        _("执业机构") if inst.registration_id else _("拟执业机构"),
        _target_name(inst, parties.target), lines), options


_TARGET = aliased(Institution)


def _parties(inst: ProcessInstance) -> _Parties:
    """The parties of an application, in one statement (outer joins; each row lands in the
    session, so later gets cost nothing)."""
    if not (inst.subject_user_id or inst.qualification_id or inst.institution_id
            or inst.target_institution_id):
        return _Parties(None, None, None, None)
    found = db.session.execute(_PARTIES, {"instance_id": inst.id}).one_or_none()
    if found is None:
        return _Parties(None, None, None, None)
    return _Parties.of(found)


def _with_parties(stmt: Any) -> Any:
    """``stmt`` (a select from the instance, or joined to it) with the instance's parties,
    outer joins."""
    return (stmt.add_columns(User.id, User.display_name, User.id_number, Qualification, Institution,
                             _TARGET)
            .outerjoin(User, User.id == ProcessInstance.subject_user_id)
            .outerjoin(Qualification, Qualification.id == ProcessInstance.qualification_id)
            .outerjoin(Institution, Institution.id == ProcessInstance.institution_id)
            .outerjoin(_TARGET, _TARGET.id == ProcessInstance.target_institution_id))


# built once per process (bound per request): applicant, qualification, institutions
_PARTIES = _with_parties(select().select_from(ProcessInstance)).where(
    ProcessInstance.id == bindparam("instance_id"))


def _display_options(schema: dict[str, Any], inst: ProcessInstance, qual: Qualification | None,
                     *values: dict[str, Any] | None,
                     person: applications.PersonCategories | None = None,
                     department_stamp: int | None = None) -> dict[str, list[forms.Option]]:
    """The option labels a read-only view of ``values`` shows: only the lists the form names,
    and of institutions, departments and scopes only the ones the values name (not every
    institution in the country)."""
    shown: dict[str, set[str]] = {}
    for v in values:
        for src, named in forms.shown_values(schema, v or {}).items():
            shown.setdefault(src, set()).update(named)
    options = applications.form_options(None, inst.institution_id, qual,
                                        forms.option_sources(schema), shown, person=person,
                                        department_stamp=department_stamp)
    if inst.registration_id and "registrations_reportable" in shown:
        reg = db.session.get(Registration, inst.registration_id)
        if reg is not None:
            options["registrations_reportable"] = [
                (str(reg.id), f"{reg.qualification.name} · {reg.cert_no or ''}")]
    return options


def _target_name(inst: ProcessInstance, target: Institution | None) -> str:
    """变更/备案: the name of the institution the registration goes to (else empty)."""
    if not inst.target_institution_id or inst.target_institution_id == inst.institution_id:
        return ""
    return target.name if target else ""


@dataclass(frozen=True)
class DiagramView:
    """A diagram with the steps done and the steps waiting now (from the read model)."""

    xml: str
    done: list[str]
    current: list[str]


def diagram_of(actor: User, instance_id: int) -> DiagramView:
    """The version of the diagram this application runs on, for the bpmn-js viewer."""
    inst = db.session.get(ProcessInstance, instance_id)
    if inst is None or not policies.can_view_instance(actor, inst):
        raise NotFound(_("申请不存在"))
    done = ["start"] + [t.task_spec_id for t in inst.tasks if t.status == TaskStatus.COMPLETED]
    current = [t.task_spec_id for t in inst.tasks if t.status == TaskStatus.OPEN]
    return DiagramView(with_lane_names(inst.definition.bpmn_xml, timeline.LANE_NAMES),
                       sorted(set(done) - {"submit"}), current)


def holder(view: ApplicationView) -> str:
    """With whom the application is now, in plain words."""
    inst = view.instance
    if inst.completed_at is not None:
        return _("已办结")
    kinds = {t.scope_kind for t in view.open_tasks}
    if ScopeKind.USER in kinds:
        return _("您本人（请按意见修改后重新提交）")
    if ScopeKind.AUTHORITY in kinds:
        return _("卫生健康行政部门")
    if ScopeKind.INSTITUTION in kinds:
        return _("医疗机构")
    return _("处理中")


@dataclass(frozen=True)
class Change:
    title: str
    before: str
    after: str


@dataclass(frozen=True)
class TaskPage:
    task: HumanTask
    application: ApplicationView
    schema: dict[str, Any]
    can_complete: bool
    options: dict[str, list[forms.Option]]
    changes: list[Change]
    notice: str = ""  # e.g. the 补正 window has passed (行政许可法 第三十二条)
    can_extend: bool = False  # 延期 may be requested here (行政许可法 第四十二条)
    blocked: str | None = None  # the decision's effect became impossible (why)
    # the instance's definition version (cached): its forms, without reading its row
    version: definitions.Version | None = None
    comments: list[comments.Shown] = field(default_factory=list)  # the actor's organisation's


def task_page(actor: User, task_id: int) -> TaskPage:
    """A task with the application under review above its decision form."""
    found = db.session.execute(_TASK_PAGE, {"task_id": task_id}).one_or_none()
    if found is None or not policies.in_scope(actor, found[0]):
        raise NotFound(_("任务不存在"))
    task = found[0]
    inst = task.instance
    if not policies.can_view_instance(actor, inst):
        raise NotFound(_("申请不存在"))
    parties = _Parties.of(found[1:7])
    version = definitions.version_by_id(inst.definition_id)  # the forms, without its row
    lines, shown = _steps_and_comments(inst, comments.staff_scope(actor))
    changed = _resubmitted(lines)
    view, options = _view(actor, inst, parties, version, lines,
                          {n: old for n, (old, _new) in changed.items()},
                          {n: new for n, (_old, new) in changed.items()},
                          person=applications.person_from(parties.qual, found[7], found[8]),
                          department_stamp=found[9])
    start_schema = version.forms[definitions.start_form_id(version.definition)]
    schema, notice = acceptance.task_schema(calendar.current(), task, version.forms[task.form_id],
                                            today_cst())
    blocked = (conflicts.effect_blocker(inst)
               if task.form_id == conflicts.DECIDE_FORM and task.status == TaskStatus.OPEN else None)
    return TaskPage(task, view, schema, policies.can_complete(actor, task),
                    {"application_fields": forms.field_titles(start_schema)},
                    _latest_changes(view, start_schema, changed, options), notice,
                    actor.role is Role.COMMISSION and processes.can_extend(task, today_cst()),
                    blocked, version, shown)


# a task with its instance (without the workflow state) and the instance's parties, in one
# statement built once per process; populate_existing: after a refused step (rolled back, its
# objects expired) too, rather than a refresh per object
_TASK_PAGE = (_with_parties(select(HumanTask).join(HumanTask.instance))
              # the option labels need no statement of their own (catalogue and 科室 kept)
              .add_columns(*applications.PERSON_COLUMNS, applications.DEPARTMENT_STAMP)
              .where(HumanTask.id == bindparam("task_id"))
              .options(contains_eager(HumanTask.instance).defer(ProcessInstance.workflow_json))
              .execution_options(populate_existing=True))


def _resubmitted(lines: list[TaskLine]) -> dict[str, Any]:
    """The fields the physician changed in the latest resubmission: name -> (old, new)."""
    redone = [t for t in lines if t.status == TaskStatus.COMPLETED and t.changes is not None
              and t.lane == "physician"]
    return (redone[-1].changes or {}) if redone else {}


def _latest_changes(view: ApplicationView, schema: dict[str, Any], changed: dict[str, Any],
                    options: dict[str, list[forms.Option]]) -> list[Change]:
    """What the physician changed in the latest resubmission (empty if none), labelled with
    ``options`` (which name the old and the new values)."""
    shown = {f.name: f for f in view.fields}
    out = []
    for name, (old, new) in changed.items():
        view_of = shown.get(name)
        title = view_of.title if view_of else name
        before = forms.field_views(schema, {name: old}, None, options)
        after = forms.field_views(schema, {name: new}, None, options)
        show = {f.name: f.display for f in before}, {f.name: f.display for f in after}
        old_s, new_s = show[0].get(name) or "—", show[1].get(name) or "—"
        if schema.get("properties", {}).get(name, {}).get("format") == "mobile":
            old_s, new_s = mask_mobile(str(old or "")) or "—", mask_mobile(str(new or "")) or "—"
        out.append(Change(title, old_s, new_s))
    return out


def my_applications(actor: User) -> list[ProcessInstance]:
    """The physician's applications, newest first (业务查询)."""
    if actor.role is not Role.PHYSICIAN:
        raise Forbidden(_("只有医师可以查看自己的业务申请"))
    return list(db.session.scalars(select(ProcessInstance).where(
        ProcessInstance.subject_user_id == actor.id).order_by(ProcessInstance.id.desc())))


def my_open_tasks(actor: User) -> list[HumanTask]:
    """Tasks waiting for the physician (e.g. a returned application)."""
    return list(db.session.scalars(select(HumanTask).where(
        HumanTask.scope_kind == ScopeKind.USER, HumanTask.scope_id == actor.id,
        HumanTask.status == TaskStatus.OPEN).order_by(HumanTask.id)))


def physician_task_form(actor: User, task_id: int, values: dict[str, Any] | None = None,
                        errors: dict[str, str] | None = None) -> tuple[HumanTask,
                                                                       applications.FormPage]:
    """A task waiting for the physician (correction), with the approvers' notes."""
    # with its instance in one statement, without the workflow state (the form never shows
    # it); populate_existing: after a refused correction (rolled back, expired) too
    task = db.session.get(HumanTask, task_id, populate_existing=True, options=[
        joinedload(HumanTask.instance).options(defer(ProcessInstance.workflow_json))])
    if task is None or task.scope_kind != ScopeKind.USER or task.scope_id != actor.id:
        raise NotFound(_("任务不存在"))
    inst = task.instance
    asked = [t for t in _task_lines(inst) if t.status == TaskStatus.COMPLETED
             and t.lane != "physician" and (t.data or {}).get("decision") in ("return", "correct")]
    last = (asked[-1].data or {}) if asked else {}
    notes = [f"{asked[-1].title}：{last.get('note')}"] if asked and last.get("note") else []
    page = applications.form_page(actor, inst.process_id,
                                  values if values is not None else inst.application, errors,
                                  inst, notes, task.task_spec_id)
    for f in page.fields:
        if f.name in (last.get("fields") or []):
            f.flag = _("审核意见要求补正此项")
    return task, page


@dataclass(frozen=True)
class FileRef:
    sha256: str
    name: str
    mime: str


def attachment_of(actor: User, instance_id: int, field_name: str) -> FileRef:
    """An attachment of an application the actor may see."""
    inst = db.session.get(ProcessInstance, instance_id)
    if inst is None or not policies.can_view_instance(actor, inst):
        raise NotFound(_("附件不存在"))
    ref = (inst.application or {}).get(field_name)
    if not isinstance(ref, dict) or "sha256" not in ref:
        raise NotFound(_("附件不存在"))
    return FileRef(str(ref["sha256"]), str(ref.get("name", "附件")),
                   str(ref.get("mime", "application/octet-stream")))
