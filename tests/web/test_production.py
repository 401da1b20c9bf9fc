"""Production is the default (issue 10, items 7–9): secrets required, no development pages,
Secure cookies and HSTS, rate limits in a store shared by every worker, ProxyFix hops."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from app import create_app
from tests import conftest
from tests.waiting import listening_socket
from tests.waiting import wait_for_http

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def captcha_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDREG_CAPTCHA", "on")


def test_without_medreg_env_the_app_is_production_and_refuses_to_start_without_secrets(
        tmp_path: Path, captcha_on: None) -> None:
    # As docs/deploy.md starts it: no MEDREG_ENV, no SECRET_KEY.
    bare = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"}
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(bare)
    with pytest.raises(RuntimeError, match="MEDREG_AUDIT_KEY"):
        create_app({**bare, "SECRET_KEY": "s" * 32})
    with pytest.raises(RuntimeError, match="RATELIMIT_STORAGE_URI"):
        create_app({**bare, "SECRET_KEY": "s" * 32, "MEDREG_AUDIT_KEY": "a" * 32})


def test_gunicorn_without_medreg_env_does_not_serve(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MEDREG_", "SECRET_KEY", "RATELIMIT_", "DATABASE_URL"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'g.db'}"
    out = subprocess.run([sys.executable, "-c", "from app import create_app; create_app()"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode != 0
    assert "SECRET_KEY" in out.stderr


def test_production_refuses_an_in_process_rate_limit_store(tmp_path: Path, captcha_on: None,
                                                           redis_url: str) -> None:
    for store in ("memory://", "", None):
        with pytest.raises(RuntimeError, match="RATELIMIT_STORAGE_URI"):
            create_app(conftest.production_config(tmp_path, redis_url, RATELIMIT_STORAGE_URI=store))
    with pytest.raises(RuntimeError, match="rate limits"):
        create_app(conftest.production_config(tmp_path, redis_url, RATELIMIT_ENABLED=False))


def test_production_has_no_outbox_page_and_no_log_mail(tmp_path: Path, captcha_on: None,
                                                        redis_url: str) -> None:
    with pytest.raises(RuntimeError, match="MEDREG_MAIL_BACKEND"):
        create_app(conftest.production_config(tmp_path, redis_url, MEDREG_MAIL_BACKEND="log"))
    prod = create_app(conftest.production_config(tmp_path, redis_url))
    assert prod.config["MEDREG_MAIL_BACKEND"] == "smtp"
    assert "dev.outbox_page" not in prod.view_functions
    assert prod.test_client().get("/dev/outbox").status_code == 404


def test_production_pages_carry_hsts_and_secure_cookies(tmp_path: Path, captcha_on: None,
                                                         redis_url: str) -> None:
    prod = create_app(conftest.production_config(tmp_path, redis_url))
    with prod.app_context():
        from flask_migrate import upgrade

        upgrade()
    resp = prod.test_client().get("/login")
    assert resp.status_code == 200
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cookies = [c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies and all("Secure" in c for c in cookies)


def test_development_is_chosen_explicitly(tmp_path: Path) -> None:
    dev = create_app(conftest.test_config(tmp_path, f"sqlite:///{tmp_path / 'd.db'}"))
    assert dev.config["MEDREG_ENV"] == "development"
    assert dev.config["MEDREG_MAIL_BACKEND"] == "log"
    with dev.app_context():
        from app.extensions import db

        db.create_all()
    assert "Strict-Transport-Security" not in dev.test_client().get("/login").headers


# ---- 8. one limit for all the workers ----------------------------------------------------

def _gunicorn_env(app: Flask, redis_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MEDREG_", "SECRET_KEY", "RATELIMIT_", "DATABASE_URL"))}
    env.update({"MEDREG_ENV": "production", "SECRET_KEY": "p" * 40, "MEDREG_AUDIT_KEY": "a" * 40,
                "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "MEDREG_SCHEDULER": "off",
                "MEDREG_MAIL_BACKEND": "smtp",
                "MEDREG_UPLOAD_DIR": app.config["MEDREG_UPLOAD_DIR"],
                "RATELIMIT_STORAGE_URI": redis_url, **extra})
    return env


def _cookie(resp: requests.Response) -> str:
    """The session cookie, sent back by hand (it is Secure, and this is plain http)."""
    m = re.search(r"session=([^;]+)", resp.headers.get("Set-Cookie", ""))
    assert m, resp.headers
    return m.group(1)


def test_the_sign_in_limit_holds_across_four_production_workers(app: Flask, clean_db: None,
                                                                 redis_url: str) -> None:
    import uuid

    sock = listening_socket()
    port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "4", "-b", f"fd://{sock.fileno()}", "--timeout", "60",
         "app:create_app()"], cwd=ROOT, pass_fds=[sock.fileno()],
        env=_gunicorn_env(app, redis_url, RATELIMIT_KEY_PREFIX=uuid.uuid4().hex),  # this run's own counters
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sock.close()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(base + "/login", "gunicorn (4 production workers)", processes=[proc])
        first = requests.get(base + "/login", timeout=30)
        token = re.search(r'name="csrf_token" value="([^"]+)"', first.text).group(1)
        cookie = _cookie(first)
        statuses: Counter[int] = Counter()
        for _ in range(120):  # a minute's worth of guessing from one address
            r = requests.post(base + "/login", timeout=30, allow_redirects=False,
                              headers={"Cookie": f"session={cookie}"},
                              data={"csrf_token": token, "username": "nobody1", "password": "x",
                                    "captcha": "AAAA"})
            statuses[r.status_code] += 1
            if "Set-Cookie" in r.headers and "session=" in r.headers["Set-Cookie"]:
                cookie = _cookie(r)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert statuses[400] == 0, statuses  # every post carried a valid token
    assert statuses[429] >= 100, statuses
    assert sum(n for code, n in statuses.items() if code != 429) <= 20, statuses


# ---- 9. behind a reverse proxy -------------------------------------------------------------

@pytest.fixture()
def limited() -> Iterator[Callable[[Flask, Path, int], Flask]]:
    """Apps on the session's database with limits on and ``hops`` trusted proxies (their
    engines are closed afterwards, so no connection is left to the garbage collector)."""
    made: list[Flask] = []

    def make(app: Flask, tmp_path: Path, hops: int) -> Flask:
        from app.extensions import limiter

        new = create_app({**conftest.test_config(tmp_path, app.config["SQLALCHEMY_DATABASE_URI"]),
                          "RATELIMIT_ENABLED": True, "MEDREG_PROXY_HOPS": hops,
                          "WTF_CSRF_ENABLED": False})
        limiter.reset()
        made.append(new)
        return new

    yield make
    from app.extensions import db

    for new in made:
        with new.app_context():
            db.session.remove()
            db.engine.dispose()


def _sms_posts(client: Any, addr: str, n: int) -> list[int]:
    out = []
    for _ in range(n):
        out.append(client.post("/account/recover/mobile", headers={"X-Forwarded-For": addr},
                               data={"action": "send", "target": "13900000000"}).status_code)
    return out


def test_behind_one_proxy_each_client_address_has_its_own_limit(app: Flask, clean_db: None, tmp_path: Path,
                                                                 limited: Any) -> None:
    client = limited(app, tmp_path, 1).test_client()
    assert 429 in _sms_posts(client, "203.0.113.7", 7)  # "5 per minute" per address
    assert 429 not in _sms_posts(client, "198.51.100.9", 5)  # another person behind nginx


def test_without_trusted_hops_a_forged_forwarded_for_changes_nothing(app: Flask, clean_db: None,
                                                                      tmp_path: Path, limited: Any) -> None:
    client = limited(app, tmp_path, 0).test_client()
    assert 429 in _sms_posts(client, "203.0.113.7", 7)
    assert _sms_posts(client, "198.51.100.9", 1) == [429]  # the header is not believed


def test_production_refuses_demo_accounts_and_weak_hashes(tmp_path: Path, captcha_on: None,
                                                         redis_url: str) -> None:
    with pytest.raises(RuntimeError, match="MEDREG_FAST_HASH"):
        create_app(conftest.production_config(tmp_path, redis_url, MEDREG_FAST_HASH=True))
    prod = create_app(conftest.production_config(tmp_path, redis_url, MEDREG_FAST_HASH=False))
    with prod.app_context():
        from flask_migrate import upgrade

        upgrade()
    result = prod.test_cli_runner().invoke(args=["seed", "--demo"])
    assert result.exit_code != 0 and "只能在开发环境" in result.output
    result = prod.test_cli_runner().invoke(args=["seed"])  # reference data only
    assert result.exit_code == 0 and "演示账户" not in result.output
