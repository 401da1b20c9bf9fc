"""What operators need (issue 14 goal 7): /healthz for the load balancer, JSON logs with a
request id, settings from the environment (``from_prefixed_env``) with their types kept."""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import event
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app import create_app
from app import log
from app.config import DefaultConfig
from app.config import from_environment
from app.extensions import db
from app.models import Role
from app.models import WebSession
from app.models.base import utcnow
from app.services.platform import health
from app.services.platform import outbox
from app.services.platform import scheduler
from tests import conftest
from tests.conftest import WebClient
from tests.factories import make_user
from tests.waiting import listening_socket
from tests.waiting import wait_for_http

ROOT = Path(__file__).resolve().parents[2]

TOKEN = "health-token-" + "x" * 24


@pytest.fixture()
def token(app: Flask, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(app.config, "MEDREG_HEALTH_TOKEN", TOKEN)
    return TOKEN


@pytest.fixture()
def root_logging() -> Iterator[None]:
    """A throwaway app installs its own handler on the root logger: put the old ones back."""
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    yield
    root.handlers[:] = saved
    root.setLevel(level)


def _beat(app: Flask, seconds_ago: float) -> None:
    with app.app_context():
        health.record_sweep(utcnow() - timedelta(seconds=seconds_ago))


def _healthz(web: WebClient, bearer: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return web.client.get("/healthz", headers=headers)


# ---- /healthz ---------------------------------------------------------------------------

def test_after_a_real_sweep_healthz_is_ok_and_says_only_that(app: Flask, web: WebClient) -> None:
    scheduler.sweep(app)  # the scheduler's heartbeat is written by the sweep itself
    resp = _healthz(web)
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok"}  # anonymous: no figures
    assert resp.headers["Cache-Control"] == "no-store"


def test_a_stale_sweep_is_unavailable(app: Flask, web: WebClient, token: str) -> None:
    _beat(app, DefaultConfig.MEDREG_HEALTH_SWEEP_MAX_SECONDS + 5)
    resp = _healthz(web)
    assert (resp.status_code, resp.get_json()) == (503, {"status": "unavailable"})
    detail = _healthz(web, token).get_json()
    assert detail["problems"] == ["scheduler"]
    assert detail["sweep_age_seconds"] > DefaultConfig.MEDREG_HEALTH_SWEEP_MAX_SECONDS
    assert detail["database"] == "ok"


def test_no_sweep_ever_is_unavailable_unless_the_scheduler_is_off_by_configuration(
        app: Flask, web: WebClient, token: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _healthz(web).status_code == 503
    monkeypatch.setitem(app.config, "MEDREG_HEALTH_SWEEP_MAX_SECONDS", 0)  # no scheduler here
    resp = _healthz(web, token)
    assert resp.status_code == 200
    assert resp.get_json()["sweep_age_seconds"] is None and resp.get_json()["problems"] == []


def test_the_figures_go_only_to_the_token_or_an_administrator(
        app: Flask, web: WebClient, token: str) -> None:
    _beat(app, 3)
    with app.app_context():  # a text message waiting for two hours: the outbox is stuck
        msg = outbox.enqueue("sms", "13900000001", "审批结果", "您的申请已办结")
        assert msg is not None
        msg.created_at = utcnow() - timedelta(hours=2)
        make_user("admin01", Role.ADMIN, "管理员")
        make_user("phys01", Role.PHYSICIAN, "张三")
        db.session.commit()
    anonymous = _healthz(web)
    assert (anonymous.status_code, anonymous.get_json()) == (503, {"status": "unavailable"})
    assert _healthz(web, "wrong-" + token).get_json() == {"status": "unavailable"}
    detail = _healthz(web, token)
    body = detail.get_json()
    assert detail.status_code == 503
    assert body["outbox_pending"] == 1 and body["outbox_oldest_age_seconds"] >= 7200
    assert body["problems"] == ["outbox"] and 0 <= body["sweep_age_seconds"] < 60
    assert "13900000001" not in detail.get_data(as_text=True)  # no personal data
    web.login("phys01")
    assert _healthz(web).get_json() == {"status": "unavailable"}  # a physician sees no figures
    admin = WebClient(app.test_client())
    assert admin.login("admin01").status_code == 302
    with app.app_context():  # the session was last used 10 minutes ago (a page would touch it)
        for row in db.session.scalars(select(WebSession)):
            row.seen_at = utcnow() - timedelta(minutes=10)
        db.session.commit()
        seen = {row.id: row.seen_at for row in db.session.scalars(select(WebSession))}
    assert _healthz(admin).get_json()["outbox_pending"] == 1
    with app.app_context():  # a monitoring page left open does not keep the session alive
        db.session.expire_all()
        assert {row.id: row.seen_at for row in db.session.scalars(select(WebSession))} == seen


def test_healthz_is_cheap(app: Flask, web: WebClient) -> None:
    _beat(app, 1)
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert _healthz(web).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert 1 <= len(statements) <= 3, statements


@pytest.mark.parametrize("broken", ["no-tables", "no-database"])
def test_a_database_that_does_not_answer_is_unavailable(tmp_path: Path, broken: str,
                                                        root_logging: None) -> None:
    url = (f"sqlite:///{tmp_path / 'empty.db'}" if broken == "no-tables"  # never migrated
           else f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}")  # cannot even be opened
    throwaway = create_app({**conftest.test_config(tmp_path, url), "MEDREG_HEALTH_TOKEN": TOKEN})
    client = throwaway.test_client()
    resp = client.get("/healthz")
    assert (resp.status_code, resp.get_json()) == (503, {"status": "unavailable"})
    client.set_cookie("session", "a-browser-cookie-from-before-the-outage")  # still 503, not 500
    assert client.get("/healthz").get_json() == {"status": "unavailable"}
    client.delete_cookie("session")
    detail = client.get("/healthz", headers={"Authorization": f"Bearer {TOKEN}"}).get_json()
    assert detail["database"] == "unavailable" and detail["problems"] == ["database"]
    with throwaway.app_context():
        db.engine.dispose()


def test_healthz_is_never_rate_limited(tmp_path: Path, app: Flask, clean_db: None,
                                       root_logging: None) -> None:
    # a load balancer probes every few seconds from one address: limits must not take it out
    limited = create_app({**conftest.test_config(tmp_path, app.config["SQLALCHEMY_DATABASE_URI"]),
                          "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://",
                          "RATELIMIT_DEFAULT": "3 per minute", "MEDREG_HEALTH_SWEEP_MAX_SECONDS": 0})
    client = limited.test_client()
    try:
        assert [client.get("/login").status_code for _ in range(4)][-1] == 429  # the limit is on
        assert {client.get("/healthz").status_code for _ in range(10)} == {200}
    finally:
        with limited.app_context():
            db.session.remove()
            db.engine.dispose()


def test_production_refuses_a_short_health_token(tmp_path: Path, redis_url: str,
                                                 root_logging: None,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDREG_CAPTCHA", "on")
    with pytest.raises(RuntimeError, match="MEDREG_HEALTH_TOKEN"):
        create_app(conftest.production_config(tmp_path, redis_url, MEDREG_HEALTH_TOKEN="1234"))


# ---- JSON logs with a request id --------------------------------------------------------

@pytest.fixture()
def json_app(tmp_path: Path, app: Flask, clean_db: None, root_logging: None) -> Iterator[Flask]:
    """An app on the session's database that logs JSON (its connections closed afterwards)."""
    throwaway = create_app({**conftest.test_config(tmp_path, app.config["SQLALCHEMY_DATABASE_URI"]),
                            "MEDREG_LOG_FORMAT": "json"})
    yield throwaway
    with throwaway.app_context():
        db.session.remove()
        db.engine.dispose()


def _request_lines(err: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]  # every line is JSON
    return [line for line in lines if line["logger"] == "medreg.request"]


def test_a_request_logs_one_json_line_with_the_id_it_returned(
        json_app: Flask, capsys: pytest.CaptureFixture[str]) -> None:
    throwaway = json_app
    capsys.readouterr()
    resp = throwaway.test_client().get("/login", headers={"X-Request-Id": "lb-7f3a.9_X"})
    assert resp.headers["X-Request-Id"] == "lb-7f3a.9_X"  # a sane incoming id is kept
    (line,) = _request_lines(capsys.readouterr().err)
    assert line["request_id"] == "lb-7f3a.9_X"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/login", 200)
    assert line["level"] == "INFO" and line["user_id"] is None and line["duration_ms"] >= 0
    assert set(line) >= {"timestamp", "level", "logger", "message", "request_id", "method", "path",
                         "status", "duration_ms", "user_id"}


def test_without_the_request_line_the_id_and_user_still_reach_the_server(
        tmp_path: Path, app: Flask, clean_db: None, root_logging: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    # MEDREG_REQUEST_LOG=off (deploy/gunicorn.conf.py): gunicorn's access line is the one line
    # per request, so the app writes none, but still returns the id and hands the server the
    # signed-in person's id for that line
    from app.log import ENVIRON_USER_ID

    quiet = create_app({**conftest.test_config(tmp_path, app.config["SQLALCHEMY_DATABASE_URI"]),
                        "MEDREG_LOG_FORMAT": "json", "MEDREG_REQUEST_LOG": False})
    try:
        with quiet.app_context():
            user_id = make_user("phys02", Role.PHYSICIAN, "李四", id_number="140101199001011242").id
            db.session.commit()
        seen: list[dict[str, Any]] = []
        inner = quiet.wsgi_app

        def server_side(environ: dict[str, Any], start_response: Any) -> Any:
            seen.append(environ)  # what the server (gunicorn's access line) reads afterwards
            return inner(environ, start_response)

        quiet.wsgi_app = server_side  # type: ignore[method-assign]
        web = WebClient(quiet.test_client())
        web.login("phys02")
        capsys.readouterr()
        resp = web.client.get("/messages/", headers={"X-Request-Id": "lb-quiet-1"})
        assert resp.status_code == 200 and resp.headers["X-Request-Id"] == "lb-quiet-1"
        assert seen[-1][ENVIRON_USER_ID] == user_id
        assert _request_lines(capsys.readouterr().err) == []
    finally:
        with quiet.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.mark.parametrize("forged", ['x\n{"level":"CRITICAL","message":"forged"}', "a" * 1024,
                                    "id with spaces", ""])
def test_a_forged_request_id_is_replaced(json_app: Flask, forged: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    throwaway = json_app
    capsys.readouterr()
    resp = throwaway.test_client().get("/healthz", environ_overrides={"HTTP_X_REQUEST_ID": forged})
    given = resp.headers["X-Request-Id"]
    assert given != forged and re.fullmatch(r"[0-9a-f]{32}", given)
    err = capsys.readouterr().err
    (line,) = _request_lines(err)
    assert line["request_id"] == given
    assert "forged" not in err and "a" * 65 not in err


def test_the_engines_state_changes_are_not_logged_but_its_warnings_are(
        json_app: Flask, capsys: pytest.CaptureFixture[str]) -> None:
    # issue 14 §7 (operators): SpiffWorkflow writes a line per task state change at INFO
    # (spiff.task); production logs keep the request line and the engine's warnings only
    capsys.readouterr()
    logging.getLogger("spiff.task").info("Transform: READY -> COMPLETED")
    logging.getLogger("spiff.workflow").warning("a timer could not be restored")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert [(x["logger"], x["level"]) for x in lines] == [("spiff.workflow", "WARNING")]


def test_a_signed_in_request_logs_the_user_id_not_the_name(
        json_app: Flask, capsys: pytest.CaptureFixture[str]) -> None:
    throwaway = json_app
    with throwaway.app_context():
        user_id = make_user("phys01", Role.PHYSICIAN, "张三丰", id_number="140101199001011234").id
        db.session.commit()
    web = WebClient(throwaway.test_client())
    web.login("phys01")
    capsys.readouterr()
    web.client.get("/messages/")
    err = capsys.readouterr().err
    (line,) = _request_lines(err)
    assert line["user_id"] == user_id and line["path"] == "/messages/"
    assert "张三丰" not in err and "140101199001011234" not in err and "phys01" not in err


def test_gunicorn_with_the_shipped_config_logs_json_access_lines_with_the_request_id(
        app: Flask, clean_db: None, redis_url: str, tmp_path: Path) -> None:
    # deploy/gunicorn.conf.py, as docs/deploy.md starts it (production: JSON by default)
    sock = listening_socket()
    port = sock.getsockname()[1]
    out, err = tmp_path / "access.log", tmp_path / "error.log"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MEDREG_", "SECRET_KEY", "RATELIMIT_", "DATABASE_URL"))}
    env.update({"SECRET_KEY": "p" * 40, "MEDREG_AUDIT_KEY": "a" * 40, "MEDREG_SCHEDULER": "off",
                "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "MEDREG_WORKERS": "1",
                "MEDREG_UPLOAD_DIR": app.config["MEDREG_UPLOAD_DIR"], "RATELIMIT_STORAGE_URI": redis_url,
                "MEDREG_HEALTH_SWEEP_MAX_SECONDS": "0"})
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "-b",
             f"fd://{sock.fileno()}", "app:create_app()"], cwd=ROOT, pass_fds=[sock.fileno()],
            env=env, stdout=stdout, stderr=stderr)
    sock.close()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(base + "/healthz", "gunicorn with deploy/gunicorn.conf.py", processes=[proc])
        health_resp = requests.get(base + "/healthz", timeout=30, headers={"X-Request-Id": "lb-probe-1"})
        page = requests.get(base + "/login", timeout=30, headers={"X-Request-Id": "x" * 100})
        # keep-alive: a browser's next request goes over the connection it already has
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/login")
        first = conn.getresponse()
        first.read()
        kept = conn.sock
        conn.request("GET", "/healthz")
        second = conn.getresponse()
        second.read()
        assert (first.status, first.will_close, second.status) == (200, False, 200)
        assert conn.sock is kept and kept is not None, "the second request used the same connection"
        conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert (health_resp.status_code, health_resp.json()) == (200, {"status": "ok"})
    assert health_resp.headers["X-Request-Id"] == "lb-probe-1"
    new_id = page.headers["X-Request-Id"]
    assert page.status_code == 200 and re.fullmatch(r"[0-9a-f]{32}", new_id)
    access = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    by_id = {line["request_id"]: line for line in access}
    assert by_id["lb-probe-1"]["logger"] == "gunicorn.access"
    assert (by_id["lb-probe-1"]["path"], by_id["lb-probe-1"]["status"]) == ("/healthz", 200)
    assert (by_id[new_id]["method"], by_id[new_id]["path"], by_id[new_id]["status"]) == ("GET", "/login", 200)
    # one line per request: the app writes no line of its own beside gunicorn's access line
    app_lines = [json.loads(line) for line in err.read_text().splitlines() if line.startswith("{")]
    assert [line for line in app_lines if line["logger"] == "medreg.request"] == []


def test_production_logs_json_and_development_text_unless_chosen() -> None:
    assert log.log_format({"MEDREG_ENV": "production"}) == "json"
    assert log.log_format({"MEDREG_ENV": "development"}) == "text"
    assert log.log_format({"MEDREG_ENV": "production", "MEDREG_LOG_FORMAT": "text"}) == "text"
    with pytest.raises(RuntimeError, match="MEDREG_LOG_FORMAT"):
        log.log_format({"MEDREG_ENV": "production", "MEDREG_LOG_FORMAT": "xml"})


# ---- settings from the environment ------------------------------------------------------

def _defaults(app: Flask) -> dict[str, Any]:
    return dict(app.config) | {k: getattr(DefaultConfig, k) for k in dir(DefaultConfig) if k.isupper()}


def test_settings_from_the_environment_keep_their_types(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"MEDREG_SCHEDULER": "off", "MEDREG_SWEEP_SECONDS": "3", "MEDREG_SMTP_PORT": "2525",
           "MEDREG_PROXY_HOPS": "1", "MEDREG_ALLOW_EXTENSION": "true", "MEDREG_FAST_HASH": "false",
           "MEDREG_MISSED_CYCLES_FROM": "2025", "MEDREG_AUDIT_KEY": "12345678901234567890",
           "MEDREG_HEALTH_TOKEN": "42", "MEDREG_HEALTH_SWEEP_MAX_SECONDS": "0",
           "MEDREG_SUPPORT_PHONE": "03512345678", "MEDREG_UPLOAD_DIR": "/srv/medreg/uploads",
           "MEDREG_MAIL_FROM": "noreply@wjw.example.cn", "MEDREG_RATELIMIT": "off",
           "MEDREG_LOG_FORMAT": "json", "MEDREG_SESSION_COOKIE_SECURE": "true",
           "MEDREG_SQLALCHEMY_ENGINE_OPTIONS__pool_size": "20",
           "SECRET_KEY": "1234567890123456", "DATABASE_URL": "postgresql+psycopg://h/medreg",
           "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    got = from_environment(_defaults(app))
    expected = {"MEDREG_SCHEDULER": False, "MEDREG_SWEEP_SECONDS": 3.0, "MEDREG_SMTP_PORT": 2525,
                "MEDREG_PROXY_HOPS": 1, "MEDREG_ALLOW_EXTENSION": True, "MEDREG_FAST_HASH": False,
                "MEDREG_MISSED_CYCLES_FROM": 2025, "MEDREG_AUDIT_KEY": "12345678901234567890",
                "MEDREG_HEALTH_TOKEN": "42", "MEDREG_HEALTH_SWEEP_MAX_SECONDS": 0.0,
                "MEDREG_SUPPORT_PHONE": "03512345678", "MEDREG_UPLOAD_DIR": "/srv/medreg/uploads",
                "MEDREG_MAIL_FROM": "noreply@wjw.example.cn", "RATELIMIT_ENABLED": False,
                "MEDREG_LOG_FORMAT": "json", "SESSION_COOKIE_SECURE": True,
                "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 20},
                "SECRET_KEY": "1234567890123456",
                "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://h/medreg",
                "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}
    for key, value in expected.items():
        assert got[key] == value and type(got[key]) is type(value), (key, got.get(key))
    monkeypatch.setenv("MEDREG_SECRET_KEY", "k" * 20)  # the prefixed name works too
    assert from_environment(_defaults(app))["SECRET_KEY"] == "k" * 20


@pytest.mark.parametrize(("name", "value"), [("MEDREG_SMTP_PORT", "twenty-five"),
                                             ("MEDREG_SCHEDULER", "maybe"),
                                             ("MEDREG_SWEEP_SECONDS", "fast")])
def test_a_setting_of_the_wrong_type_stops_the_start(app: Flask, monkeypatch: pytest.MonkeyPatch,
                                                     name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(RuntimeError, match=name):
        from_environment(_defaults(app))


def test_production_from_the_environment_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               root_logging: None, redis_url: str) -> None:
    # As docs/deploy.md sets it up: everything in the environment, no MEDREG_ENV (production).
    monkeypatch.delenv("MEDREG_ENV", raising=False)
    monkeypatch.setenv("MEDREG_CAPTCHA", "on")
    for key, value in {"DATABASE_URL": f"sqlite:///{tmp_path / 'env.db'}", "SECRET_KEY": "s" * 32,
                       "MEDREG_AUDIT_KEY": "a" * 32, "RATELIMIT_STORAGE_URI": redis_url,
                       "MEDREG_UPLOAD_DIR": str(tmp_path / "up"), "MEDREG_PROXY_HOPS": "1",
                       "MEDREG_HEALTH_TOKEN": TOKEN}.items():
        monkeypatch.setenv(key, value)
    prod = create_app()
    assert prod.config["MEDREG_ENV"] == "production"
    assert prod.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'env.db'}"
    assert prod.config["MEDREG_PROXY_HOPS"] == 1 and prod.config["MEDREG_HEALTH_TOKEN"] == TOKEN
    assert log.log_format(prod.config) == "json"
    with prod.app_context():
        db.engine.dispose()


def test_a_web_worker_s_database_statements_end_after_the_worker_timeout(
        app: Flask, tmp_path: Path) -> None:
    # the gthread worker (deploy/gunicorn.conf.py) answers gunicorn's arbiter while a request
    # runs, so its timeout cannot end a request that waits on the database: PostgreSQL does
    gunicorn_conf = (ROOT / "deploy" / "gunicorn.conf.py").read_text()
    assert 'worker_class = "gthread"' in gunicorn_conf
    assert 'threads = int(os.environ.get("MEDREG_THREADS", "4"))' in gunicorn_conf
    assert 'os.environ.setdefault("MEDREG_STATEMENT_TIMEOUT_SECONDS", str(timeout))' in gunicorn_conf
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    schema_url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3Dx_schema"
    limited = create_app(conftest.test_config(tmp_path, schema_url if url.startswith("postgresql") else url)
                         | {"MEDREG_STATEMENT_TIMEOUT_SECONDS": 1.5})
    plain = create_app(conftest.test_config(tmp_path, url))
    with limited.app_context():
        if db.engine.dialect.name == "postgresql":
            assert db.session.execute(text("SHOW statement_timeout")).scalar() == "1500ms"
            assert db.session.execute(text("SHOW search_path")).scalar() == "x_schema", \
                "the URL's own libpq options are kept"
            with pytest.raises(OperationalError, match="statement timeout"):
                db.session.execute(text("SELECT pg_sleep(3)"))
            db.session.rollback()
        else:  # SQLite's own bound is its busy timeout (app/services/platform/database.py)
            assert "connect_args" not in limited.config["SQLALCHEMY_ENGINE_OPTIONS"]
        db.session.remove()
        db.engine.dispose()
    with plain.app_context():  # migrations, imports, the scheduler: no limit unless chosen
        if db.engine.dialect.name == "postgresql":
            assert db.session.execute(text("SHOW statement_timeout")).scalar() == "0"
        db.session.remove()
        db.engine.dispose()
