"""Comments staff leave on an application while working it: seen by their own organisation
only (an institution's notes never reach the commission, nor the physician)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from flask_babel import gettext as _
from sqlalchemy import bindparam
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.models import ProcessInstance
from app.models import Role
from app.models import TaskComment
from app.models import User
from app.services.engine import policies
from app.services.engine.assignment import scope_of_user
from app.services.errors import InvalidInput
from app.services.errors import NotFound
from app.services.platform import audit
from app.services.platform import idempotency

MAX_LEN = 1000


def staff_scope(actor: User) -> tuple[str, int | None]:
    """The organisation whose comments the actor writes and reads (an institution's or a
    commission's staff); NotFound for anyone else."""
    scope = scope_of_user(actor)
    if scope is None or actor.role not in (Role.INSTITUTION, Role.COMMISSION):
        raise NotFound(_("申请不存在"))
    return scope


def _staff_scope(actor: User, instance_id: int) -> tuple[str, int | None]:
    inst = db.session.get(ProcessInstance, instance_id)
    scope = staff_scope(actor)
    if inst is None or not policies.can_view_instance(actor, inst):
        raise NotFound(_("申请不存在"))
    return scope


class Shown(NamedTuple):
    """A comment as the task page shows it."""

    author_name: str
    created_at: datetime
    body: str


def for_instance(actor: User, instance_id: int) -> list[Shown]:
    """The comments of the actor's organisation on an application, oldest first."""
    kind, sid = _staff_scope(actor, instance_id)
    return [Shown(name, at, body) for name, at, body in db.session.connection().execute(
        _OF_INSTANCE, {"instance_id": instance_id, "kind": kind, "sid": sid}).tuples()]


# built once per process (bound per request): a task page reads it every time (the columns it
# shows, not the entities)
_OF_INSTANCE = select(TaskComment.author_name, TaskComment.created_at, TaskComment.body).where(
    TaskComment.instance_id == bindparam("instance_id"), TaskComment.scope_kind == bindparam("kind"),
    TaskComment.scope_id == bindparam("sid")).order_by(TaskComment.id)


def add(actor: User, instance_id: int, body: str, task_id: int | None = None,
        token: str | None = None) -> TaskComment:
    """Add a comment (1–1000 characters); the same form ``token`` again returns the first
    comment instead of saving it twice."""
    kind, sid = _staff_scope(actor, instance_id)
    once = idempotency.claim(token, actor.id, f"comment:{instance_id}")
    first = db.session.get(TaskComment, once.first) if once.first is not None else None
    if first is not None:
        db.session.rollback()
        return first
    task = db.session.get(HumanTask, task_id) if task_id is not None else None
    if task is None or task.instance_id != instance_id:
        task_id = None  # only a task of this application is recorded with the comment
    text = (body or "").strip()
    if not text:
        raise InvalidInput(_("请填写备注内容"), {"comment": _("请填写备注内容")}, {"comment": body})
    if len(text) > MAX_LEN:
        raise InvalidInput(_("备注不能超过 %(n)s 个字", n=MAX_LEN),
                           {"comment": _("备注不能超过 %(n)s 个字", n=MAX_LEN)}, {"comment": body})
    comment = TaskComment(instance_id=instance_id, task_id=task_id, author_id=actor.id,
                          author_name=actor.display_name, scope_kind=kind, scope_id=sid, body=text)
    db.session.add(comment)
    db.session.flush()
    audit.record(actor, "application.comment", "process_instance", instance_id, {"comment": comment.id})
    once.done(comment.id)
    db.session.commit()
    return comment
