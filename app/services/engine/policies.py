"""Authorization predicates: deny by default."""

from __future__ import annotations

from app.models import HumanTask
from app.models import ProcessInstance
from app.models import Role
from app.models import TaskStatus
from app.models import User
from app.services.backoffice.definitions import lane_role
from app.services.engine.assignment import scope_of_user


def in_scope(user: User, task: HumanTask) -> bool:
    scope = scope_of_user(user)
    return scope is not None and scope == (task.scope_kind, task.scope_id) and (
        lane_role(task.lane) is user.role)


def can_complete(user: User, task: HumanTask) -> bool:
    """The actor works this task's scope and nobody else has claimed it."""
    return (task.status == TaskStatus.OPEN and in_scope(user, task)
            and task.claimed_by_id in (None, user.id))


def can_view_instance(user: User, instance: ProcessInstance) -> bool:
    """The subject, staff of an involved institution, the commission deciding it, admins."""
    if user.role is Role.ADMIN:
        return True
    if user.role is Role.PHYSICIAN:
        return instance.subject_user_id == user.id
    if user.role is Role.INSTITUTION:
        return user.institution_id is not None and user.institution_id in (
            instance.institution_id, instance.target_institution_id)
    if user.role is Role.COMMISSION:
        return user.authority_id is not None and user.authority_id == instance.authority_id
    return False
