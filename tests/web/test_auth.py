"""Sign-in, roles, CSRF and headers."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy import text

from app.extensions import db
from app.models import User
from tests.conftest import WebClient
from tests.factories import World
from tests.statements import plan_of
from tests.statements import sent_of


def test_login_page_is_chinese(web: WebClient) -> None:
    resp = web.get("/login")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "医师电子化注册信息系统" in text and "登录" in text
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]


def test_wrong_password_keeps_username_and_says_why(web: WebClient, web_world: World) -> None:
    resp = web.login("doctor01", "wrong")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 401 and "用户名或密码错误" in text and 'value="doctor01"' in text


@pytest.mark.parametrize(("username", "url", "status"), [
    ("doctor01", "/inbox/", 403),
    ("doctor01", "/admin/", 403),
    ("jigou01", "/physician/", 403),
    ("jigou01", "/admin/calendar", 403),
    ("weijian01", "/physician/apply", 403),
    ("admin01", "/inbox/", 403),
    ("jigou01", "/inbox/", 200),
    ("weijian01", "/inbox/", 200),
    ("doctor01", "/physician/", 200),
    ("admin01", "/admin/", 200),
])
def test_each_role_reaches_only_its_pages(web: WebClient, web_world: World, username: str,
                                          url: str, status: int) -> None:
    web.login(username)
    assert web.get(url).status_code == status


def test_anonymous_is_sent_to_login(web: WebClient) -> None:
    resp = web.get("/physician/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_post_without_csrf_token_is_refused(web: WebClient, web_world: World) -> None:
    resp = web.client.post("/login", data={"username": "doctor01", "password": "Passw0rd1"})
    assert resp.status_code == 400 and "页面已过期" in resp.get_data(as_text=True)


def test_no_open_redirect_after_login(web: WebClient, web_world: World) -> None:
    web.get("/login")
    resp = web.post("/login?next=//evil.example/x", {"username": "doctor01",
                                                      "password": "Passw0rd1"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/physician/"


def test_session_is_renewed_at_login(web: WebClient, web_world: World) -> None:
    web.get("/login")
    before = web.client.get_cookie("session")
    web.login("doctor01")
    after = web.client.get_cookie("session")
    assert before is not None and after is not None and before.value != after.value


def test_dev_outbox_only_with_the_log_backend(web: WebClient, app: object,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    assert web.get("/dev/outbox").status_code == 200
    monkeypatch.setitem(app.config, "MEDREG_MAIL_BACKEND", "smtp")  # type: ignore[attr-defined]
    assert web.get("/dev/outbox").status_code == 404


def _migration_0030():  # type: ignore[no-untyped-def]
    import importlib.util
    from pathlib import Path
    path = Path(__file__).parents[2] / "migrations" / "versions" / "0030_username_lower_case.py"
    spec = importlib.util.spec_from_file_location("m0030", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_upgrade(app: Flask, stored: dict[str, str]) -> list[str]:
    """Give accounts the names ``stored`` (old name -> name as an older release stored it),
    run migration 0030's upgrade, and return every user name afterwards."""
    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    module = _migration_0030()
    with app.app_context():
        for old, name in stored.items():  # raw SQL: the model would store the canonical case
            db.session.execute(text("UPDATE user_account SET username = :n WHERE username = :o"),
                               {"n": name, "o": old})
        db.session.commit()
        try:
            with Operations.context(MigrationContext.configure(db.session.connection())):
                module.downgrade()
                try:
                    module.upgrade()
                except RuntimeError:
                    module._create_indexes()  # the schema as the other tests expect it
                    db.session.commit()
                    raise
            db.session.commit()
        finally:
            db.session.rollback()
            names = list(db.session.scalars(select(User.username).order_by(User.username)))
            db.session.remove()
    return names


def test_sign_in_ignores_the_case_of_the_user_name(web: WebClient, web_world: World) -> None:
    # R-50 (DOMAIN §5 用户名 [Guide], 指南 FAQ 用户名/手机号码/资格证书编码): a user name is
    # unique whatever its case, so the name signs in however its letters are typed
    resp = web.login("Doctor01")
    assert resp.status_code == 302 and resp.headers["Location"] == "/physician/"
    assert "医师" in web.get("/physician/").get_data(as_text=True)


@pytest.mark.parametrize("login", ["Doctor01", "13800000001", "{cert_no}"])
def test_each_way_of_signing_in_is_an_index_lookup(app: Flask, web: WebClient, web_world: World,
                                                   login: str) -> None:
    # issue 14 goal 5 (3M accounts at national volume), 指南 FAQ 用户名/手机号码/资格证书编码:
    # the account is found by three index lookups, not a scan of every account
    with app.app_context():
        doctor = db.session.get(User, web_world.doctor_id)
        assert doctor is not None and doctor.qualification is not None
        doctor.mobile, doctor.mobile_verified = "13800000001", True
        login = login.format(cert_no=doctor.qualification.cert_no)
        db.session.commit()
        db.session.remove()
    web.get("/login")
    sent, resp = sent_of(app, lambda: web.post("/login", {"username": login, "password": "Passw0rd1"}))
    assert resp.status_code == 302 and resp.headers["Location"] == "/physician/"
    [(find, params)] = [(s, p) for s, p in sent if "UNION ALL" in s]
    plan = plan_of(app, find, params)
    assert "Seq Scan" not in plan and not re.search(r"SCAN user_account(?! USING)", plan), plan
    for index in ("username", "mobile", "qualification_id"):
        assert re.search(rf"uq_user_account_{index}|ix_user_account_{index}|INDEX \S+ \({index}=", plan), plan


def test_the_migration_lower_cases_the_names_stored_before(app: Flask, web: WebClient, web_world: World) -> None:
    # issue 14 goal 5 / R-50: accounts created before 0029 with capitals keep signing in, with
    # the case they always typed
    names = _run_upgrade(app, {"doctor01": "Doctor01", "jigou01": "JiGou01"})
    assert "doctor01" in names and "jigou01" in names and not [n for n in names if n != n.lower()]
    assert web.login("Doctor01").status_code == 302
    assert web.get("/physician/").status_code == 200


def test_the_migration_stops_on_names_that_differ_only_in_case(app: Flask, web: WebClient,
                                                              web_world: World) -> None:
    # two accounts "Doctor01" and "doctor01" cannot both keep their name; the upgrade
    # stops naming both and changes nothing (no silent merge of two people's accounts)
    with pytest.raises(RuntimeError, match="differ only in case") as clash:
        _run_upgrade(app, {"doctor01": "Doctor01", "jigou01": "doctor01", "weijian01": "WeiJian01"})
    message = str(clash.value)
    assert type(clash.value).__name__ == "UsernameClash"
    assert "Doctor01 (id" in message and "doctor01 (id" in message and "rename" in message
    with app.app_context():
        names = set(db.session.scalars(select(User.username)))
        db.session.remove()
    assert {"Doctor01", "doctor01", "WeiJian01"} <= names  # nothing was changed
