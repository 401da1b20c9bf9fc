"""Fixtures: one migrated database per session (SQLite, or PostgreSQL through
``TEST_DATABASE_URL``), emptied between tests; the app, clients and factories."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from app import create_app
from app import resources
from app.extensions import db
from app.services.backoffice import calendar
from app.services.backoffice import definitions
from tests.factories import World
from tests.factories import make_world

# The image captcha is switched off for automated tests only (tests of it switch it back on).
os.environ["MEDREG_CAPTCHA"] = "off"

REFERENCE_TABLES = {"catalogue_item", "reference_stamp", "calendar_day", "calendar_year", "process_definition",
                    "alembic_version"}


def _database_url(tmp: Path) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp / 'test.db'}"


def test_config(tmp: Path, url: str) -> dict[str, Any]:
    return {
        "TESTING": True,
        "MEDREG_ENV": "development",
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "MEDREG_SCHEDULER": False,
        "MEDREG_FAST_HASH": True,
        "MEDREG_UPLOAD_DIR": str(tmp / "uploads"),
        "MEDREG_MAIL_BACKEND": "log",
        "RATELIMIT_ENABLED": False,
    }


def _reset_schema(app: Flask) -> None:
    """Drop everything so the migrations run on an empty database."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        db.engine.dispose()


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    tmp = tmp_path_factory.mktemp("medreg")
    url = _database_url(tmp)
    application = create_app(test_config(tmp, url))
    _reset_schema(application)
    from flask_migrate import upgrade

    from app.services.platform import seed
    with application.app_context():
        upgrade()
        seed.seed_reference()
        db.session.remove()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def _clean(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in REFERENCE_TABLES]
        with db.engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                conn.execute(text("TRUNCATE " + ", ".join(t.name for t in tables)
                                  + " RESTART IDENTITY CASCADE"))
            else:
                for t in tables:
                    conn.execute(t.delete())
            conn.execute(text("DELETE FROM calendar_day WHERE source = 'admin'"))
            conn.execute(text("DELETE FROM calendar_year WHERE source = 'admin'"))
            conn.execute(text("DELETE FROM process_definition WHERE version > 1"))
            # processes created in the browser (新建流程) are not reference data
            shipped = {p.stem for p in resources.bpmn_dir().glob("*.bpmn")}
            definition = db.metadata.tables["process_definition"]
            conn.execute(definition.delete().where(definition.c.process_id.not_in(shipped)))
        calendar.invalidate()
        definitions.forget_versions()


@pytest.fixture(autouse=True)
def _limiter_restored() -> Iterator[None]:
    """The limiter is one object per process and ``init_app`` rebinds it (store, on/off):
    a test that builds another app (production, limits on) must not leave it behind."""
    from app.extensions import limiter

    saved = dict(limiter.__dict__)
    yield
    limiter.__dict__.clear()
    limiter.__dict__.update(saved)


@pytest.fixture()
def clean_db(app: Flask) -> Iterator[None]:
    _clean(app)
    yield
    _clean(app)


@pytest.fixture()
def ctx(app: Flask, clean_db: None) -> Iterator[Flask]:
    """An app context on an empty (reference data only) database."""
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture()
def world(ctx: Flask) -> World:
    """Two commissions, two institutions, one account per role and scope."""
    return make_world(ctx.config["MEDREG_UPLOAD_DIR"])


class WebClient:
    """A test client that signs in and sends the CSRF token like a browser does."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.token = ""

    def get(self, url: str, **kw: Any) -> Any:
        resp = self.client.get(url, **kw)
        m = re.search(r'name="csrf_token" value="([^"]+)"', resp.get_data(as_text=True))
        if m:
            self.token = m.group(1)
        return resp

    def post(self, url: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        if not self.token:
            self.get("/login")
        payload = dict(data or {})
        payload.setdefault("csrf_token", self.token)
        return self.client.post(url, data=payload, **kw)

    @classmethod
    def signed_in(cls, app: Flask, username: str) -> WebClient:
        """A new client of ``app``, signed in as ``username``."""
        client = cls(app.test_client())
        client.login(username)
        return client

    def login(self, username: str, password: str = "Passw0rd1") -> Any:
        self.get("/login")
        resp = self.post("/login", {"username": username, "password": password})
        if resp.status_code == 302:  # the session (and its CSRF token) is new after sign-in
            self.get(resp.headers["Location"], follow_redirects=True)
        return resp


@pytest.fixture()
def web(app: Flask, clean_db: None) -> WebClient:
    return WebClient(app.test_client())


@pytest.fixture()
def web_world(app: Flask, clean_db: None) -> World:
    """A world built outside any request (for web tests)."""
    with app.app_context():
        w = make_world(app.config["MEDREG_UPLOAD_DIR"])
        db.session.remove()
        return w


def unique() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis: ``TEST_REDIS_URL`` (CI starts one), else a redis-server of our own."""
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        yield url
        return
    import shutil
    import socket
    import subprocess

    from tests.waiting import wait_until

    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: socket.create_connection(("127.0.0.1", port), timeout=2).close() or True,
                   "redis-server", processes=[proc])
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def production_config(tmp: Path, redis: str, **over: Any) -> dict[str, Any]:
    """A production app's settings (secrets set, shared rate-limit store, SMTP)."""
    return {**test_config(tmp, f"sqlite:///{tmp / 'prod.db'}"), "TESTING": False,
            "MEDREG_ENV": "production", "SECRET_KEY": "x" * 32, "MEDREG_AUDIT_KEY": "k" * 32,
            "MEDREG_MAIL_BACKEND": "smtp", "RATELIMIT_ENABLED": True, "MEDREG_FAST_HASH": False,
            "RATELIMIT_STORAGE_URI": redis, **over}
