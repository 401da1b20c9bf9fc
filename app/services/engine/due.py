"""Which instances have a timer due: the sweep's query, without the engine.

The scheduler process asks this on every sweep and imports the engine
(:mod:`app.services.engine.processes`, SpiffWorkflow) only when an instance is due
(docs/performance.md, Memory).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.extensions import db
from app.models import ProcessInstance


def due_instance_ids(now: datetime, limit: int = 100) -> list[int]:
    """Instances whose earliest timer is due (``fire_timers`` skips rows another worker holds)."""
    q = (select(ProcessInstance.id).where(ProcessInstance.next_timer_at <= now,
                                          ProcessInstance.suspended.is_(False))
         .order_by(ProcessInstance.next_timer_at).limit(limit))
    return list(db.session.scalars(q))
