"""Scheduled rules run by the sweeper: a multi-institution filing ends on its end date."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.extensions import db
from app.models import MultiFiling
from app.services import audit
from app.services.clock import today_cst


def expire_filings(today: date | None = None) -> int:
    """Close every ACTIVE filing whose end date has passed; returns how many."""
    day = today or today_cst()
    rows = list(db.session.scalars(select(MultiFiling).where(
        MultiFiling.status == "ACTIVE", MultiFiling.valid_to < day).limit(500)))
    for filing in rows:
        filing.status = "EXPIRED"
        audit.record(None, "filing.expired", "registration", filing.registration_id,
                     {"filing": filing.id, "valid_to": filing.valid_to.isoformat()})
    db.session.commit()
    return len(rows)
