"""What a physician may apply for now, and why not otherwise (DOMAIN §4.0–4.1)."""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from contextvars import ContextVar

from flask_babel import gettext as _
from sqlalchemy import String
from sqlalchemy import bindparam
from sqlalchemy import cast
from sqlalchemy import func
from sqlalchemy import select

from app.extensions import db
from app.models import FilingStatus
from app.models import MultiFiling
from app.models import ProcessInstance
from app.models import Qualification
from app.models import Registration
from app.models import RegistrationStatus
from app.models import User
from app.services.applications import conflicts
from app.services.applications import types

CANCELLABLE = (RegistrationStatus.ACTIVE, RegistrationStatus.PENDING_CHANGE, RegistrationStatus.SUSPENDED,
               RegistrationStatus.FILED)
# a registration in force: 有效, or 变更中 (办法 第二十二条: still valid under its old items)
CURRENT = (RegistrationStatus.ACTIVE, RegistrationStatus.PENDING_CHANGE)
OPEN_BLOCKING = {RegistrationStatus.SUSPENDED: "您的执业注册处于暂停执业期间，不能申请注册"}
# 吊销 and 注销 after a failed assessment bar for a time only: see types/registration.py


OpenApplication = tuple[int, str]  # (instance id, process id) of an open application
# the physician's open applications of the types a refusal check asks about, oldest first:
# (user id, the process ids read, what is open of them); set only while a check runs
_OPEN_KNOWN: ContextVar[tuple[int, frozenset[str], tuple[OpenApplication, ...]] | None] = \
    ContextVar("medreg_open_applications", default=None)
# statements built once per process (bound per request); ids only: a check shows none of the state
_OPEN_ONE = select(ProcessInstance.id).where(
    ProcessInstance.subject_user_id == bindparam("user_id"),
    ProcessInstance.process_id == bindparam("process_id"),
    ProcessInstance.completed_at.is_(None)).limit(1)
_OPEN_OF = select(ProcessInstance.id, ProcessInstance.process_id).where(
    ProcessInstance.subject_user_id == bindparam("user_id"),
    ProcessInstance.process_id.in_(bindparam("process_ids", expanding=True)),
    ProcessInstance.completed_at.is_(None)).order_by(ProcessInstance.id)


# every open application of a person as one text, "id:process_id,id:process_id" (a statement
# of another table reads it in a column; process ids are XML names: no ":" nor ",")
OPEN_TEXT = select(func.aggregate_strings(
    cast(ProcessInstance.id, String) + ":" + ProcessInstance.process_id, ",")).where(
    ProcessInstance.subject_user_id == bindparam("user_id"),
    ProcessInstance.completed_at.is_(None)).scalar_subquery()


def open_from_text(text: str | None) -> tuple[OpenApplication, ...]:
    """The open applications :data:`OPEN_TEXT` read, oldest first."""
    pairs = (item.split(":", 1) for item in (text or "").split(",") if item)
    return tuple(sorted((int(i), p) for i, p in pairs))


def open_application(actor: User, process_id: str) -> int | None:
    """The id of the physician's open application of ``process_id`` (None: none is open)."""
    known = _OPEN_KNOWN.get()
    if known is not None and known[0] == actor.id and process_id in known[1]:
        return next((i for i, p in known[2] if p == process_id), None)
    found: int | None = db.session.scalar(_OPEN_ONE, {"user_id": actor.id, "process_id": process_id})
    return found


def open_applications(actor: User, process_ids: Collection[str]) -> tuple[OpenApplication, ...]:
    """The physician's open applications of ``process_ids`` (one statement), oldest first."""
    known = _OPEN_KNOWN.get()
    wanted = frozenset(process_ids)
    if known is not None and known[0] == actor.id and wanted <= known[1]:
        return tuple(o for o in known[2] if o[1] in wanted)
    return tuple((int(i), str(p)) for i, p in db.session.execute(
        _OPEN_OF, {"user_id": actor.id, "process_ids": sorted(wanted)}))


@contextmanager
def _knowing(actor: User, process_ids: frozenset[str],
             found: tuple[OpenApplication, ...]) -> Iterator[None]:
    """While a refusal check runs, :func:`open_application` answers from ``found`` (read in
    the same request a moment before) instead of asking the database again."""
    token = _OPEN_KNOWN.set((actor.id, process_ids, found))
    try:
        yield
    finally:
        _OPEN_KNOWN.reset(token)


def registrations_in(actor: User, statuses: tuple[RegistrationStatus, ...]) -> list[Registration]:
    """The physician's registrations in any of ``statuses``."""
    qual = actor.qualification
    return [r for r in (qual.registrations if qual else []) if r.status in statuses]


def open_refusal(actor: User, process_id: str) -> str | None:
    """The same kind of application is already open."""
    if open_application(actor, process_id) is not None:
        return _("您已有正在办理的同类申请，请在业务查询中查看进度")
    return None


def active_refusal(actor: User, process_id: str, what: str) -> str | None:
    if not registrations_in(actor, CURRENT):
        return _("您当前没有有效的执业注册，不能申请%(what)s", what=what)
    return open_refusal(actor, process_id)


def physician_qualification(actor: User) -> Qualification | None:
    """A 执业医师 qualification of the same person and category as the actor's assistant one."""
    qual = actor.qualification
    if qual is None:
        return None
    return db.session.scalar(select(Qualification).where(
        Qualification.id_number == qual.id_number, Qualification.level == "执业医师",
        Qualification.category == qual.category).limit(1))


def active_filings(actor: User) -> list[MultiFiling]:
    return [f for r in registrations_in(actor, CURRENT) for f in r.filings
            if f.status == FilingStatus.ACTIVE]


def refusal(actor: User, process_id: str,
            opened: tuple[OpenApplication, ...] | None = None) -> str | None:
    """Why ``actor`` may not apply for ``process_id`` now (None: they may); ``opened``: every
    open application of the person, when the caller read them in this transaction already."""
    if actor.qualification is None:
        return _("未查询到您的医师资格信息")
    bt = types.get(process_id)
    if bt is None or bt.refusal is None:
        return _("不支持的业务类型")
    # the open applications of this type and of the types that may not be open with it, in
    # one statement: the type's own check and the conflict check both answer from it
    others = types.conflicts_of(process_id)
    asked = others | {process_id}
    found = (tuple(o for o in opened if o[1] in asked) if opened is not None
             else open_applications(actor, asked))
    with _knowing(actor, asked, found):
        why = bt.refusal(actor)
    if why:
        return why
    other = next((o for o in found if o[1] in others), None)  # the oldest, as open_conflict
    return conflicts.busy_message(other[1], other[0], process_id) if other is not None else None


def business_types() -> dict[str, str]:
    """The physician's business types (process id -> name), in the order of 业务申请."""
    names = type_names()
    # a type created in the browser shows once its process is published (issue 12 §3)
    return {bt.process_id: names.get(bt.process_id, bt.process_id) for bt in types.of_kind("application")
            if not bt.configured or bt.process_id in names}


def maintenance_types() -> dict[str, str]:
    names = type_names()
    return {bt.process_id: names.get(bt.process_id, bt.process_id) for bt in types.of_kind("maintenance")}


def is_business_type(process_id: str) -> bool:
    bt = types.get(process_id)
    return bt is not None and bt.kind == "application"


def available_types(actor: User) -> list[tuple[str, str, str | None]]:
    """(process id, name, reason it is not available or None) for the 业务申请 page (the
    open applications of every type read once for all of them)."""
    listed = business_types()
    if actor.qualification is None:
        return [(pid, name, refusal(actor, pid)) for pid, name in listed.items()]
    asked = frozenset(bt.process_id for bt in types.all_types())
    with _knowing(actor, asked, open_applications(actor, asked)):
        return [(pid, name, refusal(actor, pid)) for pid, name in listed.items()]


def type_names() -> Mapping[str, str]:
    """Process id -> the name of its newest published definition (one query per request; the
    same mapping for the whole request, never copied: read it, do not change it)."""
    from flask import g
    from flask import has_app_context

    from app.services.backoffice import definitions

    if has_app_context() and "medreg_type_names" in g:
        return g.medreg_type_names  # type: ignore[no-any-return]
    names = {v.process_id: v.definition.name for v in definitions.published_versions()}
    if has_app_context():
        g.medreg_type_names = names
    return names


def type_name(process_id: str) -> str:
    """The Chinese name of a business type, maintenance process or case."""
    return type_names().get(process_id, process_id)
