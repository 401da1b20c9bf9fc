"""The plain timeline of an application (业务查询): the steps of its diagram in order, each
done, current or still to come, who holds it and what the person does next."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime

from flask_babel import gettext as _

from app.extensions import db
from app.models import Authority
from app.models import HumanTask
from app.models import Institution
from app.models import ProcessInstance
from app.models import ScopeKind
from app.models import TaskStatus
from app.models import User
from app.services.backoffice import definitions
from app.services.engine import policies
from app.services.engine.clock import CST
from app.services.errors import NotFound
from app.workflow import Milestone
from app.workflow import Outline
from app.workflow import outline

# what a person calls each role; also the names of diagrams published with English lane names
LANE_NAMES = {"physician": "医师", "institution": "医疗机构", "target_institution": "拟执业机构",
              "commission": "卫生健康委", "admin": "系统管理员"}
APPROVED = "approved"


class StepState(enum.StrEnum):
    """Where a step stands; the page says it in words, not only in colour."""

    DONE = "done"
    CURRENT = "current"
    RETURNED = "returned"  # sent back for 补正: waits for the applicant's correction
    UPCOMING = "upcoming"
    SKIPPED = "skipped"  # not reached: the application ended before it


STATE_LABELS = {StepState.DONE: "已完成", StepState.CURRENT: "正在办理", StepState.RETURNED: "退回补正",
                StepState.UPCOMING: "待办理", StepState.SKIPPED: "未办理"}


@dataclass(frozen=True)
class Step:
    """One step of the stepper."""

    title: str
    party: str  # who works it: 您本人, the institution's or the commission's name, or the lane
    state: StepState
    completed_on: date | None = None
    note: str = ""  # the decision taken (确认, 受理, 准予 …) or why it waits

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass(frozen=True)
class Timeline:
    """The stepper and the next thing to do."""

    steps: list[Step]
    ended: bool
    outcome: str  # the business status at the end (已批准, 不予受理, 已撤回 …)
    approved: bool
    holder: str  # who holds it now ("" once ended)
    my_task_id: int | None  # the viewer's own open task (a button to it)
    my_task_title: str

    @property
    def current_index(self) -> int | None:
        return next((i for i, s in enumerate(self.steps)
                     if s.state in (StepState.CURRENT, StepState.RETURNED)), None)


def timeline_of(actor: User, instance_id: int) -> Timeline:
    """The timeline of one application the actor may see."""
    inst = db.session.get(ProcessInstance, instance_id)
    if inst is None or not policies.can_view_instance(actor, inst):
        raise NotFound(_("申请不存在"))
    return build(inst, actor.id)


def _cst_day(at: datetime | None) -> date | None:
    if at is None:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(CST).date()


class _Parties:
    """Names of who works a lane or holds a task of one instance (looked up once each)."""

    def __init__(self, inst: ProcessInstance, shape: Outline, viewer_id: int | None) -> None:
        self.inst, self.shape, self.viewer_id = inst, shape, viewer_id
        self._names: dict[tuple[ScopeKind, int | None], str] = {}

    def lane_name(self, key: str | None) -> str:
        name = self.shape.lane_name(key)
        return LANE_NAMES.get(name, name) if name else ""

    def of_scope(self, kind: ScopeKind, scope_id: int | None, lane: str | None) -> str:
        if kind == ScopeKind.USER:
            return _("您本人") if scope_id == self.viewer_id else self.lane_name(lane)
        if (kind, scope_id) not in self._names:
            row: Institution | Authority | None = None
            if kind == ScopeKind.INSTITUTION and scope_id:
                row = db.session.get(Institution, scope_id)
            elif kind == ScopeKind.AUTHORITY and scope_id:
                row = db.session.get(Authority, scope_id)
            self._names[(kind, scope_id)] = row.name if row is not None else self.lane_name(lane)
        return self._names[(kind, scope_id)]

    def of_lane(self, key: str | None) -> str:
        inst = self.inst
        scope: dict[str | None, tuple[ScopeKind, int | None]] = {
            "physician": (ScopeKind.USER, inst.subject_user_id),
            "institution": (ScopeKind.INSTITUTION, inst.institution_id),
            "target_institution": (ScopeKind.INSTITUTION, inst.target_institution_id),
            "commission": (ScopeKind.AUTHORITY, inst.authority_id)}
        kind, scope_id = scope.get(key, (ScopeKind.ADMIN, None))
        return self.of_scope(kind, scope_id, key)


def _decision_label(inst: ProcessInstance, task: HumanTask) -> str:
    value = (task.data or {}).get("decision")
    if not value:
        return ""
    prop = inst.definition.forms.get(task.form_id, {}).get("properties", {}).get("decision", {})
    return str(prop.get("x-labels", {}).get(value, ""))


def _corrects(task: Milestone, starter: str | None, start_form: str) -> bool:
    """Whether a user task is the applicant's correction (退回修改, 补正): a loop, not a step.
    It is in the starter's lane and edits the application (the start form)."""
    return task.lane == starter and task.form_id == start_form


def build(inst: ProcessInstance, viewer_id: int | None) -> Timeline:
    """The timeline of ``inst``: the start, the user tasks of its diagram along the path (the
    applicant's correction tasks are loops, not steps), and 办结."""
    shape = outline(inst.definition.bpmn_xml)
    parties = _Parties(inst, shape, viewer_id)
    starter = shape.start.lane
    start_form = definitions.start_form_id(definitions.definition_of(inst.definition))
    main = [m for m in shape.tasks if not _corrects(m, starter, start_form)]
    index = {m.spec_id: i for i, m in enumerate(main)}
    tasks = sorted(inst.tasks, key=lambda t: t.id)
    done: dict[str, HumanTask] = {}
    for t in tasks:
        if t.status == TaskStatus.COMPLETED and t.task_spec_id in index:
            done[t.task_spec_id] = t  # the latest completion of each step
    open_tasks = [t for t in tasks if t.status == TaskStatus.OPEN]
    ended = inst.completed_at is not None
    current: int | None = None
    state = StepState.CURRENT
    holder_task: HumanTask | None = None
    open_main = [t for t in open_tasks if t.task_spec_id in index]
    if open_main:
        holder_task = min(open_main, key=lambda t: index[t.task_spec_id])
        current = index[holder_task.task_spec_id]
    elif open_tasks:  # a correction: the step that asked for it waits for the applicant
        holder_task = open_tasks[0]
        asked = [t for t in tasks if t.status == TaskStatus.COMPLETED and t.task_spec_id in index
                 and t.id < holder_task.id]
        current = index[asked[-1].task_spec_id] if asked else None
        state = StepState.RETURNED
    elif not ended:  # between steps (an automatic step): the first one not done yet
        current = next((i for i, m in enumerate(main) if m.spec_id not in done), None)

    steps = [Step(shape.start.title or _("提交申请"), parties.of_lane(starter), StepState.DONE,
                  _cst_day(inst.created_at))]
    for i, m in enumerate(main):
        last = done.get(m.spec_id)
        if current is not None and i == current:
            who = (parties.of_scope(holder_task.scope_kind, holder_task.scope_id, holder_task.lane)
                   if holder_task is not None else parties.of_lane(m.lane))
            note = ""
            if state is StepState.RETURNED:
                note = (_("已退回补正：请您按意见修改后重新提交") if holder_task is not None
                        and holder_task.scope_kind == ScopeKind.USER
                        and holder_task.scope_id == viewer_id
                        else _("已退回，等待%(who)s补正后重新提交", who=who))
            steps.append(Step(m.title, parties.of_lane(m.lane) if state is StepState.RETURNED
                              else who, state, None, note))
        elif last is not None and (current is None or i < current):
            steps.append(Step(m.title, parties.of_scope(last.scope_kind, last.scope_id, last.lane),
                              StepState.DONE, _cst_day(last.completed_at),
                              _decision_label(inst, last)))
        elif ended or (current is not None and i < current):
            steps.append(Step(m.title, parties.of_lane(m.lane), StepState.SKIPPED))
        else:
            steps.append(Step(m.title, parties.of_lane(m.lane), StepState.UPCOMING))
    approved = inst.outcome == APPROVED
    steps.append(Step(_("办结"), "", StepState.DONE if ended else StepState.UPCOMING,
                      _cst_day(inst.completed_at), inst.business_status if ended else ""))

    holder = ""
    if not ended and holder_task is not None:
        holder = parties.of_scope(holder_task.scope_kind, holder_task.scope_id, holder_task.lane)
    elif not ended and current is not None:
        holder = parties.of_lane(main[current].lane)
    mine = next((t for t in open_tasks
                 if t.scope_kind == ScopeKind.USER and t.scope_id == viewer_id), None)
    return Timeline(steps, ended, inst.business_status if ended else "", approved, holder,
                    mine.id if mine else None, mine.title if mine else "")
