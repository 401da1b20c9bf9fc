"""The rows of the 待办任务 table and its filters' options, written in Python (issue 14 goal 1).

The template's loop cost about 17 µs a row: an escape per value (numbers and dates
included), two filters and a property per row. Here only the texts people and diagrams
wrote are escaped, each distinct one once per page; the dates go through the template's
own ``cst`` and ``cn_date`` filters. The HTML is the template loop's, byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from datetime import date
from datetime import datetime
from functools import lru_cache
from typing import Any

from flask import current_app
from markupsafe import Markup
from markupsafe import escape

from app.services.inbox.tasks import InboxRow
from app.services.inbox.tasks import due_day


def task_rows(rows: Sequence[InboxRow], bulk: bool, href: str, do: str, late: str,
              pick: str) -> Markup:
    """The ``<tr>`` of every row (with the 选择 cell when the page offers 批量确认): ``href``
    is a task's address without its number, ``do``, ``late`` and ``pick`` the words of the
    button, of the late mark and of the checkbox (the template's, so they stay with its
    wording)."""
    filters = current_app.jinja_env.filters
    cst: Callable[[datetime | None], str] = filters["cst"]
    cn_date: Callable[[date | None], str] = filters["cn_date"]
    escaped: dict[Any, str] = {}

    def e(text: Any) -> str:
        """``text`` escaped, once per distinct text of the page (types, steps and
        institutions repeat from row to row)."""
        out = escaped.get(text)
        if out is None:
            out = escaped[text] = escape(text)
        return out

    href, do, pick = e(href), e(do), e(pick)
    late = f' <span class="error">{e(late)}</span>'
    days: dict[datetime | None, str] = {}  # due times repeat (the start of a day in 北京时间)
    out = []
    for (task_id, instance_id, title, business_type, physician_name, institution_name, _status,
         created_at, due_at, claimed_by, claimed_by_me, overdue, row_bulk) in rows:
        check = ""
        if bulk:
            box = (f'<input type="checkbox" name="task_id" value="{task_id}" '
                   f'aria-label="{pick} {instance_id}">'
                   if row_bulk and (claimed_by is None or claimed_by_me) else "")
            check = f"<td>{box}</td>"
        day = days.get(due_at)
        if day is None:
            day = days[due_at] = cn_date(due_day(due_at)) or "—"
        out.append(
            f'\n<tr class="{"overdue" if overdue else ""}">\n{check}\n'
            f"<td>{instance_id}</td><td>{e(business_type)}</td><td>{e(physician_name)}</td>"
            f"<td>{e(institution_name)}</td>\n"
            f"<td>{e(title)}</td><td>{cst(created_at)}</td>"
            f'<td>{day}{late if overdue else ""}</td>\n'
            f'<td>{e(claimed_by or "")}</td>\n'
            f'<td><a class="button" href="{href}{task_id}">{do}</a></td></tr>\n')
    return Markup("".join(out))  # noqa: S704 - every text in it is escaped above


def options(choices: Sequence[tuple[str, str]], selected: str) -> Markup:
    """The ``<option>`` of every (value, label) of a filter, ``selected`` marked: the choices
    follow from the published diagrams, so the same few lists come back on every page and
    are written once per process for each selected value (kept by their content: a new
    publication's lists are other keys)."""
    kept = tuple(choices)
    if not any(value == selected for value, _label in kept):
        selected = ""  # not one of them (a query string's): never a key of its own
    return _options(kept, selected)


@lru_cache(maxsize=256)
def _options(choices: tuple[tuple[str, str], ...], selected: str) -> Markup:
    """The ``<option>`` elements of ``choices``, ``selected`` marked (kept per process)."""
    return Markup("".join(  # noqa: S704 - every text in it is escaped
        f'<option value="{escape(value)}" {"selected" if value == selected else ""}>{escape(label)}</option>'
        for value, label in choices))
