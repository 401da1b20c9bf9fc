"""Every back-office route × every role that should not see another scope's data:
the answer is a redirect to sign in, 403 or 404 — never the data."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.models import Registration
from app.services.engine import processes
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import application_payload
from tests.factories import make_qualification
from tests.factories import user

SECRET_NAME = "宋宏强"  # the applicant of world A, at 山西大学医院 / 太原


def _world_a_case(app: Flask, world: World) -> dict[str, int]:
    with app.app_context():
        iid = processes.start_application(user(world.doctor_id), "registration",
                                          application_payload(world, world.doctor_id)).instance_id
        task = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == iid,
                                                            HumanTask.status == "open"))
        reg = Registration(qualification_id=make_qualification("冯十二", 44).id,
                           level="执业医师", category="1", scopes=["11"], place_region="140000",
                           institution_id=world.hospital_id, authority_id=world.authority_id,
                           status="ACTIVE", cert_no="110140100008888")
        db.session.add(reg)
        db.session.commit()
        return {"instance": iid, "task": int(task or 0), "registration": reg.id}


def _routes(ids: dict[str, int]) -> list[tuple[str, str]]:
    i, t, r = ids["instance"], ids["task"], ids["registration"]
    return [
        ("GET", f"/inbox/tasks/{t}"),
        ("POST", f"/inbox/tasks/{t}/complete"),
        ("POST", f"/inbox/tasks/{t}/claim"),
        ("POST", f"/inbox/tasks/{t}/unclaim"),
        ("GET", f"/inbox/applications/{i}/files/employment_proof"),
        ("GET", f"/physician/applications/{i}"),
        ("GET", f"/physician/applications/{i}/files/employment_proof"),
        ("POST", f"/physician/applications/{i}/withdraw"),
        ("POST", f"/institution/activation-codes/{r}"),
        ("GET", f"/public/certificates/{r}"),
        ("GET", "/admin/calendar"),
        ("GET", "/institution/activation-codes"),
        ("GET", "/inbox/"),
        ("GET", "/inbox/cancel"),
    ]


# who must not reach world A's data through these routes
OUTSIDERS = ["jigou02", "weijian02", "doctor02", "admin01", None]


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_get_no_data(app: Flask, web_world: World, who: str | None) -> None:
    # DOMAIN [S10]: an institution sees only its own physicians
    ids = _world_a_case(app, web_world)
    client = WebClient(app.test_client())
    if who:
        client.login(who)
    else:
        client.get("/login")
    for method, url in _routes(ids):
        resp = client.get(url) if method == "GET" else client.post(url, {"decision": "confirm", "paper_held": "on"})
        body = resp.get_data(as_text=True)
        resp.close()
        allowed_own_page = who in ("jigou02", "weijian02") and url in (
            "/inbox/", "/inbox/cancel") or who == "jigou02" and url.endswith("activation-codes") \
            or who == "admin01" and url == "/admin/calendar"
        if allowed_own_page:
            assert resp.status_code == 200 and SECRET_NAME not in body, (who, url)
            continue
        assert resp.status_code in (302, 403, 404), (who, method, url, resp.status_code)
        if resp.status_code == 302:
            assert "/login" in resp.headers["Location"] or who is not None, (who, url)
        assert SECRET_NAME not in body and "110140100008888" not in body, (who, url)
    with app.app_context():  # and nothing changed
        task = db.session.get(HumanTask, ids["task"])
        assert task is not None and task.status == "open" and task.claimed_by_id is None
