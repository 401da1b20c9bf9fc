"""The working-day calendar: deviations from Monday to Friday, per year."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db


class CalendarYear(db.Model):  # type: ignore[name-defined]
    """A year whose official arrangement is entered (from chinesecalendar or an admin)."""

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(20))  # chinesecalendar / admin


class CalendarDay(db.Model):  # type: ignore[name-defined]
    """A day off on a weekday (False) or a make-up working day on a weekend (True)."""

    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column()
    note: Mapped[str] = mapped_column(String(40), default="")
    source: Mapped[str] = mapped_column(String(20))
