"""CSRF on every POST route, session renewal at sign-in, open redirects, security headers,
cookies, error pages without internals, and the audit chain's tamper check."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy import text
from werkzeug.routing import Rule

from app import create_app
from app.extensions import db
from app.models import AuditEvent
from app.models import Role
from tests import conftest
from tests.conftest import WebClient
from tests.factories import PASSWORD
from tests.factories import make_user
from tests.hostile.conftest import Rich
from tests.hostile.payloads import TRACE
from tests.hostile.payloads import changed
from tests.hostile.payloads import snapshot

# ---- CSRF -----------------------------------------------------------------------------

WHO = {"physician": "doctor01", "inbox": "jigou01", "institution": "jigouadmin", "admin": "admin01",
       "account": "doctor01", "auth": "doctor01", "messages": "doctor01", "public": None}
ANONYMOUS = {"auth.login", "account.register", "account.register_account", "account.recover_by_contact",
             "account.recover_by_identity", "public.search"}


def _post_rules(app: Flask) -> list[Rule]:
    return sorted((r for r in app.url_map.iter_rules() if "POST" in (r.methods or set())),
                  key=lambda r: r.rule)


def _urls(rule: Rule, rich: Rich, staff_id: int) -> list[str]:
    """The rule filled with real ids of the world (every choice of an ``any`` part)."""
    values: dict[str, Any] = {"instance_id": rich.instance_id, "task_id": rich.task_id,
                              "registration_id": rich.registration_id, "user_id": staff_id,
                              "department_id": rich.world.department_id, "job_id": 1,
                              "process_id": "registration", "channel": "mobile", "version": 1,
                              "case_key": "approved", "message_id": 1}
    urls = [rule.rule]
    for arg, conv in rule._converters.items():  # noqa: SLF001 - the URL map is the spec
        options = list(getattr(conv, "items", [])) or [values[arg]]
        urls = [u.replace(re.search(rf"<[^>]*\b{arg}>", u).group(0), str(o))  # type: ignore[union-attr]
                for u in urls for o in options]
    return urls


FORM = {"decision": "confirm", "paper_held": "on",
        "reason": "工作调动原因", "comment": "备注内容", "username": "doctor01",
        "password": PASSWORD, "confirm": PASSWORD, "old": PASSWORD, "code": "77", "name": "新科室",
        "subject_code": "0300", "year": "2027", "role": "institution", "display_name": "新账户",
        "org_code": "R-140-1", "action": "department", "note": "说明", "kind": "institutions",
        "target": "13912345678", "path": "B", "cert_no": "110140100000321", "id_number": "x"}


def test_every_post_route_refuses_a_request_without_the_token(app: Flask, rich: Rich) -> None:
    with app.app_context():
        staff = make_user("jigouadmin", Role.INSTITUTION, "医务科主任",
                          institution_id=rich.world.hospital_id, org_admin=True)
        make_user("jigou09", Role.INSTITUTION, "医务科", institution_id=rich.world.hospital_id)
        db.session.commit()
        staff_id = staff.id + 1
        db.session.remove()
    rules = _post_rules(app)
    assert len(rules) >= 35  # the whole map, not a sample
    clients: dict[str | None, WebClient] = {}
    tried = 0
    for rule in rules:
        who = None if rule.endpoint in ANONYMOUS else WHO[rule.endpoint.split(".")[0]]
        if who not in clients:
            clients[who] = WebClient(app.test_client())
            if who:
                assert clients[who].login(who).status_code == 302
        web = clients[who]
        for url in _urls(rule, rich, staff_id):
            before = snapshot(app)
            for kwargs in ({"data": {**FORM, "department_id": str(rich.world.department_id),
                                     "task_id": str(rich.task_id)}},
                           {"data": {**FORM, "csrf_token": "forged." + "A" * 40}},
                           {"json": {"xml": "<x/>", "forms": {}, "revision": 0, "schema": {}}}):
                resp = web.client.post(url, **kwargs)
                body = resp.get_data(as_text=True)
                assert resp.status_code == 400, (url, kwargs, resp.status_code)
                assert "页面已过期" in body and not TRACE.search(body), url
                tried += 1
            assert changed(before, snapshot(app)) == {}, url
    assert tried >= 3 * 45
    # the sessions are still signed in: not even 退出 worked without the token
    assert clients["doctor01"].get("/physician/").status_code == 200


def test_a_token_from_another_session_is_refused(app: Flask, rich: Rich) -> None:
    attacker, victim = WebClient(app.test_client()), WebClient(app.test_client())
    attacker.login("jigou01")
    victim.login("jigou01")
    before = snapshot(app)
    resp = victim.client.post(f"/inbox/tasks/{rich.task_id}/complete",
                              data={"decision": "confirm", "paper_held": "on", "csrf_token": attacker.token})
    assert resp.status_code == 400 and "页面已过期" in resp.get_data(as_text=True)
    assert changed(before, snapshot(app)) == {}


# ---- sessions --------------------------------------------------------------------------


def test_the_session_is_renewed_at_sign_in(app: Flask, web: WebClient, rich: Rich) -> None:
    web.get("/account/register")
    web.post("/account/register", {"name": "王建国", "id_number": "140105196501010115"})
    fixed = web.client.get_cookie("session")
    assert fixed is not None
    old_token = web.token
    resp = web.post("/login", {"username": "doctor01", "password": PASSWORD})
    assert resp.status_code == 302
    renewed = web.client.get_cookie("session")
    assert renewed is not None and renewed.value != fixed.value
    # whoever planted or read the cookie before sign-in gets nothing with it
    planted = app.test_client()
    planted.set_cookie("session", fixed.value)
    resp = planted.get("/physician/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    # what was in the session before sign-in is gone: the pending sign-up and the CSRF token
    assert web.client.get("/account/register/account").headers["Location"].endswith("/account/register")
    before = snapshot(app)
    resp = web.client.post("/physician/profile", data={"action": "department", "csrf_token": old_token,
                                                       "department_id": str(rich.world.department_id)})
    assert resp.status_code == 400
    assert changed(before, snapshot(app)) == {}


def test_signing_out_clears_the_session(app: Flask, web: WebClient, rich: Rich) -> None:
    web.login("doctor01")
    resp = web.post("/logout")
    assert resp.status_code == 302
    assert web.client.get("/physician/").status_code == 302
    cookie = web.client.get_cookie("session")
    assert cookie is None or "_user_id" not in cookie.value


@pytest.mark.parametrize("target", [
    "https://evil.example/", "http://evil.example", "//evil.example", "///evil.example",
    "/\\evil.example", "\\\\evil.example", "/\\/evil.example", "\\/evil.example", "/\t/evil.example",
    "/\n/evil.example", " //evil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>", "https:evil.example", "http:/\\evil.example",
    "//evil.example@medreg.example", "/%0d%0aSet-Cookie:x=1", "\x00//evil.example", "/\x7f/evil.example",
])
def test_sign_in_never_redirects_off_site(app: Flask, web: WebClient, rich: Rich, target: str) -> None:
    web.get("/login")
    resp = web.post("/login", {"username": "doctor01", "password": PASSWORD},
                    query_string={"next": target})
    assert resp.status_code == 302
    location = resp.headers["Location"]
    browser = re.sub(r"[\t\n\r]", "", location).replace("\\", "/").strip()
    parts = urlsplit(browser)
    assert not parts.scheme and not parts.netloc and not browser.startswith("//"), location
    assert "\r" not in location and "\n" not in location
    assert not any("x=1" in c for c in resp.headers.getlist("Set-Cookie"))
    # a browser following it stays here (a kept path is harmless: "/%5Cevil.example" is a path)
    assert location == "/physician/" or location.startswith("/%"), location


def test_a_same_site_next_is_kept(app: Flask, web: WebClient, rich: Rich) -> None:
    web.get("/login")
    resp = web.post("/login", {"username": "doctor01", "password": PASSWORD},
                    query_string={"next": "/physician/applications"})
    assert resp.headers["Location"] == "/physician/applications"


# ---- headers, cookies, error pages -------------------------------------------------------

HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}


def _secure_headers(resp: Any) -> None:
    for name, value in HEADERS.items():
        assert resp.headers.get(name) == value, (name, resp.status_code)
    csp = resp.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-eval" not in csp
    assert resp.headers.get("Referrer-Policy") in ("same-origin", "no-referrer", "strict-origin-when-cross-origin")


def test_security_headers_everywhere(app: Flask, web: WebClient, rich: Rich) -> None:
    answers = [web.get("/login"), web.client.get("/static/app.css"), web.get("/nope"),
               web.client.get("/logout"), web.client.post("/login", data={}),
               web.get("/public/register"), web.get("/physician/")]
    web.login("doctor01")
    answers += [web.get("/physician/"), web.get("/admin/"), web.get("/physician/apply/nope"),
                web.client.get("/physician/applications/99999")]
    codes = {a.status_code for a in answers}
    assert {200, 302, 400, 403, 404, 405} <= codes
    for resp in answers:
        _secure_headers(resp)
        resp.close()


def _error_page(resp: Any, code: int, title: str) -> None:
    body = resp.get_data(as_text=True)
    assert resp.status_code == code and title in body
    assert not TRACE.search(body) and "Werkzeug Debugger" not in body and "Traceback" not in body
    _secure_headers(resp)


def test_error_pages_show_no_internals(app: Flask, web: WebClient, rich: Rich) -> None:
    _error_page(web.get("/no/such/page"), 404, "页面不存在")
    _error_page(web.client.get("/logout"), 405, "请求方式错误")
    _error_page(web.client.post("/login", data={}), 400, "页面已过期")
    _error_page(web.client.post("/login", data=b"x" * (17 * 1024 * 1024),
                                content_type="application/x-www-form-urlencoded"), 413, "文件过大")
    web.login("doctor01")
    _error_page(web.get("/admin/"), 403, "无权访问")
    _error_page(web.client.get("/physician/applications/99999"), 404, "")


def test_an_unexpected_failure_shows_the_chinese_500_page(tmp_path: Path) -> None:
    """A fresh app with one route that fails (the only way to reach the 500 page: every real
    failure found by the hostile suite is now answered by a 4xx)."""
    broken = create_app({**conftest.test_config(tmp_path, f"sqlite:///{tmp_path / 'x.db'}"),
                         "TESTING": False, "PROPAGATE_EXCEPTIONS": False})

    @broken.route("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals: /etc/medreg password=hunter2")

    resp = broken.test_client().get("/boom")
    _error_page(resp, 500, "系统繁忙")
    assert "hunter2" not in resp.get_data(as_text=True) and "RuntimeError" not in resp.get_data(as_text=True)


def test_session_cookie_flags(app: Flask, web: WebClient, rich: Rich) -> None:
    for resp in (web.get("/login"), web.post("/login", {"username": "doctor01", "password": PASSWORD})):
        cookies = [c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session=")]
        assert cookies, resp.status_code
        for c in cookies:
            assert "HttpOnly" in c and "SameSite=Lax" in c, c


def test_production_session_cookie_is_secure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            redis_url: str) -> None:
    monkeypatch.setenv("MEDREG_CAPTCHA", "on")
    prod = create_app(conftest.production_config(tmp_path, redis_url))
    with prod.app_context():
        db.create_all()
    resp = prod.test_client().get("/login")
    cookies = [c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies and all("Secure" in c and "HttpOnly" in c for c in cookies), cookies


# ---- the audit chain ---------------------------------------------------------------------


def _audited_actions(app: Flask, rich: Rich) -> None:
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    assert staff.post("/institution/departments", {"code": "77", "name": "审计科",
                                                   "subject_code": "0300"}).status_code == 302
    assert staff.post(f"/inbox/applications/{rich.instance_id}/comments",
                      {"comment": "已核对<script>x</script>", "task_id": str(rich.task_id)}).status_code == 302
    assert staff.post(f"/inbox/tasks/{rich.task_id}/complete",
                      {"decision": "confirm", "paper_held": "on"}).status_code == 302


def test_audit_verify_reports_an_intact_chain_then_a_tampered_row(app: Flask, rich: Rich) -> None:
    # 行政许可法 第六十一条; DOMAIN [S10]: every step is audited and a changed or removed record is found
    _audited_actions(app, rich)
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "审计日志完整" in ok.output, ok.output
    with app.app_context():
        ids = list(db.session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))
        assert len(ids) >= 5  # submit, login, department, comment, confirmation
        victim = ids[len(ids) // 2]
        detail = json.dumps({"decision": "refuse"})
        db.session.execute(text("UPDATE audit_event SET detail = :d WHERE id = :i"), {"d": detail, "i": victim})
        db.session.commit()
        db.session.remove()
    bad = runner.invoke(args=["audit", "verify"])
    assert bad.exit_code == 1 and "审计日志被篡改" in bad.output and str(victim) in bad.output, bad.output


@pytest.mark.parametrize("tamper", [
    "UPDATE audit_event SET actor_name = 'admin01' WHERE id = :i",
    "UPDATE audit_event SET at = '2020-01-01 00:00:00' WHERE id = :i",
    "DELETE FROM audit_event WHERE id = :i",
    "UPDATE audit_event SET object_id = '999' WHERE id = :i",
])
def test_audit_verify_catches_each_kind_of_tampering(app: Flask, rich: Rich, tamper: str) -> None:
    _audited_actions(app, rich)
    with app.app_context():
        ids = list(db.session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))
        db.session.execute(text(tamper), {"i": ids[1]})
        db.session.commit()
        db.session.remove()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "审计日志被篡改" in result.output, result.output


def test_the_real_flask_command_reports_the_same(app: Flask, rich: Rich) -> None:
    """``flask --app app audit verify`` as an operator runs it, on the test database."""
    _audited_actions(app, rich)
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "MEDREG_CAPTCHA": "off",
           "MEDREG_ENV": "development",
           "MEDREG_UPLOAD_DIR": app.config["MEDREG_UPLOAD_DIR"]}
    flask = str(Path(sys.executable).with_name("flask"))
    ok = subprocess.run([flask, "--app", "app", "audit", "verify"], env=env, capture_output=True, text=True,
                        timeout=60, check=False)
    assert ok.returncode == 0 and "审计日志完整" in ok.stdout, ok.stderr[-2000:]
    with app.app_context():
        last = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()))
        db.session.execute(text("UPDATE audit_event SET action = 'task.nothing' WHERE id = :i"), {"i": last})
        db.session.commit()
        db.session.remove()
    bad = subprocess.run([flask, "--app", "app", "audit", "verify"], env=env, capture_output=True, text=True,
                         timeout=60, check=False)
    assert bad.returncode == 1 and "审计日志被篡改" in bad.stdout and str(last) in bad.stdout, bad.stderr[-2000:]
