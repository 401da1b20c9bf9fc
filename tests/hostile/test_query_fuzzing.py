"""Every GET route of the URL map, fed hostile query strings, for each role and anonymously.

The query parameter names are not listed by hand: they are read from the source at test time
(every ``args.get("name"`` in app/), so a parameter added tomorrow is fuzzed tomorrow. A page
that the client may see (200 on a plain request) gets every name at once with each value of
a fixed hostile list, then hypothesis-drawn mixes of hostile and plausible values; a page it
may not see gets the first few hostile values (it must refuse them as it refuses the plain
request). Never a 5xx nor a stack trace, and markup we sent is only ever shown escaped.
A rule whose path parameters the test world cannot fill is listed in ``SKIPPED``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from werkzeug.routing import Rule

from app.extensions import db
from app.models import ImportJob
from app.models import Role
from app.services.records import public_register
from tests.conftest import WebClient
from tests.factories import make_user
from tests.factories import user
from tests.hostile.conftest import Rich
from tests.hostile.payloads import FUZZ
from tests.hostile.payloads import MARKUP
from tests.hostile.payloads import assert_sane
from tests.hostile.payloads import text_value

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

APP_DIR = Path(__file__).resolve().parents[2] / "app"
# request.args.get("x", ...), args.get('x'), args.getlist("x"), args["x"] in views, services, templates
ARG_READ = re.compile(r"""\bargs\s*(?:\.\s*get(?:list)?\s*\(\s*|\[\s*)["']([^"']+)["']""")

ROLES = {"anonymous": None, "physician": "doctor01", "institution": "jigouadmin",
         "commission": "weijian01", "admin": "admin01"}
# rules whose path parameters no world can fill (with the reason)
SKIPPED = {"static": "files on disk (<path:filename>): no view code reads a query string",
           "health.healthz": "reads no query string; 503 by design until a scheduler sweeps "
                             "(tests/web/test_operations.py)"}

VALUES = [
    "²", "١٢٣", "٣", "9" * 40, str(2**31), str(2**63), "-1", "-0", "0", "1e309", "NaN", "0x10",
    "|", "||", "\x00", "a\x00b", "%00", "x" * 5000, "长" * 3000, "\u202e\u202d", "\ufeff",
    "2026-02-30", "0000-00-00", "9999-12-31", "-2026-01-01", "2026-01-01T00:00:00|5",
    "2026-01-01T00:00:00+00:00|²", "9999-12-31T23:59:59-01:00|1", "0001-01-01T00:00:00+01:00|1",
    "a|b|c", "%", "_", "%_%", "' OR '1'='1' --", "1; DROP TABLE user; --", MARKUP[0], MARKUP[1],
    "\r\nX-Injected: 1", "//evil.example/", "javascript:alert(1)", "", " ",
]
# values a view expects, so that one hostile value meets the branches the others open
PLAUSIBLE = ["arrived", "name", "due", "mine", "unclaimed", "overdue", "week", "running", "completed",
             "failed", "suspended", "registration", "institution_confirm", "institution", "admin",
             "commission", "physician", "1", "2", "宋宏强"]


def query_names() -> list[str]:
    """Every query parameter name that code under app/ reads."""
    names: set[str] = set()
    for path in sorted(APP_DIR.rglob("*")):
        if path.suffix in (".py", ".html"):
            names |= set(ARG_READ.findall(path.read_text(encoding="utf-8")))
    return sorted(names)


def _world_values(app: Flask, rich: Rich) -> dict[str, list[Any]]:
    """A value (or every choice) for each path parameter, from the test world."""
    with app.app_context():
        admin = make_user("jigouadmin", Role.INSTITUTION, "医务科主任",
                          institution_id=rich.world.hospital_id, org_admin=True)
        job = ImportJob(kind="institutions", filename="a.csv", content="登记号\n", total=1,
                        errors=[[2, "机构名称", "机构名称不能为空"]], created_by_id=rich.world.admin_id)
        db.session.add(job)
        db.session.commit()
        token = public_register.certificate(user(rich.world.doctor_id), rich.registration_id,
                                            app.config["SECRET_KEY"])[1]
        values: dict[str, list[Any]] = {
            "instance_id": [rich.instance_id], "task_id": [rich.task_id],
            "registration_id": [rich.registration_id], "user_id": [admin.id],
            "department_id": [rich.world.department_id], "job_id": [job.id],
            "institution_id": [rich.world.hospital_id],
            "process_id": ["registration"], "version": [1], "field": ["employment_proof"],
            "name": ["old", "new", "military"], "channel": ["mobile", "email"],
            "sha256": ["0" * 64], "token": [token],
            "kind": {"admin.import_template": ["institutions"],
                     "institution.roster": ["main", "filed_in"],
                     "institution.roster_csv": ["main"]}}
        db.session.remove()
        return values


def get_urls(app: Flask, values: dict[str, Any]) -> list[str]:
    """Every GET rule of the URL map, its path parameters filled (every choice of an ``any``)."""
    urls: list[str] = []
    unfilled: list[str] = []
    rules: list[Rule] = sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
    for rule in rules:
        if "GET" not in (rule.methods or set()) or rule.endpoint in SKIPPED:
            continue
        filled = [rule.rule]
        for arg, conv in rule._converters.items():  # noqa: SLF001 - the URL map is the spec
            given_ = values.get(arg)
            if isinstance(given_, dict):
                given_ = given_.get(rule.endpoint)
            options = sorted(getattr(conv, "items", [])) or given_
            if not options:
                unfilled.append(f"{rule.endpoint} <{arg}>")
                break
            pattern = re.compile(rf"<(?:[^<>:]+:)?{arg}>")
            filled = [pattern.sub(str(o), u) for u in filled for o in options]
        else:
            urls += filled
    assert not unfilled, f"fill these path parameters or list the rule in SKIPPED: {unfilled}"
    return urls


def _check(resp: Any, sent: Any) -> int:
    """No 5xx, and a text answer passes :func:`assert_sane`; returns the status."""
    try:
        assert resp.status_code < 500, f"{resp.status_code} for {sent!r}"
        if resp.mimetype in ("text/html", "application/json", "text/csv", "text/plain"):
            assert_sane(resp, sent)
        return int(resp.status_code)
    finally:
        resp.close()  # a file download holds its file open until closed


query_value = st.one_of(st.sampled_from(VALUES), st.sampled_from(PLAUSIBLE), text_value)


def _sweep(web: WebClient, urls: list[str], names: list[str]) -> list[str]:
    """Every URL with every name set to each hostile value, then hypothesis mixes on the pages
    this client may see; returns those pages."""
    # a plain request first: the pages this client may see get every hostile value
    mine = [u for u in urls if _check(web.client.get(u), u) == 200]
    for url in urls:
        for value in VALUES if url in mine else VALUES[:3]:
            sent = dict.fromkeys(names, value)
            _check(web.client.get(url, query_string=sent), [url, sent])

    @settings(FUZZ, max_examples=40)
    @given(url=st.sampled_from(mine),
           query=st.dictionaries(st.sampled_from(names),
                                 st.lists(query_value, min_size=1, max_size=2), min_size=1))
    def run(url: str, query: dict[str, list[str]]) -> None:
        _check(web.client.get(url, query_string=query), [url, query])

    run()
    return mine


def test_every_get_route_survives_hostile_query_strings(app: Flask, rich: Rich) -> None:
    names = query_names()
    assert {"after", "before", "q", "sort", "state", "next", "role"} <= set(names), names
    urls = get_urls(app, _world_values(app, rich))
    assert len(urls) >= 60, urls  # the whole map, not a sample
    reached: dict[str, list[str]] = {}
    for role, username in ROLES.items():
        web = WebClient(app.test_client())
        if username:
            assert web.login(username).status_code == 302, username
        reached[role] = _sweep(web, urls, names)
    # each role really reached its own pages (not only the sign-in page)
    assert {"/inbox/", "/institution/staff"} <= set(reached["institution"])
    assert {"/admin/instances", "/admin/users"} <= set(reached["admin"])
    assert {"/inbox/", "/inbox/dashboard"} <= set(reached["commission"])
    assert "/physician/" in reached["physician"] and "/public/register" in reached["anonymous"]
