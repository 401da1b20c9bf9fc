"""The statutory clock: 20 working days, reminder at day 15, paused while returned.

A clock is a plain dict kept in the workflow's data, so timers in the diagram can
read ``clock["remind_at"]`` and ``clock["overdue_at"]`` (ISO datetimes, Beijing time).
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.services.engine.workdays import WorkCalendar
from app.workflow.budget import LimitExceeded

CST = ZoneInfo("Asia/Shanghai")
LIMIT_DAYS = 20
REMIND_DAY = 15
CORRECTION_DAYS = 5  # 行政许可法 第三十二条: 补正 notice within five (working) days of receipt
EXTENSION_DAYS = 10  # 行政许可法 第四十二条: extension with the head's approval


def today_cst() -> date:
    """Today's date in Beijing."""
    return datetime.now(CST).date()


def _start_of(day: date) -> str:
    return datetime.combine(day, time(0), CST).isoformat()


def _with_dates(cal: WorkCalendar, clock: dict[str, Any]) -> dict[str, Any]:
    started = date.fromisoformat(clock["started_on"])
    paused = int(clock.get("paused_days", 0)) + int(clock.get("extended_days", 0))
    due = cal.add_working_days(started, LIMIT_DAYS + paused)
    remind = cal.add_working_days(started, REMIND_DAY + paused)
    return {
        **clock,
        "due_on": due.isoformat(),
        "remind_at": _start_of(remind),
        "overdue_at": _start_of(due + timedelta(days=1)),
    }


def start_clock(cal: WorkCalendar, received: date) -> dict[str, Any]:
    """Start counting on the day the commission received the application."""
    return _with_dates(cal, {"started_on": received.isoformat(), "paused_days": 0,
                             "paused_on": None, "received_on": received.isoformat()})


def pause_clock(cal: WorkCalendar, clock: dict[str, Any], day: date) -> dict[str, Any]:
    """Stop counting: the application goes back to the physician."""
    if clock.get("paused_on"):
        return dict(clock)
    return {**clock, "paused_on": day.isoformat()}


def resume_clock(cal: WorkCalendar, clock: dict[str, Any], day: date) -> dict[str, Any]:
    """Count on; the working days spent with the physician are added to the limit."""
    if not clock.get("paused_on"):
        return dict(clock)
    paused = cal.working_days_between(date.fromisoformat(clock["paused_on"]), day)
    return _with_dates(cal, {**clock, "paused_on": None, "received_on": day.isoformat(),
                             "paused_days": int(clock.get("paused_days", 0)) + paused})


def restart_clock(cal: WorkCalendar, clock: dict[str, Any], accepted: date) -> dict[str, Any]:
    """The twenty working days run from 受理 (行政许可法 第四十二条): the day the commission
    accepted, or the day of receipt when it is deemed accepted. Days before, and days spent
    on 补正, no longer count."""
    return _with_dates(cal, {**clock, "started_on": accepted.isoformat(), "paused_days": 0,
                             "paused_on": None, "accepted_on": accepted.isoformat()})


def recompute(cal: WorkCalendar, clock: dict[str, Any]) -> dict[str, Any]:
    """The same clock with its dates counted again on ``cal`` (a year's calendar changed).

    Pauses are kept as counted when they ended; an open pause keeps its start day."""
    return _with_dates(cal, dict(clock))


def extend_clock(cal: WorkCalendar, clock: dict[str, Any]) -> dict[str, Any]:
    """Add the ten working days of an approved 延期 (once)."""
    if clock.get("extended_days"):
        return dict(clock)
    return _with_dates(cal, {**clock, "extended_days": EXTENSION_DAYS})


def received_on(clock: dict[str, Any]) -> date:
    """The day the commission (last) received the materials."""
    return date.fromisoformat(clock.get("received_on") or clock["started_on"])


def correction_until(cal: WorkCalendar, received: date) -> date:
    """The last day a 补正 notice may be given for materials received on ``received``."""
    return cal.add_working_days(received, CORRECTION_DAYS)


def days_left(cal: WorkCalendar, clock: dict[str, Any] | None, today: date) -> int | None:
    """Working days left until the due date (negative when overdue)."""
    if not clock or not clock.get("due_on"):
        return None
    due = date.fromisoformat(clock["due_on"])
    if today <= due:
        return cal.working_days_between(today, due)
    return -cal.working_days_between(due, today)


MAX_SPAN_DAYS = 3 * 366  # a date diagram text passes lies within three years of today
MAX_CLOCK_DAYS = 3 * 262  # paused or extended working days a clock may carry


def _script_day(value: Any) -> date:
    """A date diagram text passed: ISO text within ``MAX_SPAN_DAYS`` of today."""
    try:
        day = date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise LimitExceeded(f"日期 {str(value)[:20]} 无效") from exc
    if abs((day - today_cst()).days) > MAX_SPAN_DAYS:
        raise LimitExceeded(f"日期 {day.isoformat()} 超出今天前后三年的范围")
    return day


def _script_clock(clock: Any) -> dict[str, Any]:
    """A clock diagram text passed: its dates and day counts within the bounds."""
    if not isinstance(clock, dict):
        raise LimitExceeded("时限不是由 start_clock 得到的")
    for key in ("started_on", "paused_on", "received_on"):
        if clock.get(key):
            _script_day(clock[key])
    for key in ("paused_days", "extended_days"):
        try:
            days = int(clock.get(key) or 0)
        except (TypeError, ValueError) as exc:
            raise LimitExceeded(f"{key} 无效") from exc
        if not 0 <= days <= MAX_CLOCK_DAYS:
            raise LimitExceeded(f"{key} 超出范围")
    return clock


def script_functions(cal: WorkCalendar) -> dict[str, Any]:
    """The clock functions diagrams may call, bound to a calendar. Their dates lie within
    three years of today and the calendar checks the step's deadline as it counts
    (a condition over 5,000 years stops with "流程脚本运行超时/结果过大")."""
    return {
        "today": lambda: today_cst().isoformat(),
        "start_clock": lambda d: start_clock(cal, _script_day(d)),
        "pause_clock": lambda c, d: pause_clock(cal, _script_clock(c), _script_day(d)),
        "resume_clock": lambda c, d: resume_clock(cal, _script_clock(c), _script_day(d)),
    }
