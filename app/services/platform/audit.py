"""The audit log: an HMAC-keyed hash chain, verified on its own and against anchors.

Each event's ``hash`` is HMAC-SHA256, under ``MEDREG_AUDIT_KEY``, of the previous hash and the
event, so a row rewritten by someone without the key no longer verifies, even with the rest of
the chain recomputed. Deleting the newest events leaves a shorter chain that still verifies until
the next event is written (it links to the deleted head kept in ``audit_head``); an anchor (the
head written outside the database, ``flask audit anchor``) catches it at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import typing as t
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from flask import current_app
from sqlalchemy import Insert
from sqlalchemy import Select
from sqlalchemy import Table
from sqlalchemy import Text
from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import make_transient_to_detached

from app.config import DEV_AUDIT_KEY  # development and tests; production must set its own
from app.extensions import db
from app.models import AuditEvent
from app.models import AuditHead
from app.models import User
from app.models.base import utcnow
from app.services.platform import pending as pending_changes
from app.services.platform.database import is_postgres

GENESIS = "0" * 64
_HEAD = 1  # the one row of audit_head
_HEAD_TABLE = t.cast(Table, AuditHead.__table__)  # written with Core statements: one row each,
_EVENT_TABLE = t.cast(Table, AuditEvent.__table__)  # the ORM's per-statement bookkeeping is most of their cost
_LOCK = update(_HEAD_TABLE).where(_HEAD_TABLE.c.id == _HEAD).values(hash=_HEAD_TABLE.c.hash) \
    .returning(_HEAD_TABLE.c.hash)  # the head's lock-and-read
_MOVE = update(_HEAD_TABLE).where(_HEAD_TABLE.c.id == _HEAD) \
    .values(hash=bindparam("head_hash", type_=_HEAD_TABLE.c.hash.type))


def chain_key() -> bytes:
    """The HMAC key: ``MEDREG_AUDIT_KEY`` from the configuration, else :data:`DEV_AUDIT_KEY`."""
    return str(current_app.config.get("MEDREG_AUDIT_KEY") or DEV_AUDIT_KEY).encode("utf-8")


def _digest(key: bytes, prev: str, at: datetime, actor: str, action: str, otype: str, oid: str,
            detail: dict[str, Any]) -> str:
    body = json.dumps([prev, at.isoformat(), actor, action, otype, oid, detail],
                      ensure_ascii=False, sort_keys=True, default=str)
    return hmac.new(key, body.encode("utf-8"), hashlib.sha256).hexdigest()


def _lock_head(pending: tuple[type, ...] = ()) -> str:
    """Lock the chain's head row and return its hash, in one statement.

    An UPDATE waits for the row lock and then reads the newest committed version of the row
    (PostgreSQL re-checks it under READ COMMITTED), so two appenders can never see the same head.
    A SELECT in the statement that takes a lock would read the snapshot taken before the wait and
    fork the chain. The row is created from the newest event the first time (a fresh database).

    On PostgreSQL the session's pending changes to rows of the ``pending`` classes travel in the
    same statement, as writable CTEs (:mod:`app.services.platform.pending`); on SQLite they are
    written just before it, as Core statements.
    """
    lock = _LOCK
    batch = pending_changes.take(pending) if pending else None
    if batch is None or not is_postgres():
        if batch is None:
            if db.session.autoflush:  # the session's own changes first, as an ORM statement's autoflush
                db.session.flush()
        else:
            batch.write(db.session.connection())  # SQLite: no writable CTEs, no round trips to save
        head = t.cast(str | None, db.session.connection().execute(lock).scalar())  # Core: no ORM bookkeeping
    else:
        # on the session's connection: no autoflush, the pending changes are in this statement
        row = db.session.connection().execute(_with_head(batch, batch.shape), batch.params).one()
        batch.applied(row[:-1])
        head = row[-1]
    if head is not None:
        return head
    newest = select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1).scalar_subquery()
    dml = postgresql.insert if is_postgres() else sqlite.insert
    genesis = literal(GENESIS, AuditHead.__table__.c.hash.type)  # bound as the column stores it
    db.session.execute(dml(AuditHead).from_select(
        ["id", "hash"], select(literal(_HEAD), func.coalesce(newest, genesis))).on_conflict_do_nothing())
    head = t.cast(str | None, db.session.connection().execute(lock).scalar())
    assert head is not None  # just created, by this transaction or a concurrent one
    return head


_BATCHES: dict[tuple[Any, ...], Select[Any]] = {}


def _with_head(batch: pending_changes.Batch, shape: tuple[Any, ...]) -> Select[Any]:
    """The batch's writes (CTEs) and then the head's lock-and-read, in one statement; built once
    per shape of batch (an engine step has a few)."""
    stmt = _BATCHES.get(shape)
    if stmt is None:
        # the head last: the rows are written before the head is locked, as before
        stmt = select(*batch.columns(), select(_LOCK.cte("head").c.hash).scalar_subquery())
        if len(_BATCHES) < 256:
            _BATCHES[shape] = stmt
    return stmt


def _kept(detail: dict[str, Any] | None) -> dict[str, Any]:
    """The detail without empty values (the trail page shows none of them)."""
    return {k: v for k, v in (detail or {}).items() if v is not None and v != ""}


def _stored(detail: dict[str, Any]) -> Any:
    """The detail as stored: on SQLite compact JSON text (UTF-8, no spaces; the default JSON
    type writes ``\\uXXXX`` escapes and spaces), bound as text (:func:`_event_insert`);
    PostgreSQL's JSONB is binary already. The hash covers the canonical form
    (:func:`_digest`), not these bytes."""
    if is_postgres():
        return detail
    return json.dumps(detail, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


_EVENT_COLUMNS = ("at", "actor_id", "actor_name", "action", "object_type", "object_id", "prev_hash", "hash")


@lru_cache(maxsize=2)
def _event_insert(postgres: bool) -> Insert:
    """The event's INSERT (parameters ``ev_<column>``), returning its id; on PostgreSQL with the
    head's move (parameter ``head_hash``) as a CTE. Built once."""
    cols: dict[str, Any] = {c: bindparam(f"ev_{c}", type_=_EVENT_TABLE.c[c].type) for c in _EVENT_COLUMNS}
    cols["detail"] = bindparam("ev_detail", type_=_EVENT_TABLE.c.detail.type if postgres else Text())
    stmt = insert(_EVENT_TABLE).values(cols).returning(_EVENT_TABLE.c.id)
    return stmt.add_cte(_MOVE.cte("head")) if postgres else stmt


def record(actor: User | None, action: str, object_type: str, object_id: Any,
           detail: dict[str, Any] | None = None, *, pending: tuple[type, ...] = ()) -> AuditEvent:
    """Append an event (the caller's transaction commits it).

    Two statements: the head's lock-and-read, then the event's INSERT with the head's new hash
    (on PostgreSQL one statement, the head's UPDATE in a CTE; SQLite has no writable CTEs and
    no round trips to save). The head stays locked until the caller commits. ``pending``:
    classes whose rows' pending changes may be written by the head's statement (PostgreSQL;
    an engine step's read model), instead of by a flush of their own first.
    """
    key = chain_key()
    prev = _lock_head(pending)
    at = utcnow().replace(microsecond=0)
    name = actor.username if actor is not None else "system"
    det = json.loads(json.dumps(_kept(detail), ensure_ascii=False, default=str))
    oid = str(object_id)
    digest = _digest(key, prev, at, name, action, object_type, oid, det)
    row = {"at": at, "actor_id": actor.id if actor else None, "actor_name": name, "action": action,
           "object_type": object_type, "object_id": oid, "prev_hash": prev, "hash": digest}
    postgres = is_postgres()
    params = {f"ev_{k}": v for k, v in row.items()}
    conn = db.session.connection()
    new_id = conn.execute(_event_insert(postgres), {**params, "ev_detail": _stored(det),
                                                     "head_hash": digest}).scalar_one()
    if not postgres:
        conn.execute(_MOVE, {"head_hash": digest})
    # the row as the session would hold it after an ORM insert (persistent, nothing to write)
    ev = AuditEvent(id=new_id, detail=det, **row)
    make_transient_to_detached(ev)
    db.session.add(ev)
    return ev


def verify() -> list[int]:
    """Ids of events whose hash or link does not match (empty when the chain is intact)."""
    key = chain_key()
    bad: list[int] = []
    prev = GENESIS
    for ev in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        expect = _digest(key, ev.prev_hash, ev.at.replace(microsecond=0), ev.actor_name, ev.action,
                         ev.object_type, ev.object_id, ev.detail)
        if ev.prev_hash != prev or ev.hash != expect:
            bad.append(ev.id)
        prev = ev.hash
    return bad


# ---- anchors ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    """The chain's head at one moment: last event id, its hash, how many events, when."""

    event_id: int
    hash: str
    count: int
    at: str

    def to_json(self) -> str:
        return json.dumps({"event_id": self.event_id, "hash": self.hash, "count": self.count,
                           "at": self.at}, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> Anchor:
        """Parse one line written by :meth:`to_json`; :raise ValueError: when it is not one."""
        try:
            raw = json.loads(line)
            anchor = cls(event_id=int(raw["event_id"]), hash=str(raw["hash"]),
                         count=int(raw["count"]), at=str(raw["at"]))
        except (TypeError, KeyError, json.JSONDecodeError) as exc:
            raise ValueError(str(exc)) from exc
        if anchor.event_id < 0 or anchor.count < 0 or len(anchor.hash) != 64:
            raise ValueError("out of range")
        return anchor


ProblemKind = t.Literal["truncated", "missing", "rewritten", "count"]


@dataclass(frozen=True)
class AnchorProblem:
    """Why the log disagrees with an anchor; ``found`` is the newest id (truncated) or the count."""

    anchor: Anchor
    kind: ProblemKind
    found: int = 0


def anchor() -> Anchor:
    """The current head (``event_id`` 0 and the genesis hash while the log is empty)."""
    # One statement, so the head and the count come from the same snapshot.
    last, count = db.session.execute(select(func.max(AuditEvent.id), func.count(AuditEvent.id))).one()
    head = db.session.scalar(select(AuditEvent.hash).where(AuditEvent.id == last)) if last else None
    return Anchor(event_id=last or 0, hash=head or GENESIS, count=count,
                  at=utcnow().replace(microsecond=0).isoformat())


def check_anchor(a: Anchor) -> AnchorProblem | None:
    """Compare the log with one anchor: the event still exists, carries that hash, and as many
    events lead up to it as when the anchor was taken."""
    newest = db.session.scalar(select(func.max(AuditEvent.id))) or 0
    if newest < a.event_id:
        return AnchorProblem(a, "truncated", newest)
    if a.event_id:
        stored = db.session.scalar(select(AuditEvent.hash).where(AuditEvent.id == a.event_id))
        if stored is None:
            return AnchorProblem(a, "missing")
        if stored != a.hash:
            return AnchorProblem(a, "rewritten")
    count = db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.id <= a.event_id)) or 0
    if count != a.count:
        return AnchorProblem(a, "count", count)
    return None
