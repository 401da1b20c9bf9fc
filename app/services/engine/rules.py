"""Scheduled rules run by the sweeper: a multi-institution filing ends on its end date;
a 暂停执业 ends the day after its end date (the registration is 有效 again; after a failed
定期考核 only once the re-assessment is passed, see assessment_rules);
a registration in 备案 for two years raises an ex officio cancellation for the commission;
physicians are reminded when their periodic assessment (定期考核) is due."""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_
from sqlalchemy import select

from app.extensions import db
from app.models import FilingStatus
from app.models import MultiFiling
from app.models import ProcessInstance
from app.models import Registration
from app.models import RegistrationStatus
from app.services.engine.clock import today_cst
from app.services.platform import audit


def expire_filings(today: date | None = None) -> int:
    """Close every ACTIVE filing whose end date has passed; returns how many."""
    day = today or today_cst()
    rows = list(db.session.scalars(select(MultiFiling).where(
        MultiFiling.status == FilingStatus.ACTIVE, MultiFiling.valid_to < day).limit(500)))
    for filing in rows:
        filing.status = FilingStatus.EXPIRED
        audit.record(None, "filing.expired", "registration", filing.registration_id,
                     {"filing": filing.id, "valid_to": filing.valid_to.isoformat()})
    db.session.commit()
    return len(rows)


def end_suspensions(today: date | None = None) -> int:
    """A 暂停执业 recorded by the commission is over after its end date: the registration
    returns to ACTIVE from the next day. One that follows a failed 定期考核 (医师法 第四十二条)
    is over only once the period has ended and the 再次考核结果 合格 is on record (or the
    result was corrected to other than 不合格); until then the registration stays 暂停执业.
    A registration under another running suspension stays 暂停执业. Returns how many
    suspensions ended."""
    from datetime import timedelta

    from sqlalchemy import and_

    from app.models import Assessment
    from app.models import Penalty
    day = today or today_cst()
    from_assessment = Penalty.assessment_id.is_not(None)
    rows = list(db.session.execute(select(Penalty, Registration).join(
        Registration, Registration.id == Penalty.registration_id).outerjoin(
        Assessment, Assessment.id == Penalty.assessment_id).where(
        Penalty.kind == "SUSPENDED", Penalty.ended_on.is_(None),
        or_(and_(Penalty.ends_on < day,
                 or_(~from_assessment, Assessment.reassessment_result == PASSED)),
            and_(from_assessment, Assessment.result != "不合格")))
        .limit(500)).all())
    for penalty, reg in rows:
        assert penalty.ends_on is not None
        penalty.ended_on = day if penalty.assessment_id else penalty.ends_on + timedelta(days=1)
        running = [p for p in reg.penalties if p.kind == "SUSPENDED" and p.ended_on is None]
        if reg.status == "SUSPENDED" and not running:  # not revoked or cancelled meanwhile
            reg.status = RegistrationStatus.ACTIVE
            reg.status_changed_on = penalty.ended_on
        audit.record(None, "registration.suspension_ended", "registration", reg.id,
                     {"penalty": penalty.id, "ends_on": penalty.ends_on.isoformat(),
                      "assessment": penalty.assessment_id})
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
    day = today or today_cst()
    busy = select(ProcessInstance.registration_id).where(
        ProcessInstance.completed_at.is_(None), ProcessInstance.registration_id.is_not(None),
        ProcessInstance.process_id.in_(("cancellation", "cancellation_report",
                                        "cancellation_ex_officio")))
    rows = db.session.execute(select(Registration.id, Registration.status_changed_on).where(
        Registration.status == RegistrationStatus.FILED, Registration.status_changed_on <= two_years_before(day),
        Registration.id.not_in(busy)).limit(100)).all()
    db.session.rollback()
    if not rows:
        return 0
    from app.services.engine import processes  # only when there is a case to start
    for reg_id, since in rows:
        reached = min(_two_years_after(since), today_cst())
        processes.start(None, "cancellation_ex_officio", {
            "registration_id": reg_id, "reason": "filed_two_years",
            "event_date": reached.isoformat(), "note": "系统提示：备案已满二年，请依职权审查注销"})
    return len(rows)


def _two_years_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 2)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 2, day=28)


CYCLE_YEARS = 3  # 医师法 Art 42: assessment every three years
# DOMAIN fixes no anchor year (the NHC's new assessment rule was not retrieved: "keep the
# assessment rules configurable"). Default: the law took effect in 2022, so the national
# cycles are 2022–2024, 2025–2027, …; a province counting otherwise sets
# MEDREG_ASSESSMENT_FIRST_CYCLE.
FIRST_CYCLE = 2022
REMIND_DAYS = 180
PASSED = "合格"


def first_cycle() -> int:
    """The first year of the first three-year cycle (MEDREG_ASSESSMENT_FIRST_CYCLE)."""
    from flask import current_app

    return int(current_app.config.get("MEDREG_ASSESSMENT_FIRST_CYCLE", FIRST_CYCLE))


def assessment_cycle(day: date, first: int | None = None) -> tuple[int, int]:
    """The three-year assessment cycle (first year, last year) that ``day`` falls in."""
    anchor = first_cycle() if first is None else first
    start = anchor + (day.year - anchor) // CYCLE_YEARS * CYCLE_YEARS
    return start, start + CYCLE_YEARS - 1


def remind_assessments(today: date | None = None) -> int:
    """Remind each physician with an ACTIVE registration whose assessment is due — no 合格
    result (first or re-assessment) in the current cycle — once per cycle, when fewer than
    180 days of the cycle are left (医师法 第四十二条)."""
    from app.models import Assessment
    from app.models import User
    from app.services.platform import outbox
    day = today or today_cst()
    first, last = assessment_cycle(day)
    if (date(last, 12, 31) - day).days >= REMIND_DAYS:
        return 0
    cycle = f"{first}-{last}"
    assessed = select(Assessment.qualification_id).where(
        Assessment.cycle == cycle,
        or_(Assessment.result == PASSED, Assessment.reassessment_result == PASSED))
    rows = db.session.execute(
        select(User, Registration).join(
            Registration, Registration.qualification_id == User.qualification_id)
        .where(Registration.status.in_((RegistrationStatus.ACTIVE, RegistrationStatus.PENDING_CHANGE)),
               User.activated.is_(True),
               User.qualification_id.not_in(assessed))).all()
    sent = 0
    for user, _reg in rows:
        msg = outbox.enqueue(
            "inbox", user.username, "定期考核提醒",
            f"您本周期（{cycle}年）的医师定期考核尚未完成，请于{last}年12月31日前参加考核。",
            user_id=user.id, dedupe_key=f"assessment:{user.qualification_id}:{cycle}")
        sent += msg is not None
    db.session.commit()
    return sent
