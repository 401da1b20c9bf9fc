"""One keyset pagination helper (issue 11 §1) for the inbox, 流程实例 and the account lists:
every row once, in order, and a cursor a person changed is harmless (first page)."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import pytest

from app.models import HumanTask
from app.models import Role
from app.models import User
from app.services.accounts import staff
from app.services.platform.paging import Keyset
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import make_user
from tests.factories import user

DUE = Keyset((HumanTask.due_at, HumanTask.id), (datetime, int), nulls_last=True)
IDS = Keyset((User.id,), (int,), descending=True)


def test_a_cursor_reads_back_what_it_wrote() -> None:
    moment = datetime(2026, 11, 29, 8, 30, tzinfo=UTC)
    assert DUE.read(DUE.cursor((moment, 42))) == (moment, 42)
    assert DUE.read(DUE.cursor((None, 42))) == (None, 42)  # a task without a due time
    assert IDS.read(IDS.cursor((7,))) == (7,)


@pytest.mark.parametrize("forged", [
    "", "abc", "2026-01-01T00:00:00|5", "2026-01-01T00:00:00+00:00|²", "|", "||", "x|1|2",
    "0001-01-01T00:00:00+01:00|1", "2026-01-01T00:00:00+00:00|" + "9" * 30, "1" * 81,
    "2026-01-01|5", "\x00|1", "|-1"])
def test_a_forged_cursor_means_the_first_page(forged: str) -> None:
    assert DUE.read(forged) is None


@pytest.mark.parametrize("forged", ["", "-1", "²", "9" * 30, "1|2", "abc"])
def test_a_forged_id_cursor_means_the_first_page(forged: str) -> None:
    assert IDS.read(forged) is None


def test_account_pages_show_every_account_once_newest_first(world: World) -> None:
    made = [make_user(f"staff{i:03d}", Role.INSTITUTION, f"工作人员{i}",
                      institution_id=world.hospital_id).id for i in range(staff.PAGE + 7)]
    admin = user(world.admin_id)
    seen: list[int] = []
    cursor = ""
    while True:
        page = staff.search(admin, role="institution", before=cursor)
        seen += [u.id for u in page]
        if len(page) < staff.PAGE:
            break
        cursor = str(page[-1].id)
    assert sorted(seen) == sorted(made + [world.staff_id, world.other_staff_id])
    assert seen == sorted(seen, reverse=True)


def test_forged_page_links_show_the_first_page(web: WebClient, web_world: World) -> None:
    web.login("admin01")
    for url in ("/admin/instances", "/admin/users"):
        for forged in ("-1", "²", "9" * 30, "1|2", "abc"):
            resp = web.client.get(url, query_string={"before": forged})
            assert resp.status_code == 200, (url, forged)
    text = web.client.get("/admin/users", query_string={"before": "abc"}).get_data(as_text=True)
    assert "jigou01" in text  # the first page, not an empty one
