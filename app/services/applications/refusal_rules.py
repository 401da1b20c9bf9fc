"""Named refusal rules a configured business type is built from (新建流程 offers them as a
list; no code is typed in the browser). Each rule says why a physician may not apply now, or
None; they are the existing eligibility helpers (DOMAIN §4.0–4.1) under a name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext as _

from app.models import RegistrationStatus
from app.models import User
from app.services.applications import eligibility

# (actor, process id, the type's Chinese name) -> why not, or None
Check = Callable[[User, str, str], "str | None"]


@dataclass(frozen=True)
class RefusalRule:
    key: str
    label: str  # what the administrator picks from
    check: Check


def _current(actor: User, _process_id: str, name: str) -> str | None:
    if not eligibility.registrations_in(actor, eligibility.CURRENT):
        return _("您当前没有有效的执业注册，不能申请%(what)s", what=name)
    return None


def _open(actor: User, process_id: str, _name: str) -> str | None:
    return eligibility.open_refusal(actor, process_id)


def _physician_level(actor: User, _process_id: str, name: str) -> str | None:
    qual = actor.qualification
    if qual is None or qual.level != "执业医师":
        return _("仅执业医师可以申请%(what)s", what=name)
    return None


def _not_suspended(actor: User, _process_id: str, name: str) -> str | None:
    if eligibility.registrations_in(actor, (RegistrationStatus.SUSPENDED,)):
        return _("您的执业注册处于暂停执业期间，不能申请%(what)s", what=name)
    return None


CATALOGUE: dict[str, RefusalRule] = {r.key: r for r in (
    RefusalRule("registration_current", "需有有效执业注册", _current),
    RefusalRule("no_open_same", "不得有同类申请在办", _open),
    RefusalRule("physician_level", "需为执业医师", _physician_level),
    RefusalRule("not_suspended", "不得处于暂停执业期间", _not_suspended),
)}


def refusal(keys: tuple[str, ...], process_id: str, name: str) -> Callable[[User], str | None]:
    """The refusal of a type: the first of its rules (in catalogue order) that says no."""
    chosen = [r for k, r in CATALOGUE.items() if k in keys]

    def check(actor: User) -> str | None:
        for rule in chosen:
            reason = rule.check(actor, process_id, name)
            if reason:
                return reason
        return None
    return check
