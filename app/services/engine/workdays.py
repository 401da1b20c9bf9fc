"""Working days with Chinese public holidays and make-up working days.

The calendar is data: a table of days that differ from the Monday-to-Friday rule,
seeded from ``chinesecalendar`` for the years it knows and extended by
administrators. A year without data counts Monday to Friday.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import timedelta

from app.workflow import budget


@dataclass(frozen=True)
class WorkCalendar:
    """Days that differ from Monday-to-Friday, and the years that have official data."""

    overrides: Mapping[date, bool] = field(default_factory=dict)
    known_years: frozenset[int] = frozenset()

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        return day.weekday() < 5

    def add_working_days(self, start: date, n: int) -> date:
        """The date of the ``n``-th working day after ``start`` (``start`` not counted)."""
        day, left = start, n
        while left > 0:
            budget.check()  # diagram text may call this: stop at the step's deadline
            day += timedelta(days=1)
            if self.is_workday(day):
                left -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end``."""
        count, day = 0, start
        while day < end:
            budget.check()
            day += timedelta(days=1)
            if self.is_workday(day):
                count += 1
        return count

    def missing_years(self, years: Iterable[int]) -> list[int]:
        """The years among ``years`` that have no official calendar."""
        return sorted(y for y in set(years) if y not in self.known_years)


def chinesecalendar_days() -> tuple[dict[date, bool], set[int]]:
    """Deviations from Monday-to-Friday known to ``chinesecalendar``, and its years."""
    from chinese_calendar import constants

    years = {d.year for d in constants.holidays} | {d.year for d in constants.workdays}
    overrides: dict[date, bool] = {}
    for day in constants.holidays:
        if day.weekday() < 5:
            overrides[day] = False
    for day in constants.workdays:
        if day.weekday() >= 5:
            overrides[day] = True
    return overrides, years


def chinesecalendar_calendar() -> WorkCalendar:
    """A calendar built straight from the package (tests and first seed)."""
    overrides, years = chinesecalendar_days()
    return WorkCalendar(overrides, frozenset(years))
