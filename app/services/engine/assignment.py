"""Who works a lane: the one place that resolves lanes to scopes."""

from __future__ import annotations

from app.models import ProcessInstance
from app.models import Role
from app.models import User

Scope = tuple[str, int | None]


def scope_of_lane(lane: str | None, instance: ProcessInstance) -> Scope:
    """The scope (kind, id) whose members may work a task of ``lane``."""
    if lane == "physician":
        return "user", instance.subject_user_id
    if lane == "institution":
        return "institution", instance.institution_id
    if lane == "target_institution":
        return "institution", instance.target_institution_id
    if lane == "commission":
        return "authority", instance.authority_id
    return "admin", None


def scope_of_user(user: User) -> Scope | None:
    """The scope a user works in (None: works no inbox)."""
    if user.role is Role.PHYSICIAN:
        return "user", user.id
    if user.role is Role.INSTITUTION and user.institution_id:
        return "institution", user.institution_id
    if user.role is Role.COMMISSION and user.authority_id:
        return "authority", user.authority_id
    if user.role is Role.ADMIN:
        return "admin", None
    return None
