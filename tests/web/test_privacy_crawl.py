"""No page shows a full ID number or phone number to anyone but its owner.

The demo world is seeded; each other role signs in and crawls every page it can reach by
following links, and no page may contain a seeded ID number or mobile number in full.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from html import unescape
from urllib.parse import urljoin
from urllib.parse import urlsplit

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.models import ProcessInstance
from app.models import Qualification
from app.models import User
from app.services.accounts import recovery
from app.services.inbox import tasks
from app.services.platform import outbox
from app.services.platform import seed
from app.services.records.validators import mask_id
from app.services.records.validators import mask_mobile
from tests.conftest import WebClient

MAX_PAGES = 300
HREF = re.compile(r"""href\s*=\s*["']([^"']+)["']""", re.I)
SKIP = re.compile(r"^/(static/|logout\b)|/files/")
PASSWORDS = {"jigou01": "Jigou2026", "weijian01": "Weijian2026", "admin01": "Admin2026",
             "doctor01": "Doctor2026"}


@dataclass
class Secrets:
    """The seeded numbers, and whose they are (user name, or None for no account)."""

    id_numbers: dict[str, str | None]
    mobiles: dict[str, str | None]
    open_tasks: dict[str, list[int]] = field(default_factory=dict)  # staff name -> task ids
    probes: list[str] = field(default_factory=list)  # every task and application page

    def others(self, username: str | None) -> dict[str, str]:
        """Every full number that ``username`` must not see, with a label."""
        out = {n: "ID number" for n, owner in self.id_numbers.items() if owner != username}
        out.update({n: "mobile" for n, owner in self.mobiles.items() if owner != username})
        return out


@dataclass
class Crawl:
    pages: dict[str, str]  # path -> body
    statuses: dict[str, int]


@pytest.fixture()
def demo(app: Flask, clean_db: None) -> Iterator[Secrets]:
    with app.app_context():
        world = seed.seed_demo(app.config["MEDREG_UPLOAD_DIR"])
        assert world.created
        owners = {u.id_number: u.username for u in db.session.scalars(
            select(User).where(User.id_number.is_not(None)))}
        ids = {q.id_number: owners.get(q.id_number) for q in db.session.scalars(
            select(Qualification))}
        mobiles = {u.mobile: u.username for u in db.session.scalars(
            select(User).where(User.mobile.is_not(None)))}
        secrets = Secrets(ids, mobiles)
        for task in db.session.scalars(select(HumanTask).order_by(HumanTask.id)):
            secrets.probes += [f"/inbox/tasks/{task.id}", f"/physician/tasks/{task.id}"]
        for inst_id in db.session.scalars(select(ProcessInstance.id)):
            secrets.probes.append(f"/physician/applications/{inst_id}")
        for name in ("jigou01", "weijian01"):
            staff = db.session.scalar(select(User).where(User.username == name))
            secrets.open_tasks[name] = [row.task_id for row in tasks.inbox(staff)]
        db.session.remove()
    assert len(ids) >= 40 and len(mobiles) >= 3
    yield secrets


def _links(base: str, body: str) -> Iterator[str]:
    for raw in HREF.findall(body):
        href = unescape(raw).strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
            continue
        parts = urlsplit(urljoin("http://localhost" + base, href))
        if parts.netloc != "localhost":
            continue  # another site
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if not SKIP.search(parts.path):
            yield path


def crawl(client: WebClient, start: list[str]) -> Crawl:
    """GET every same-site page reachable from ``start`` (redirects followed by hand)."""
    queue, seen = list(start), set(start)
    pages: dict[str, str] = {}
    statuses: dict[str, int] = {}
    while queue and len(pages) < MAX_PAGES:
        path = queue.pop(0)
        resp = client.client.get(path)
        statuses[path] = resp.status_code
        body = resp.get_data(as_text=True) if resp.mimetype.startswith("text/") else ""
        if resp.mimetype == "application/pdf":  # the printed 申请审核表 is read too
            body = "".join(p.extract_text() for p in PdfReader(io.BytesIO(resp.data)).pages)
            body = re.sub(r"\s+", "", body)
        pages[path] = body
        found = list(_links(path, body))
        if resp.status_code in (301, 302, 303, 307, 308):
            found.append(urlsplit(urljoin("http://localhost" + path,
                                          resp.headers["Location"])).path)
        for link in found:
            if link not in seen and not SKIP.search(link):
                seen.add(link)
                queue.append(link)
    return Crawl(pages, statuses)


def _leaks(result: Crawl, forbidden: dict[str, str]) -> list[str]:
    return [f"{path}: {label} {number}" for path, body in result.pages.items()
            for number, label in forbidden.items() if number in body]


def _signed_in(app: Flask, username: str) -> WebClient:
    client = WebClient(app.test_client())
    resp = client.login(username, PASSWORDS[username])
    assert resp.status_code == 302, f"{username} could not sign in"
    return client


@pytest.mark.parametrize(("username", "must_visit"), [
    ("jigou01", ["/inbox/", "/institution/activation-codes"]),
    ("weijian01", ["/inbox/"]),
    ("admin01", ["/admin/", "/admin/calendar"]),
    ("doctor01", ["/physician/", "/physician/qualification", "/physician/practice",
                  "/physician/applications", "/physician/apply/registration",
                  "/account/security", "/account/security/mobile"]),
])
def test_no_role_sees_other_peoples_numbers(app: Flask, demo: Secrets, username: str,
                                            must_visit: list[str]) -> None:
    client = _signed_in(app, username)
    # from the home page by links, plus every task and application page by its address
    # (those of other people are refused, and the refusal must not leak either)
    result = crawl(client, ["/", *demo.probes])
    task_pages = [f"/inbox/tasks/{t}" for t in demo.open_tasks.get(username, [])]
    assert len(result.pages) < MAX_PAGES, "the crawl did not finish"
    for path in must_visit + task_pages:
        assert result.statuses.get(path) == 200, (path, sorted(result.statuses))
    ok = [p for p, s in result.statuses.items() if s == 200]
    assert len(ok) >= len(must_visit) + len(task_pages), sorted(result.statuses)
    assert len(result.pages) > len(demo.probes) + 1  # the links were followed
    assert not [p for p, s in result.statuses.items() if s >= 500], result.statuses
    assert _leaks(result, demo.others(username)) == []


def test_the_numbers_are_shown_masked(app: Flask, demo: Secrets) -> None:
    """The crawl is meaningful: the same pages do show the people, masked."""
    staff = crawl(_signed_in(app, "jigou01"), ["/"])
    text = "\n".join(staff.pages.values())
    registered = [n for n, owner in demo.id_numbers.items() if n.startswith("14")]
    shown = [n for n in registered if mask_id(n) in text]
    assert shown, "no masked ID number on the institution's pages"
    assert "*" * 10 in text  # 1401**********0034
    task_pages = [b for p, b in staff.pages.items() if p.startswith("/inbox/tasks/")]
    assert task_pages and all("**********" in b for b in task_pages)

    doctor = crawl(_signed_in(app, "doctor01"), ["/"])
    own = next(m for m, owner in demo.mobiles.items() if owner == "doctor01")
    assert mask_mobile(own) in "\n".join(doctor.pages.values())
    # and the crawler does see full numbers where they are shown: to their owner
    own_id = next(n for n, owner in demo.id_numbers.items() if owner == "doctor01")
    assert _leaks(doctor, {own_id: "ID number", own: "mobile"}) != []
    assert own_id in doctor.pages["/physician/qualification"]


def test_the_development_outbox_masks_phone_numbers(app: Flask, demo: Secrets) -> None:
    client = WebClient(app.test_client())
    with app.app_context():  # SMS to every seeded phone: a notice and a recovery code
        for user in db.session.scalars(select(User).where(User.mobile.is_not(None))):
            outbox.notify_user(user, "账户安全提醒", "您的登录密码已修改。")
            recovery.send_code("sms", user.mobile or "")
        db.session.commit()
    resp = client.get("/dev/outbox")
    assert resp.status_code == 200  # public while messages go to the log
    text = resp.get_data(as_text=True)
    assert text.count("<td>sms</td>") == 2 * len(demo.mobiles)
    masked = [mask_mobile(m) for m in demo.mobiles if mask_mobile(m) in text]
    assert masked, "no masked recipient on the outbox page"
    leaks = [m for m in demo.mobiles if m in text] + [n for n in demo.id_numbers if n in text]
    assert leaks == []
