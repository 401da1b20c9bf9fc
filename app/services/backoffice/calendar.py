"""The working-day calendar kept in the database, and its administration."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import CalendarDay
from app.models import CalendarYear
from app.models import Role
from app.models import User
from app.services.engine.clock import today_cst
from app.services.engine.workdays import WorkCalendar
from app.services.engine.workdays import chinesecalendar_days
from app.services.errors import Forbidden
from app.services.errors import InvalidInput
from app.services.platform import audit

_CACHE_SECONDS = 60.0
_lock = threading.Lock()
_cache: dict[str, tuple[float, WorkCalendar]] = {}


def invalidate() -> None:
    with _lock:
        _cache.clear()


def _load() -> WorkCalendar:
    """The calendar as the database (this transaction) holds it now."""
    overrides = {d.day: d.is_workday for d in db.session.scalars(select(CalendarDay))}
    years = frozenset(db.session.scalars(select(CalendarYear.year)))
    return WorkCalendar(overrides, years)


def current() -> WorkCalendar:
    """The calendar from the database (cached for a minute per process)."""
    key = str(db.engine.url)
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit and now - hit[0] < _CACHE_SECONDS:
            return hit[1]
    cal = _load()
    with _lock:
        _cache[key] = (now, cal)
    return cal


def seed_from_package() -> int:
    """Load every year ``chinesecalendar`` knows that the table lacks (idempotent)."""
    overrides, years = chinesecalendar_days()
    have = set(db.session.scalars(select(CalendarYear.year)))
    added = 0
    for year in sorted(years - have):
        db.session.add(CalendarYear(year=year, source="chinesecalendar"))
        for day, work in overrides.items():
            if day.year == year:
                db.session.add(CalendarDay(day=day, is_workday=work, source="chinesecalendar",
                                           note="调休上班" if work else "法定节假日"))
        added += 1
    db.session.commit()
    invalidate()
    return added


@dataclass(frozen=True)
class YearStatus:
    year: int
    source: str | None
    days_off: int
    makeup_days: int


def year_statuses(actor: User) -> tuple[list[YearStatus], list[int]]:
    """Years with data, and the years (this and next) that still lack an official calendar."""
    _require_admin(actor)
    rows = []
    days = list(db.session.scalars(select(CalendarDay)))
    for cy in db.session.scalars(select(CalendarYear).order_by(CalendarYear.year.desc())):
        in_year = [d for d in days if d.day.year == cy.year]
        rows.append(YearStatus(cy.year, cy.source, sum(not d.is_workday for d in in_year),
                               sum(d.is_workday for d in in_year)))
    return rows, missing_years_warning()


WARN_FROM = (10, 1)  # next year's calendar is awaited from 1 October (行政许可法 第八十二条)


def years_to_check(today: date) -> list[int]:
    """This year, and from 1 October the next one too."""
    if (today.month, today.day) >= WARN_FROM:
        return [today.year, today.year + 1]
    return [today.year]


def missing_years_warning() -> list[int]:
    """Years (this one, and from 1 October the next) without official data; shown to
    administrators."""
    return current().missing_years(years_to_check(today_cst()))


def enter_year(actor: User, year: int, days_off: list[date], makeup_days: list[date]) -> None:
    """Enter a year's official arrangement (State Council notice) in one transaction; the
    due dates and timers of running applications are counted again on it."""
    _require_admin(actor)
    errors = {}
    if year < 2000 or year > 2100:
        errors["year"] = "年份无效"
    if any(d.year != year for d in [*days_off, *makeup_days]):
        errors["days"] = f"所有日期都必须在 {year} 年内"
    if set(days_off) & set(makeup_days):
        errors["days"] = "同一天不能既是休息日又是调休工作日"
    if errors:
        raise InvalidInput(_("日历信息有误"), errors)
    try:
        for old in db.session.scalars(select(CalendarDay).where(
                CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))):
            db.session.delete(old)
        db.session.flush()
        for d in days_off:
            if d.weekday() < 5:
                db.session.add(CalendarDay(day=d, is_workday=False, source="admin", note="法定节假日"))
        for d in makeup_days:
            if d.weekday() >= 5:
                db.session.add(CalendarDay(day=d, is_workday=True, source="admin", note="调休上班"))
        cy = db.session.get(CalendarYear, year)
        if cy is None:
            db.session.add(CalendarYear(year=year, source="admin"))
        else:
            cy.source = "admin"
        db.session.flush()
        from app.services.engine import processes  # the engine reads this module's calendar

        recounted = processes.recount_clocks(actor, _load(), year)
        audit.record(actor, "calendar.enter_year", "calendar_year", year,
                     {"days_off": [d.isoformat() for d in days_off],
                      "makeup_days": [d.isoformat() for d in makeup_days],
                      "recounted": [r.instance_id for r in recounted]})
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()
    invalidate()


def _require_admin(actor: User) -> None:
    if actor.role is not Role.ADMIN:
        raise Forbidden(_("只有系统管理员可以维护工作日历"))
