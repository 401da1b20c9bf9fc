"""Configured business types (新建流程): one data-driven module for every type an
administrator created in the browser. Its rows (``configured_type``) name a starter, refusal
rules from :mod:`app.services.applications.refusal_rules` and the service operations the
process may call; nothing else varies, so no code comes from the browser.

:func:`sync` brings the registry in line with the table (once per request; see ``_load``), reading
it only when the stamp read with the request's session moved (database triggers move it on every
change of the table, migration 0035_reference_stamp)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

from app.services.applications import types
from app.services.platform import pagehead

if TYPE_CHECKING:
    from app.models import ConfiguredType

ORDER_BASE = 100  # after the shipped types on 业务申请
_table_seen = False
_signature: tuple[Any, ...] | None = None
# the configured types' stamp (app.services.platform.pagehead) the registry was last synced at
_synced_stamp: tuple[Any, int] | None = None


def business_type(row: ConfiguredType) -> types.BusinessType:
    """The registry entry of a configured type."""
    from app.services.applications import refusal_rules
    from app.services.applications.prepare import prepare_simple
    from app.services.applications.staff_cases import prepare_staff_case

    starter: types.Starter = row.starter if row.starter in ("physician", "institution", "commission") \
        else "physician"  # type: ignore[assignment]
    kind: types.Kind = "application" if starter == "physician" else "case"
    return types.BusinessType(
        row.process_id, kind, (starter,), ORDER_BASE + row.id,
        refusal=refusal_rules.refusal(tuple(row.refusal_rules or ()), row.process_id, row.name),
        prepare=prepare_simple if kind == "application" else prepare_staff_case,
        needs_status=("ACTIVE", "SUSPENDED"), configured=True,
        conditions=tuple(refusal_rules.CATALOGUE[k].label + "。" for k in refusal_rules.CATALOGUE
                         if k in (row.refusal_rules or ())))


def sync() -> None:
    """Register every configured type of the database and drop those no longer there (another
    server process may have created one; a test database may have been emptied)."""
    from flask import g
    from flask import has_app_context

    if not has_app_context() or g.get("medreg_configured_synced"):
        return
    g.medreg_configured_synced = True
    from app.extensions import db

    global _signature, _synced_stamp
    version = None if g.get("medreg_configured_changed") else pagehead.types_stamp()
    # of this database (a test process may serve several, each with its own counter)
    stamp = None if version is None else (db.engine.url, version)
    if stamp is not None and stamp == _synced_stamp:  # read with the session: nothing changed
        return
    rows = _rows()
    if rows is None:
        return
    signature = tuple((r.id, r.process_id, r.name, r.starter, tuple(r.refusal_rules or ()))
                      for r in rows)
    if signature != _signature:
        types.replace_configured({r.process_id: business_type(r) for r in rows})
        _signature = signature
    # only once the registry holds them (another thread that reads this stamp meanwhile reads
    # the rows too; a failed rebuild is tried again): read after the stamp, never older than it
    _synced_stamp = stamp


def refresh() -> None:
    """Sync again now (after a type was created in this request: the stamp read with the
    session is older than the table)."""
    from flask import g

    g.pop("medreg_configured_synced", None)
    g.medreg_configured_changed = True
    sync()


def _rows() -> list[Any] | None:
    from sqlalchemy import inspect
    from sqlalchemy import select

    from app.extensions import db
    from app.models import ConfiguredType

    global _table_seen
    if not _table_seen:
        if not inspect(db.session.connection()).has_table("configured_type"):  # before the migration ran
            return None
        _table_seen = True
    return list(db.session.scalars(select(ConfiguredType).order_by(ConfiguredType.id)))
