"""Scheduled rules run by the sweeper: a multi-institution filing ends on its end date;
a registration in 备案 for two years raises an ex officio cancellation for the commission."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.extensions import db
from app.models import MultiFiling
from app.models import ProcessInstance
from app.models import Registration
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


def two_years_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 2)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 2, day=28)


def raise_long_filed(today: date | None = None) -> int:
    """备案满二年 (2017 办法 Art 19): start a 依职权注销 case for each such registration
    that has no cancellation under way; returns how many were raised."""
    from app.services import processes

    day = today or today_cst()
    busy = select(ProcessInstance.registration_id).where(
        ProcessInstance.completed_at.is_(None), ProcessInstance.registration_id.is_not(None),
        ProcessInstance.process_id.in_(("cancellation", "cancellation_report",
                                        "cancellation_ex_officio")))
    rows = db.session.execute(select(Registration.id, Registration.status_changed_on).where(
        Registration.status == "FILED", Registration.status_changed_on <= two_years_before(day),
        Registration.id.not_in(busy)).limit(100)).all()
    db.session.rollback()
    for reg_id, since in rows:
        reached = min(_two_years_after(since), today_cst())
        processes.start_case(None, "cancellation_ex_officio", {
            "registration_id": reg_id, "reason": "filed_two_years",
            "event_date": reached.isoformat(), "note": "系统提示：备案已满二年，请依职权审查注销"})
    return len(rows)


def _two_years_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 2)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 2, day=28)
