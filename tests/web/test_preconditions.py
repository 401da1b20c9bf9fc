"""业务申请 explains, per business type, why it cannot be applied for — and refuses it."""

from __future__ import annotations

import pytest

from tests.conftest import WebClient
from tests.factories import World
from tests.services.test_business_types import REFUSALS


@pytest.mark.parametrize("pid", sorted(REFUSALS))
def test_refusal_is_shown_and_enforced(web: WebClient, web_world: World, pid: str) -> None:
    web.login("doctor01")  # a qualification, no registration yet
    listing = web.get("/physician/apply").get_data(as_text=True)
    assert REFUSALS[pid] in listing
    assert f'href="/physician/apply/{pid}"' not in listing
    page = web.get(f"/physician/apply/{pid}").get_data(as_text=True)
    assert REFUSALS[pid] in page and "提交申请" not in page
    resp = web.post(f"/physician/apply/{pid}", {"registration_id": "1", "declare_true": "on"})
    assert resp.status_code == 400 and REFUSALS[pid][:10] in resp.get_data(as_text=True)
