"""The hash-chained audit log: append and verify."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.models import User
from app.models.base import utcnow
from app.services.database import advisory_lock

GENESIS = "0" * 64
_AUDIT_LOCK = 7_001


def _digest(prev: str, at: datetime, actor: str, action: str, otype: str, oid: str,
            detail: dict[str, Any]) -> str:
    body = json.dumps([prev, at.isoformat(), actor, action, otype, oid, detail],
                      ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def record(actor: User | None, action: str, object_type: str, object_id: Any,
           detail: dict[str, Any] | None = None) -> AuditEvent:
    """Append an event (flushes; the caller's transaction commits it)."""
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
    ev.hash = _digest(ev.prev_hash, at, name, action, object_type, str(object_id), det)
    db.session.add(ev)
    db.session.flush()
    return ev


def verify() -> list[int]:
    """Ids of events whose hash or link does not match (empty when the chain is intact)."""
    bad: list[int] = []
    prev = GENESIS
    for ev in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        expect = _digest(ev.prev_hash, ev.at.replace(microsecond=0), ev.actor_name, ev.action,
                         ev.object_type, ev.object_id, ev.detail)
        if ev.prev_hash != prev or ev.hash != expect:
            bad.append(ev.id)
        prev = ev.hash
    return bad
