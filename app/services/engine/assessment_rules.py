"""定期考核 consequences, run daily by the scheduler's sweep from the results the main
institutions entered (医师法 第四十二条、第十七条第四项; 医师执业注册管理办法 第十八条):

- a 不合格 result with 暂停执业起止 suspends the physician's registrations for that period,
  through the penalty mechanism (a ``Penalty`` of kind SUSPENDED linked to the assessment);
  :func:`app.services.engine.rules.end_suspensions` returns them to 有效 once the period is
  over *and* the 再次考核结果 合格 is on record;
- a 再次考核结果 不合格 raises a 依职权注销 case (reason ``assessment``: the 注销 then bars
  注册 for a year, 医师法 第十六条第四项);
- two consecutive completed cycles without taking part (no result, or 未参加) raise a
  依职权注销 case (reason ``two_cycles``; DOMAIN §3.3 "Missing 2 consecutive cycles → 注销").

The commission decides each case; nothing is cancelled without its decision.
"""

from __future__ import annotations

from datetime import date
from datetime import timedelta

from sqlalchemy import Select
from sqlalchemy import select

from app.extensions import db
from app.models import Assessment
from app.models import Penalty
from app.models import ProcessInstance
from app.models import Registration
from app.models import RegistrationStatus
from app.services.engine.clock import today_cst
from app.services.engine.rules import CYCLE_YEARS
from app.services.engine.rules import assessment_cycle
from app.services.engine.rules import first_cycle
from app.services.platform import audit

FAILED = "不合格"
PASSED = "合格"
TAKEN_PART = (PASSED, FAILED)  # 未参加 or no result: the cycle was missed
HOLDING = (RegistrationStatus.ACTIVE, RegistrationStatus.SUSPENDED)
CANCELLATIONS = ("cancellation", "cancellation_report", "cancellation_ex_officio")
_ONE_DAY = timedelta(days=1)


def suspend_failed(today: date | None = None) -> int:
    """医师法 第四十二条: each 不合格 result whose 暂停执业 has begun suspends the physician's
    有效 registrations from its start date (once per assessment); returns how many
    registrations got a suspension. A period already over with a passed re-assessment is
    recorded as ended and changes no status."""
    day = today or today_cst()
    _follow_corrections()
    done = select(Penalty.assessment_id).where(Penalty.assessment_id.is_not(None))
    holders = select(Registration.qualification_id).where(Registration.status.in_(HOLDING))
    found = list(db.session.scalars(select(Assessment).where(
        Assessment.result == FAILED, Assessment.suspended_from.is_not(None),
        Assessment.suspended_to.is_not(None), Assessment.suspended_from <= day,
        Assessment.id.not_in(done), Assessment.qualification_id.in_(holders)).limit(500)))
    count = 0
    for a in found:
        assert a.suspended_from is not None and a.suspended_to is not None
        over = a.suspended_to < day and a.reassessment_result == PASSED
        for reg in db.session.scalars(select(Registration).where(
                Registration.qualification_id == a.qualification_id,
                Registration.status.in_(HOLDING))):
            if _started_on(reg) > a.suspended_to:
                continue  # granted after that period: not concerned
            penalty = Penalty(
                registration_id=reg.id, kind="SUSPENDED", decided_on=a.suspended_from,
                document_no=f"定期考核（{a.cycle}）"[:60],
                reason=f"{a.cycle}周期定期考核不合格，暂停执业活动（《医师法》第四十二条）",
                ends_on=a.suspended_to, assessment_id=a.id,
                ended_on=a.suspended_to + _ONE_DAY if over else None)
            db.session.add(penalty)
            if not over and reg.status is RegistrationStatus.ACTIVE:
                reg.status = RegistrationStatus.SUSPENDED
                reg.status_changed_on = reg.status_decided_on = a.suspended_from
                count += 1
            db.session.flush()
            audit.record(None, "registration.assessment_suspension", "registration", reg.id,
                         {"assessment": a.id, "cycle": a.cycle, "penalty": penalty.id,
                          "from": a.suspended_from.isoformat(),
                          "to": a.suspended_to.isoformat(), "ended": over})
    db.session.commit()
    return count


def _follow_corrections() -> None:
    """A running suspension follows a corrected 暂停执业 end date of its assessment."""
    for penalty, a in db.session.execute(select(Penalty, Assessment).join(
            Assessment, Assessment.id == Penalty.assessment_id).where(
            Penalty.ended_on.is_(None), Assessment.suspended_to.is_not(None),
            Assessment.suspended_to != Penalty.ends_on)).all():
        audit.record(None, "registration.assessment_suspension_corrected", "registration",
                     penalty.registration_id,
                     {"penalty": penalty.id, "from": str(penalty.ends_on),
                      "to": str(a.suspended_to)})
        penalty.ends_on = a.suspended_to


def _busy() -> Select[tuple[int | None]]:
    return select(ProcessInstance.registration_id).where(
        ProcessInstance.completed_at.is_(None), ProcessInstance.registration_id.is_not(None),
        ProcessInstance.process_id.in_(CANCELLATIONS))


def _raised_before(reason: str) -> dict[int, list[str]]:
    """The notes of the 依职权注销 cases (decided or not) raised with this reason, by
    registration: the rules raise each case once."""
    out: dict[int, list[str]] = {}
    for reg_id, data in db.session.execute(select(
            ProcessInstance.registration_id, ProcessInstance.application).where(
            ProcessInstance.process_id == "cancellation_ex_officio",
            ProcessInstance.registration_id.is_not(None))):
        if reg_id is not None and data.get("reason") == reason:
            out.setdefault(reg_id, []).append(str(data.get("note") or ""))
    return out


def _seen(raised: dict[int, list[str]], registration_id: int, marker: str) -> bool:
    return any(marker in note for note in raised.get(registration_id, []))


MAX_CASES = 100  # per run (the sweep runs hourly); the rest follow on the next runs


def _raise(cases: list[tuple[int, str, date, str]]) -> int:
    """Start one 依职权注销 case per (registration, reason, event date, note), each in its
    own transaction."""
    cases = cases[:MAX_CASES]
    db.session.rollback()
    if not cases:
        return 0
    from app.services.engine import processes  # only when there is a case to start
    for reg_id, reason, event, note in cases:
        processes.start_case(None, "cancellation_ex_officio", {
            "registration_id": reg_id, "reason": reason, "event_date": event.isoformat(),
            "note": note})
    return len(cases)


def raise_failed_reassessments(today: date | None = None) -> int:
    """医师法 第十七条第四项: 考核不合格，暂停执业活动期满，再次考核仍不合格 — raise a 依职权注销
    case (reason ``assessment``) for each registration held, once per registration and
    cycle; returns how many were raised."""
    day = today or today_cst()
    rows = db.session.execute(select(Assessment, Registration).join(
        Registration, Registration.qualification_id == Assessment.qualification_id).where(
        Assessment.reassessment_result == FAILED, Registration.status.in_(HOLDING),
        Registration.id.not_in(_busy())).order_by(Registration.id)).all()
    raised = _raised_before("assessment")
    cases = []
    for a, reg in rows:
        marker = f"{a.cycle}周期"
        if _seen(raised, reg.id, marker) or _started_on(reg) > _suspension_end(a):
            continue  # raised already, or a registration granted after that assessment
        event = min(a.suspended_to + _ONE_DAY, day) if a.suspended_to else day
        cases.append((reg.id, "assessment", event,
                      f"系统提示：{marker}定期考核不合格，暂停执业活动期满再次考核仍不合格"
                      f"（《医师法》第十七条第四项），请依职权审查注销"))
    return _raise(cases)


def _started_on(reg: Registration) -> date:
    return reg.approved_on or reg.issued_on or reg.created_at.date()


def _suspension_end(a: Assessment) -> date:
    """The last day of the assessment's 暂停执业 (else the day it was entered)."""
    return a.suspended_to or a.entered_at.date()


def raise_missed_cycles(today: date | None = None) -> int:
    """医师执业注册管理办法 第十八条 (连续两个考核周期未参加医师定期考核; DOMAIN §3.3): for each
    registration held since before the earlier of the last two completed three-year cycles
    whose physician took part in neither (no result, or 未参加), raise a 依职权注销 case
    (reason ``two_cycles``), once per registration and pair of cycles. Cycles before the
    first three-year cycle (MEDREG_ASSESSMENT_FIRST_CYCLE), or before MEDREG_MISSED_CYCLES_FROM
    when the results of earlier cycles were never entered, are not counted."""
    from flask import current_app

    day = today or today_cst()
    current, _last = assessment_cycle(day)
    earlier = current - 2 * CYCLE_YEARS
    counted_from = current_app.config.get("MEDREG_MISSED_CYCLES_FROM") or first_cycle()
    if earlier < max(int(counted_from), first_cycle()):
        return 0
    cycles = [f"{y}-{y + CYCLE_YEARS - 1}" for y in (earlier, earlier + CYCLE_YEARS)]
    took_part = select(Assessment.qualification_id).where(
        Assessment.cycle.in_(cycles), Assessment.result.in_(TAKEN_PART))
    regs = list(db.session.scalars(select(Registration).where(
        Registration.status.in_(HOLDING), Registration.qualification_id.not_in(took_part),
        Registration.id.not_in(_busy())).order_by(Registration.id)))
    marker = f"{cycles[0]}、{cycles[1]}两个考核周期"
    raised = _raised_before("two_cycles")
    cases = [(reg.id, "two_cycles", date(current, 1, 1),
              f"系统提示：{marker}均未参加医师定期考核（《医师执业注册管理办法》第十八条），"
              f"请依职权审查注销")
             for reg in regs if _started_on(reg) <= date(earlier, 1, 1)
             and not _seen(raised, reg.id, marker)]
    return _raise(cases)
