"""The audit log: an HMAC-keyed hash chain, verified on its own and against anchors.

Each event's ``hash`` is HMAC-SHA256, under ``MEDREG_AUDIT_KEY``, of the previous hash and the
event, so a row rewritten by someone without the key no longer verifies, even with the rest of
the chain recomputed. Deleting the newest events leaves a shorter chain that still verifies; an
anchor (the head written outside the database, ``flask audit anchor``) catches that.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import typing as t
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import func
from sqlalchemy import select

from app.config import DEV_AUDIT_KEY  # development and tests; production must set its own
from app.extensions import db
from app.models import AuditEvent
from app.models import User
from app.models.base import utcnow
from app.services.platform.database import advisory_lock

GENESIS = "0" * 64
_AUDIT_LOCK = 7_001


def chain_key() -> bytes:
    """The HMAC key: ``MEDREG_AUDIT_KEY`` from the configuration, else :data:`DEV_AUDIT_KEY`."""
    return str(current_app.config.get("MEDREG_AUDIT_KEY") or DEV_AUDIT_KEY).encode("utf-8")


def _digest(key: bytes, prev: str, at: datetime, actor: str, action: str, otype: str, oid: str,
            detail: dict[str, Any]) -> str:
    body = json.dumps([prev, at.isoformat(), actor, action, otype, oid, detail],
                      ensure_ascii=False, sort_keys=True, default=str)
    return hmac.new(key, body.encode("utf-8"), hashlib.sha256).hexdigest()


def record(actor: User | None, action: str, object_type: str, object_id: Any,
           detail: dict[str, Any] | None = None) -> AuditEvent:
    """Append an event (flushes; the caller's transaction commits it)."""
    key = chain_key()
    # Serialise appenders, then read the chain's head. Two statements on purpose: in READ
    # COMMITTED a statement reads the snapshot taken when it started, so a head read in the
    # same statement as the lock could miss an event committed while it waited (a fork).
    advisory_lock(_AUDIT_LOCK)
    prev = db.session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    at = utcnow().replace(microsecond=0)
    name = actor.username if actor is not None else "system"
    det = json.loads(json.dumps(detail or {}, ensure_ascii=False, default=str))
    ev = AuditEvent(at=at, actor_id=actor.id if actor else None, actor_name=name, action=action,
                    object_type=object_type, object_id=str(object_id), detail=det,
                    prev_hash=prev or GENESIS)
    ev.hash = _digest(key, ev.prev_hash, at, name, action, object_type, str(object_id), det)
    db.session.add(ev)
    db.session.flush()
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
