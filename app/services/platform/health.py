"""/healthz's figures: the database answers, the timer sweeps are recent, the outbox drains.

At most two queries, no personal data: an age, a count and an age. ``record_sweep`` is the
scheduler's heartbeat (one UPDATE, or an INSERT the first time).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import OutboxMessage
from app.models import OutboxStatus
from app.models import SchedulerBeat
from app.models.base import utcnow

log = logging.getLogger("medreg.health")
BEAT_ID = 1


@dataclass(frozen=True)
class Health:
    """What /healthz reports; ``problems`` names each failed check (empty: ok)."""

    database: bool
    sweep_age_seconds: float | None  # None: no sweep ever finished (or no database)
    outbox_pending: int | None
    outbox_oldest_age_seconds: float | None
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def details(self) -> dict[str, Any]:
        """The figures shown to a caller with the token or an administrator's session."""
        return {"database": "ok" if self.database else "unavailable",
                "sweep_age_seconds": _round(self.sweep_age_seconds),
                "outbox_pending": self.outbox_pending,
                "outbox_oldest_age_seconds": _round(self.outbox_oldest_age_seconds),
                "problems": list(self.problems)}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _age(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else max(0.0, (now - then).total_seconds())


def check(config: Mapping[str, Any]) -> Health:
    """Read the three figures and judge them against the configured thresholds."""
    now = utcnow()
    try:
        swept_at = db.session.scalar(select(SchedulerBeat.swept_at).where(SchedulerBeat.id == BEAT_ID))
        pending, oldest = db.session.execute(
            select(func.count(), func.min(OutboxMessage.created_at))
            .where(OutboxMessage.status == OutboxStatus.PENDING)).one()
    except Exception:  # noqa: BLE001 - any database failure is "not ok", never a stack trace
        log.warning("healthz: database check failed", exc_info=True)
        db.session.rollback()
        return Health(False, None, None, None, ("database",))
    finally:
        db.session.rollback()  # read-only: end the transaction, hold no snapshot
    sweep_age = _age(now, swept_at)
    oldest_age = _age(now, oldest if isinstance(oldest, datetime) else None)
    problems: list[str] = []
    sweep_max = float(config.get("MEDREG_HEALTH_SWEEP_MAX_SECONDS") or 0)
    if sweep_max > 0 and (sweep_age is None or sweep_age > sweep_max):
        problems.append("scheduler")
    outbox_max = float(config.get("MEDREG_HEALTH_OUTBOX_MAX_SECONDS") or 0)
    if outbox_max > 0 and oldest_age is not None and oldest_age > outbox_max:
        problems.append("outbox")
    return Health(True, sweep_age, int(pending), oldest_age, tuple(problems))


def record_sweep(at: datetime | None = None) -> None:
    """The scheduler's heartbeat after a sweep (commits; several schedulers share the row)."""
    when = at or utcnow()
    done = db.session.execute(update(SchedulerBeat).where(SchedulerBeat.id == BEAT_ID)
                              .values(swept_at=when))
    if not getattr(done, "rowcount", 0):
        db.session.add(SchedulerBeat(id=BEAT_ID, swept_at=when))
    try:
        db.session.commit()
    except IntegrityError:  # another scheduler wrote the first beat at the same moment
        db.session.rollback()
