"""Working days from the holiday table and the statutory clock."""

from __future__ import annotations

from datetime import date

import chinese_calendar

from app.services.engine import clock
from app.services.engine.workdays import WorkCalendar
from app.services.engine.workdays import chinesecalendar_calendar


def _expected_nth(start: date, n: int) -> date:
    from datetime import timedelta

    d = start
    while n:
        d += timedelta(days=1)
        if chinese_calendar.is_workday(d):
            n -= 1
    return d


def test_spring_festival_and_makeup_days_2026() -> None:
    cal = chinesecalendar_calendar()
    start = date(2026, 2, 9)
    assert cal.add_working_days(start, 20) == _expected_nth(start, 20)
    for d in (date(2026, 2, 16), date(2026, 10, 1), date(2026, 1, 4)):
        assert cal.is_workday(d) == chinese_calendar.is_workday(d)


def test_year_without_data_counts_monday_to_friday() -> None:
    cal = chinesecalendar_calendar()
    assert 2027 in cal.missing_years([2026, 2027])
    # 2026-12-31 is a Thursday; 20 Mon-Fri days later is 2027-01-28
    assert cal.add_working_days(date(2026, 12, 31), 20) == date(2027, 1, 28)


def test_clock_pause_adds_the_days_spent_with_the_physician() -> None:
    cal = WorkCalendar()
    c = clock.start_clock(cal, date(2026, 3, 2))  # a Monday
    assert c["due_on"] == "2026-03-30"
    assert c["remind_at"] == "2026-03-23T00:00:00+08:00"
    assert c["overdue_at"] == "2026-03-31T00:00:00+08:00"
    c = clock.pause_clock(cal, c, date(2026, 3, 4))
    c = clock.resume_clock(cal, c, date(2026, 3, 11))  # five working days later
    assert c["paused_days"] == 5 and c["due_on"] == "2026-04-06"
    assert clock.days_left(cal, c, date(2026, 4, 3)) == 1
    assert clock.days_left(cal, c, date(2026, 4, 8)) == -2
