"""Business types an institution or a commission starts (发起业务): configured types (新建流程)
whose starter is 医疗机构 or 卫生健康委员会. Such a case concerns one registration: of the
institution's own physicians, or of the commission's jurisdiction (the 报告注销 logic,
:func:`~app.services.applications.prepare.reportable_registrations`); the refusal rules chosen
for the type are asked about that registration's physician."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import ProcessInstance
from app.models import Registration
from app.models import Role
from app.models import User
from app.services.applications import forms
from app.services.applications import types
from app.services.applications.forms import Option
from app.services.applications.prepare import Prepared
from app.services.applications.prepare import reportable_registrations
from app.services.errors import Forbidden
from app.services.errors import NotFound

OPTIONS = "registrations_reportable"  # the staff start form's select (skeleton.apply_form)
STARTER_OF = {Role.INSTITUTION: "institution", Role.COMMISSION: "commission"}


@dataclass(frozen=True)
class Startable:
    """A business type this staff member may start, as 发起业务 lists it."""

    process_id: str
    name: str


@dataclass(frozen=True)
class StartPage:
    """The start form of one type, with the staff member's choices, values and messages."""

    process_id: str
    title: str
    fields: list[forms.FieldView]


def _published_names() -> dict[str, str]:
    """Process id -> the name of its newest published version (read once per request)."""
    from app.services.backoffice import definitions

    return {pid: name for _id, pid, name in definitions.newest_published()}


def startable(actor: User) -> list[Startable]:
    """The published configured types whose starter is the actor's role (page order)."""
    starter = STARTER_OF.get(actor.role)
    if starter is None:
        return []
    names = _published_names()
    if all(types.built_in(pid) for pid in names):  # no configured type is published: none to read
        return []
    return [Startable(bt.process_id, names[bt.process_id]) for bt in types.of_kind("case")
            if bt.configured and starter in bt.starters and bt.process_id in names]


def _type(actor: User, process_id: str) -> types.BusinessType:
    if not any(s.process_id == process_id for s in startable(actor)):
        if STARTER_OF.get(actor.role) is None:
            raise Forbidden(_("您无权发起此项业务"))
        raise NotFound(_("没有可以发起的该项业务"))
    bt = types.get(process_id)
    assert bt is not None
    return bt


def _label(reg: Registration) -> str:
    return f"{reg.qualification.name} · {reg.cert_no or ''}（{reg.status_label}）"


def candidates(actor: User, bt: types.BusinessType) -> list[Registration]:
    """Registrations the case may concern: the institution's own physicians' (the
    commission's jurisdiction's) in one of the statuses the type's effect needs."""
    wanted = set(bt.needs_status or ())
    return [r for r in reportable_registrations(actor) if not wanted or r.status in wanted]


def options(actor: User, bt: types.BusinessType) -> dict[str, list[Option]]:
    return {OPTIONS: [(str(r.id), _label(r)) for r in candidates(actor, bt)]}


def start_page(actor: User, process_id: str, values: dict[str, Any] | None = None,
               errors: dict[str, str] | None = None) -> StartPage:
    """The start form of ``process_id`` for this institution or commission staff member."""
    from app.services.backoffice import definitions

    bt = _type(actor, process_id)
    row = definitions.published(process_id)
    schema = row.forms[definitions.start_form_id(definitions.definition_of(row))]
    return StartPage(process_id, row.name,
                     forms.field_views(schema, values, errors, options(actor, bt)))


def physician_of(reg: Registration) -> User | None:
    """The registration's physician's activated account (None: the physician has none)."""
    return db.session.scalar(select(User).where(
        User.id_number == reg.qualification.id_number, User.role == Role.PHYSICIAN,
        User.activated.is_(True)).limit(1))


def prepare_staff_case(actor: User | None, process_id: str, schema: dict[str, Any],
                       payload: dict[str, Any], instance: ProcessInstance | None,
                       errors: dict[str, str] | None) -> Prepared:
    """Validate a configured case: the registration must be one the actor may name, and the
    type's refusal rules must not refuse its physician (asked only when the physician has an
    account: the rules read the physician's records through it)."""
    if actor is None:
        raise Forbidden(_("您无权发起此项业务"))
    bt = types.get(process_id)
    starter = STARTER_OF.get(actor.role)
    if bt is None or starter is None or starter not in bt.starters:
        raise Forbidden(_("您无权发起此项业务"))
    data = dict(payload)
    if instance is not None:
        data["registration_id"] = instance.registration_id
    extra = dict(errors or {})
    regs = candidates(actor, bt)
    reg = next((r for r in regs if r.id == data.get("registration_id")), None)
    if data.get("registration_id") is not None and reg is None:
        extra["registration_id"] = _("请选择本机构（本辖区）医师有效的执业注册")
    if reg is not None and instance is None and bt.refusal is not None:
        physician = physician_of(reg)
        reason = bt.refusal(physician) if physician is not None else None
        if reason:  # the rules speak to the physician: say whom they are about
            extra["registration_id"] = _("医师%(name)s：%(reason)s", name=reg.qualification.name,
                                         reason=reason)
    clean = forms.validate(schema, data, options(actor, bt), extra)
    assert reg is not None
    return Prepared(clean, reg.institution_id, reg.authority_id, reg.id)
