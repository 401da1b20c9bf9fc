"""The inbox pages by keyset: every open task once, in order (soonest due first, tasks without
a due time last), and the header counts stop at a cap instead of counting a whole inbox."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.extensions import db
from app.models import HumanTask
from app.models.base import utcnow
from app.services.engine import processes
from app.services.inbox import tasks
from tests.factories import World
from tests.factories import application_payload
from tests.factories import user


def _many_open_tasks(world: World, n: int) -> list[HumanTask]:
    iid = processes.start_application(user(world.doctor_id), "registration",
                                      application_payload(world, world.doctor_id)).instance_id
    now = utcnow()
    rows = [HumanTask(instance_id=iid, process_id="registration", task_guid=f"bulk-{i}",
                      task_spec_id="commission_accept", title="卫健委受理", lane="commission",
                      form_id="commission_accept", scope_kind="authority", scope_id=world.authority_id,
                      due_at=None if i % 7 == 0 else now + timedelta(hours=(i * 37) % 50),
                      created_at=now - timedelta(minutes=i))
            for i in range(n)]
    db.session.add_all(rows)
    db.session.commit()
    return rows


@pytest.mark.parametrize("sort", ["due", "arrived"])
def test_keyset_pages_show_every_task_once_in_order(world: World, sort: str) -> None:
    rows = _many_open_tasks(world, 130)
    officer = user(world.officer_id)
    seen: list[tasks.InboxRow] = []
    after = ""
    while True:
        page = tasks.inbox(officer, tasks.InboxFilter(sort=sort, after=after))
        seen += page
        if len(page) < tasks.PAGE_SIZE:
            break
        after = tasks.cursor_of(page[-1], sort)
    assert sorted(r.task_id for r in seen) == sorted(t.id for t in rows)
    if sort == "due":
        keys = [(r.due_at is None, r.due_at or 0, r.task_id) for r in seen]
    else:
        keys = [(r.created_at, r.task_id) for r in seen]
    assert keys == sorted(keys)


def test_counts_stop_at_the_cap(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    _many_open_tasks(world, 60)
    monkeypatch.setattr(tasks, "COUNT_CAP", 25)
    counts = tasks.inbox_counts(user(world.officer_id))
    assert (counts.open, counts.unclaimed, counts.mine) == (25, 25, 0)


@pytest.mark.parametrize(("n", "cap"), [(7, 100), (7, 3), (60, 100), (60, 25)])
def test_the_page_and_its_counts_are_those_of_the_queries(world: World, monkeypatch: pytest.MonkeyPatch,
                                                          n: int, cap: int) -> None:
    # issue 14 goal 1 (待办任务, fifth round): the page reads its rows and its header counts in one
    # statement (a first page with room to spare holds every open task, so its counts follow
    # from its rows; a full one counts them apart): the same rows and the same counts as the
    # list and the counting query, claimed, late and soon-due tasks included, capped alike
    rows = _many_open_tasks(world, n)
    now = utcnow()
    rows[1].claimed_by_id = world.officer_id
    rows[2].claimed_by_id = world.staff_id
    rows[3].due_at = now - timedelta(days=1)
    rows[4].due_at = now + timedelta(days=8)
    db.session.commit()
    monkeypatch.setattr(tasks, "COUNT_CAP", cap)
    officer = user(world.officer_id)
    page = tasks.inbox_page(officer)
    counts = tasks.inbox_counts(officer)
    assert page.counts == counts
    assert page.rows == tasks.inbox(officer)
    assert counts.mine == 1 and counts.overdue >= 1 and counts.due_soon >= 1
    assert counts.open == min(n, cap) and counts.unclaimed == min(n - 2, cap)
    assert (page.next_after is not None) == (n > tasks.PAGE_SIZE)
    types, steps = tasks.inbox_choices(officer)
    assert (page.types, page.steps) == (types, steps) and ("commission_accept", "卫健委受理") in steps
