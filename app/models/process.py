"""Process definitions (versioned), instances and the human-task read model."""

from __future__ import annotations

import enum
from datetime import date
from datetime import datetime
from typing import Any

from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from app.extensions import db
from app.models.base import JSONType
from app.models.base import UTCDateTime
from app.models.base import str_enum
from app.models.base import utcnow
from app.models.compact import ZlibJSON
from app.models.compact import ZlibText


class ProcessDefinition(db.Model):  # type: ignore[name-defined]
    """One version of a diagram with the forms it uses and its parsed spec (stored once)."""

    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("process_id", "version", name="uq_process_definition_pv"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(60), index=True)
    version: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(String(100))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    forms: Mapped[dict[str, Any]] = mapped_column(JSONType)
    spec_json: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    author: Mapped[str] = mapped_column(String(60), default="system")
    note: Mapped[str | None] = mapped_column(String(200))  # what changed, e.g. 回滚至版本 1
    # test cases added or changed in the editor, by key, over workflows_tests/<process>/
    cases: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # flow elements no test case reaches, published as audited exceptions: {element id: reason}
    coverage_exceptions: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<ProcessDefinition {self.process_id} v{self.version}>"


class ProcessDraft(db.Model):  # type: ignore[name-defined]
    """The administrator's work in progress on a process: saved on every edit, one per process."""

    __tablename__ = "process_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(60), unique=True)
    base_version: Mapped[int] = mapped_column()
    bpmn_xml: Mapped[str] = mapped_column(Text)
    forms: Mapped[dict[str, Any]] = mapped_column(JSONType)
    revision: Mapped[int] = mapped_column(default=1)  # a save names the revision it edited
    # test cases added or changed in the editor, by key, over workflows_tests/<process>/
    cases: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    updated_by: Mapped[str] = mapped_column(String(60))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseRun(db.Model):  # type: ignore[name-defined]
    """One run of a process's test cases against a draft's exact content (a background job).

    ``active_key`` is the process id while the run is queued or running and NULL once it has
    finished; being unique, it lets only one run per draft be under way at a time."""

    __tablename__ = "case_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(60), index=True)
    content_sha: Mapped[str] = mapped_column(String(64))  # the draft content the run tests
    state: Mapped[str] = mapped_column(String(10))  # queued / running / passed / failed
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    results: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    message: Mapped[str | None] = mapped_column(String(200))
    active_key: Mapped[str | None] = mapped_column(String(60), unique=True)
    started_by: Mapped[str] = mapped_column(String(60))
    # the one case this run tested (运行此用例); NULL: every case (only those count for publishing)
    case_key: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ProcessInstance(db.Model):  # type: ignore[name-defined]
    """A running or finished application (业务申请) and its serialized workflow."""

    __tablename__ = "process_instance"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(60), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    # the physician's account; None when an institution or commission starts a case for a
    # physician who has none
    subject_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    # "<conflict group>:<physician>" while a physician's application is open, else None: the
    # database keeps one open application per physician and group, whatever the timing
    open_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    qualification_id: Mapped[int | None] = mapped_column(ForeignKey("qualification.id"))
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registration.id"))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))  # no query filters on it
    target_institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    authority_id: Mapped[int | None] = mapped_column(ForeignKey("authority.id"), index=True)
    business_status: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str | None] = mapped_column(String(20))
    application: Mapped[dict[str, Any]] = mapped_column(ZlibJSON, default=dict)  # stored compressed
    workflow_json: Mapped[str] = mapped_column(ZlibText)  # JSON text, stored zlib-compressed
    serializer_version: Mapped[str] = mapped_column(String(10))
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    due_on: Mapped[date | None] = mapped_column(Date)
    clock_paused: Mapped[bool] = mapped_column(default=False)
    # the day the commission (last) received the materials, and the day of 受理 (the receipt
    # day when it is deemed accepted: no 补正 notice within five working days)
    received_on: Mapped[date | None] = mapped_column(Date)
    accepted_on: Mapped[date | None] = mapped_column(Date)
    extended: Mapped[bool] = mapped_column(default=False)  # 延期 (行政许可法 第四十二条)
    overdue: Mapped[bool] = mapped_column(default=False)
    suspended: Mapped[bool] = mapped_column(default=False)  # by an administrator
    error: Mapped[str | None] = mapped_column(String(500))
    lock_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    definition: Mapped[ProcessDefinition] = relationship()
    tasks: Mapped[list[HumanTask]] = relationship(back_populates="instance",
                                                  order_by="HumanTask.id")

    __mapper_args__ = {"version_id_col": lock_version}

    def __repr__(self) -> str:
        return f"<ProcessInstance {self.id} {self.process_id} {self.business_status}>"


class TaskStatus(enum.StrEnum):
    """Whether a human task waits, was done or was withdrawn."""

    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class ScopeKind(enum.StrEnum):
    """Whose inbox a human task is in: one user, an institution, an authority, the administrators."""

    USER = "user"
    INSTITUTION = "institution"
    AUTHORITY = "authority"
    ADMIN = "admin"


class HumanTask(db.Model):  # type: ignore[name-defined]
    """The read model of a user task: what inboxes, counts and histories query."""

    __tablename__ = "human_task"
    __table_args__ = (
        # the inbox pages by keyset on these (soonest due first, or by arrival); open tasks
        # only: every inbox query asks for status 'open', and a done task leaves the indexes
        # (status stays a column: the queries bind it as a parameter and read the index alone)
        # … and 办理统计 counts a commission's open tasks by type and due date from this index
        # alone (process_id last: no instance read per task, the keyset order unchanged)
        Index("ix_human_task_scope_due", "scope_kind", "scope_id", "status", "due_at", "id",
              "process_id", sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
        Index("ix_human_task_scope_arrived", "scope_kind", "scope_id", "status", "created_at", "id",
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
        Index("ix_human_task_scope_claim", "scope_kind", "scope_id", "status", "claimed_by_id",
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(60))  # the instance's business type (never changes)
    task_guid: Mapped[str] = mapped_column(String(36), unique=True)
    task_spec_id: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(100))
    lane: Mapped[str | None] = mapped_column(String(30))
    form_id: Mapped[str] = mapped_column(String(60))
    scope_kind: Mapped[ScopeKind] = mapped_column(str_enum(ScopeKind, 20))
    scope_id: Mapped[int | None] = mapped_column()
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[TaskStatus] = mapped_column(str_enum(TaskStatus, 12), default=TaskStatus.OPEN)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # resubmission: old → new
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    instance: Mapped[ProcessInstance] = relationship(back_populates="tasks")

    def __repr__(self) -> str:
        return f"<HumanTask {self.task_spec_id} {self.status}>"


class TaskComment(db.Model):  # type: ignore[name-defined]
    """A note staff leave on an application while working it (not shown to the physician)."""

    __tablename__ = "task_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    author_name: Mapped[str] = mapped_column(String(60))
    scope_kind: Mapped[str] = mapped_column(String(20))  # who may read: institution / authority
    scope_id: Mapped[int | None] = mapped_column()
    body: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
