"""Who works a lane: the one place that resolves lanes to scopes."""

from __future__ import annotations

from app.models import ProcessInstance
from app.models import Role
from app.models import ScopeKind
from app.models import User

Scope = tuple[ScopeKind, int | None]


def scope_of_lane(lane: str | None, instance: ProcessInstance) -> Scope:
    """The scope (kind, id) whose members may work a task of ``lane``."""
    if lane == "physician":
        return ScopeKind.USER, instance.subject_user_id
    if lane == "institution":
        return ScopeKind.INSTITUTION, instance.institution_id
    if lane == "target_institution":
        return ScopeKind.INSTITUTION, instance.target_institution_id
    if lane == "commission":
        return ScopeKind.AUTHORITY, instance.authority_id
    return ScopeKind.ADMIN, None


def scope_of_user(user: User) -> Scope | None:
    """The scope a user works in (None: works no inbox)."""
    if user.role is Role.PHYSICIAN:
        return ScopeKind.USER, user.id
    if user.role is Role.INSTITUTION and user.institution_id:
        return ScopeKind.INSTITUTION, user.institution_id
    if user.role is Role.COMMISSION and user.authority_id:
        return ScopeKind.AUTHORITY, user.authority_id
    if user.role is Role.ADMIN:
        return ScopeKind.ADMIN, None
    return None
