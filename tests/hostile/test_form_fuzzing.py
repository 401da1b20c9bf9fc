"""Every form that takes user input, fed hostile values by hypothesis.

For each answer: never a 5xx nor a stack trace, markup we sent is only ever shown escaped,
and an answer that refuses the input (4xx, or a redirect back with a warning) leaves every
table exactly as it was.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import assume
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.models import ProcessInstance
from app.models import Role
from app.models import User
from app.services.platform.seed import make_resident_id
from tests.conftest import WebClient
from tests.factories import PDF
from tests.factories import World
from tests.factories import make_user
from tests.hostile.conftest import Rich
from tests.hostile.payloads import FUZZ
from tests.hostile.payloads import HUGE
from tests.hostile.payloads import MARKUP
from tests.hostile.payloads import assert_sane
from tests.hostile.payloads import changed
from tests.hostile.payloads import field_values
from tests.hostile.payloads import form_of
from tests.hostile.payloads import post
from tests.hostile.payloads import snapshot
from tests.hostile.payloads import text_value

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

FORMS = Path(__file__).resolve().parents[2] / "forms"
APPLY_TYPES = ["registration", "upgrade", "military_in", "to_military", "change", "cancellation",
               "filing", "filing_cancel", "legacy_cancel", "reissue"]
FILE_NAMES = ["申请审核表.pdf", "../../../etc/passwd", "..\\..\\boot.ini.pdf", "/etc/shadow.pdf",
              "a\x00.pdf", "<script>alert('hx9')</script>.pdf", "CON.pdf", ".pdf", "x" * 400 + ".pdf",
              "evil.php.pdf", "shell.PDF ", "😀.jpg", "photo.jpeg", "a.png", "noext", ""]
FILE_BODIES = [PDF, b"", b"GIF89a\x01\x00\x01\x00", b"<html><script>alert(1)</script></html>",
               b"\xff\xd8\xff\xe0" + b"\x00" * 32, b"\x89PNG\r\n\x1a\n", b"%PDF-" + b"A" * 70_000,
               b"PK\x03\x04" + b"\x00" * 40, PDF + b"<?php system($_GET['c']); ?>"]
files_of = st.lists(st.tuples(st.sampled_from(FILE_BODIES), st.sampled_from(FILE_NAMES)), max_size=2)


def _schema(form_id: str) -> dict[str, Any]:
    return json.loads((FORMS / f"{form_id}.json").read_text(encoding="utf-8"))


def _fields(form_id: str) -> tuple[list[str], list[str]]:
    """(plain fields, attachment fields) of a form."""
    props = _schema(form_id)["properties"]
    plain = [n for n, p in props.items() if not p.get("x-attachment")]
    return plain, [n for n, p in props.items() if p.get("x-attachment")]


FAILED_TRY_TABLES = {"user_account", "audit_event", "outbox_message"}


def _refused_unchanged(app: Flask, before: dict[str, list[str]], resp: Any, sent: Any,
                       counts_tries: bool = False) -> None:
    """Refused, and nothing changed (a wrong current password may only be counted as a
    failed try: the counter, its audit event and the owner's notice)."""
    assert resp.status_code in (400, 401, 403, 404, 409, 413, 422), (resp.status_code, sent)
    diff = changed(before, snapshot(app))
    if counts_tries:
        diff = {t: n for t, n in diff.items() if t not in FAILED_TRY_TABLES
                or (t == "user_account" and n != 0)}
    assert diff == {}, sent


def _password_hashes(app: Flask) -> list[str]:
    with app.app_context():
        rows = list(db.session.scalars(select(User.password_hash).order_by(User.id)))
        db.session.remove()
    return rows


def _login_doctor(web: WebClient) -> None:
    resp = web.login("doctor01")
    assert resp.status_code == 302


# ---- anonymous forms -----------------------------------------------------------------


def test_login_fuzz(app: Flask, web: WebClient, web_world: World) -> None:
    web.get("/login")
    before = snapshot(app)

    @FUZZ
    @given(form=form_of(["username", "password", "captcha"]), nxt=text_value)
    def run(form: dict[str, list[str]], nxt: str) -> None:
        assume(not any(v.strip() in ("doctor01", "doctor02", "jigou01", "jigou02", "weijian01",
                                     "weijian02", "admin01") for v in form.get("username", [])))
        resp = web.post("/login", form, query_string={"next": nxt})
        assert_sane(resp, [form, nxt])
        assert resp.status_code in (400, 401, 413), resp.status_code
        assert changed(before, snapshot(app)) == {}

    run()


def test_signup_step1_fuzz(app: Flask, web: WebClient, web_world: World) -> None:
    web.get("/account/register")
    before = snapshot(app)

    @FUZZ
    @given(form=form_of(["name", "id_number", "captcha"]))
    def run(form: dict[str, list[str]]) -> None:
        resp = web.post("/account/register", form)
        assert_sane(resp, form)
        # step 1 only remembers the identity in the session: the database never changes
        assert resp.status_code in (302, 400, 413, 422)
        assert changed(before, snapshot(app)) == {}

    run()


def test_signup_step2_fuzz(app: Flask, web: WebClient, web_world: World) -> None:
    def step1() -> None:
        web.get("/account/register")
        rid = make_resident_id("140105", date(1980, 5, 6), 17)
        assert web.post("/account/register", {"name": "王建国", "id_number": rid}).status_code == 302

    step1()
    before = snapshot(app)

    @FUZZ
    @given(form=form_of(["mobile", "email", "username", "password", "confirm"]))
    def run(form: dict[str, list[str]]) -> None:
        resp = web.post("/account/register/account", form)
        assert_sane(resp, form)
        if resp.status_code == 302 and resp.headers["Location"].endswith("/account/activate"):
            pytest.fail(f"an account was created from hostile input {form!r}")
        _refused_unchanged(app, before, resp, form)

    run()


@pytest.mark.parametrize("url", ["/account/recover/mobile", "/account/recover/email",
                                 "/account/recover/identity"])
def test_recovery_fuzz(app: Flask, web: WebClient, web_world: World, url: str) -> None:
    web.get(url)
    before = snapshot(app)

    @FUZZ
    @given(form=form_of(["action", "target", "code", "password", "confirm", "name", "id_number",
                         "cert_no", "captcha"]))
    def run(form: dict[str, list[str]]) -> None:
        resp = web.post(url, form)
        assert_sane(resp, form)
        assert resp.status_code in (200, 400, 413, 422)
        assert changed(before, snapshot(app)) == {}  # no hostile value names an account

    run()


def test_public_register_search_fuzz(app: Flask, web: WebClient, rich: Rich) -> None:
    web.get("/public/register")
    before = snapshot(app)

    @FUZZ
    @given(form=form_of(["name", "province", "institution", "cert_no", "captcha"]))
    def run(form: dict[str, list[str]]) -> None:
        resp = web.post("/public/register", form)
        body = assert_sane(resp, form)
        assert resp.status_code in (200, 400, 413, 422)
        assert changed(before, snapshot(app)) == {}
        assert "140105" not in body  # never an ID number, whatever was asked

    run()


# ---- the physician -------------------------------------------------------------------


@pytest.mark.parametrize("process_id", APPLY_TYPES)
def test_apply_form_fuzz(app: Flask, web: WebClient, rich: Rich, process_id: str) -> None:
    _login_doctor(web)
    assert web.get(f"/physician/apply/{process_id}").status_code == 200
    form_id = "military_in_apply" if process_id == "military_in" else f"{process_id}_apply"
    plain, attached = _fields(form_id)
    before = snapshot(app)

    @FUZZ
    @given(form=form_of(plain), files=st.dictionaries(st.sampled_from(attached), files_of, max_size=2)
           if attached else st.just({}))
    def run(form: dict[str, list[str]], files: dict[str, list[tuple[bytes, str]]]) -> None:
        resp = post(web, f"/physician/apply/{process_id}", {**form, **files}, multipart=True)
        assert_sane(resp, [form, files])
        if resp.status_code == 302:
            pytest.fail(f"an application was accepted from hostile input {form!r}")
        _refused_unchanged(app, before, resp, form)

    run()


def test_profile_forms_fuzz(app: Flask, web: WebClient, rich: Rich) -> None:
    _login_doctor(web)
    before = snapshot(app)

    @FUZZ
    @given(form=form_of(["education", "school", "major", "title", "department_id"]),
           action=st.sampled_from(["info", "department", "photo"]) | text_value)
    def run(form: dict[str, list[str]], action: str) -> None:
        resp = post(web, "/physician/profile", {**form, "action": action}, multipart=True)
        assert_sane(resp, [form, action])
        if resp.status_code == 302:
            # only a real department of the hospital may be saved
            assert action == "department" and form.get("department_id", [""])[0] == str(
                rich.world.department_id), form
            return
        _refused_unchanged(app, before, resp, [form, action])

    run()


@pytest.mark.parametrize("url", ["/account/security/password", "/account/security/mobile",
                                 "/account/security/email"])
def test_security_forms_fuzz(app: Flask, web: WebClient, rich: Rich, url: str) -> None:
    _login_doctor(web)
    web.get(url)
    before = snapshot(app)
    hashes = _password_hashes(app)

    @FUZZ
    @given(form=form_of(["old", "password", "confirm", "target", "code"]),
           action=st.sampled_from(["confirm", ""]) | text_value)
    def run(form: dict[str, list[str]], action: str) -> None:
        assume(action != "send")  # sending a code to a valid address is allowed to store it
        resp = web.post(url, {**form, "action": action})
        assert_sane(resp, [form, action])
        _refused_unchanged(app, before, resp, [form, action], counts_tries=url.endswith("password"))
        assert _password_hashes(app) == hashes

    run()


# ---- institution and commission staff ------------------------------------------------

TASK_DECISIONS = {"confirm", "return", "refuse"}
FIELD_NAMES = set(_schema("registration_apply")["properties"])


def test_inbox_task_completion_fuzz(app: Flask, web: WebClient, rich: Rich) -> None:
    web.login("jigou01")
    assert web.get(f"/inbox/tasks/{rich.task_id}").status_code == 200
    before = snapshot(app)

    @FUZZ
    @given(form=form_of(["decision", "note", "fields"]))
    def run(form: dict[str, list[str]]) -> None:
        assume(not any(v.strip() in TASK_DECISIONS for v in form.get("decision", [])[:1]))
        resp = post(web, f"/inbox/tasks/{rich.task_id}/complete", form, multipart=True)
        assert_sane(resp, form)
        _refused_unchanged(app, before, resp, form)

    run()


def test_inbox_task_with_a_valid_decision_and_hostile_fields(app: Flask, web: WebClient,
                                                               rich: Rich) -> None:
    web.login("jigou01")
    before = snapshot(app)

    @FUZZ
    @given(decision=st.sampled_from(["return", "refuse"]), note=field_values,
           fields=st.lists(text_value, min_size=1, max_size=3))
    def run(decision: str, note: list[str], fields: list[str]) -> None:
        assume(any(f.strip() and f.strip() not in FIELD_NAMES for f in fields))
        form = {"decision": [decision], "note": note, "fields": fields}
        resp = web.post(f"/inbox/tasks/{rich.task_id}/complete", form)
        assert_sane(resp, form)
        _refused_unchanged(app, before, resp, form)

    run()


def test_comment_fuzz(app: Flask, web: WebClient, rich: Rich) -> None:
    web.login("jigou01")
    url = f"/inbox/applications/{rich.instance_id}/comments"

    @FUZZ
    @given(comment=field_values, task_id=st.sampled_from([str(rich.task_id), ""]) | text_value)
    def run(comment: list[str], task_id: str) -> None:
        before = snapshot(app)
        form = {"comment": comment, "task_id": task_id}
        resp = web.post(url, form)
        assert_sane(resp, form)
        assert resp.status_code in (302, 400, 413)
        diff = changed(before, snapshot(app))
        text = comment[0].strip()
        if resp.status_code == 302 and 1 <= len(text) <= 1000:  # 400: task_id names no task
            assert diff == {"task_comment": 1, "audit_event": 1}
            page = web.get(resp.headers["Location"].split("#")[0])
            assert_sane(page, comment)
        else:
            assert diff == {}, form

    run()


def test_bulk_confirm_fuzz(app: Flask, web: WebClient, rich: Rich) -> None:
    web.login("jigou01")
    before = snapshot(app)

    @FUZZ
    @given(ids=st.lists(text_value, max_size=4))
    def run(ids: list[str]) -> None:
        assume(str(rich.task_id) not in [i.strip() for i in ids])
        resp = web.post("/inbox/bulk-confirm", {"task_id": ids})
        assert_sane(resp, ids)
        assert resp.status_code in (302, 400, 413)
        assert changed(before, snapshot(app)) == {}

    run()


@pytest.mark.parametrize("username", ["jigou01", "weijian01"])
def test_report_cancellation_fuzz(app: Flask, web: WebClient, rich: Rich, username: str) -> None:
    web.login(username)
    form_id = "cancellation_report" if username == "jigou01" else "cancellation_ex_officio_apply"
    plain, attached = _fields(form_id)
    before = snapshot(app)

    @FUZZ
    @given(form=form_of(plain), files=st.dictionaries(st.sampled_from(attached), files_of, max_size=1))
    def run(form: dict[str, list[str]], files: dict[str, list[tuple[bytes, str]]]) -> None:
        resp = post(web, "/inbox/cancel", {**form, **files}, multipart=True)
        assert_sane(resp, [form, files])
        _refused_unchanged(app, before, resp, form)

    run()


def test_departments_fuzz(app: Flask, web: WebClient, rich: Rich) -> None:
    web.login("jigou01")

    @FUZZ
    @given(form=form_of(["code", "name", "subject_code", "department_id"]))
    def run(form: dict[str, list[str]]) -> None:
        before = snapshot(app)
        resp = web.post("/institution/departments", form)
        assert_sane(resp, form)
        if resp.status_code == 302:  # saved: then it obeyed the rules and shows escaped
            name = form["name"][0].strip()
            assert 2 <= len(name) <= 60
            assert set(changed(before, snapshot(app))) <= {"department", "audit_event"}
            assert_sane(web.get("/institution/departments"), form)
        else:
            _refused_unchanged(app, before, resp, form)

    run()


def _staff_form_test(app: Flask, web: WebClient, url: str) -> None:
    @FUZZ
    @given(form=form_of(["role", "username", "display_name", "org_code", "org_admin"]))
    def run(form: dict[str, list[str]]) -> None:
        before = snapshot(app)
        resp = web.post(url, form)
        assert_sane(resp, form)
        if resp.status_code == 302:
            assert set(changed(before, snapshot(app))) == {"user_account", "audit_event"}  # (the table is user_account)
            assert_sane(web.get(url), form)
        else:
            _refused_unchanged(app, before, resp, form)

    run()


def test_institution_staff_fuzz(app: Flask, web: WebClient, rich: Rich) -> None:
    with app.app_context():
        make_user("jigouadmin", Role.INSTITUTION, "医务科主任", institution_id=rich.world.hospital_id,
                  org_admin=True)
        db.session.commit()
        db.session.remove()
    web.login("jigouadmin")
    _staff_form_test(app, web, "/institution/staff")


# ---- the administrator ---------------------------------------------------------------


def test_admin_users_fuzz(app: Flask, web: WebClient, rich: Rich) -> None:
    web.login("admin01")
    _staff_form_test(app, web, "/admin/users")


def test_admin_calendar_fuzz(app: Flask, web: WebClient, rich: Rich) -> None:
    web.login("admin01")
    dates = st.lists(st.dates().map(str) | text_value, max_size=5).map(", ".join)

    @FUZZ
    @given(year=st.sampled_from(["2027", "1999", "2101"]) | text_value, off=dates | text_value,
           work=dates | text_value, extra=form_of(["note"]))
    def run(year: str, off: str, work: str, extra: dict[str, list[str]]) -> None:
        before = snapshot(app)
        form = {**extra, "year": year, "days_off": off, "makeup_days": work}
        resp = web.post("/admin/calendar", form)
        assert_sane(resp, form)
        if resp.status_code == 302:
            assert year.isdecimal() and 2000 <= int(year) <= 2100
            assert set(changed(before, snapshot(app))) <= {"audit_event"}  # days are reference data
        else:
            _refused_unchanged(app, before, resp, form)

    run()


CSV_BODIES = [
    b"", b"\xff\xfe\x00\x00garbage", "登记号,机构名称\r\n1,2\r\n".encode(),
    "\ufeff资格证书编码,姓名\r\n".encode(), b"a,b,c\r\n" * 3, b"\x00\x00\x00",
    ("登记号,机构名称,机构类别,所在地区划代码,登记机关区划代码\r\n" + "R1," + "x" * 140_000 + ",a,b,c\r\n").encode(),
    ("登记号,机构名称,机构类别,所在地区划代码,登记机关区划代码\r\n\"unterminated,\r\n").encode(),
    "登记号,机构名称,机构类别,所在地区划代码,登记机关区划代码\r\n=cmd|' /C calc'!A0,<script>hx</script>,a,1,2\r\n"
    .encode("gb18030"),
]


def test_admin_import_upload_fuzz(app: Flask, web: WebClient, rich: Rich) -> None:
    web.login("admin01")

    @FUZZ
    @given(kind=st.sampled_from(["institutions", "qualifications", "registrations"]) | text_value,
           body=st.sampled_from(CSV_BODIES) | st.binary(max_size=300), name=st.sampled_from(FILE_NAMES))
    def run(kind: str, body: bytes, name: str) -> None:
        before = snapshot(app)
        resp = post(web, "/admin/imports", {"kind": kind, "file": (body, name)}, multipart=True)
        assert_sane(resp, [kind, name])
        if resp.status_code == 302:
            assert set(changed(before, snapshot(app))) == {"import_job", "audit_event"}
            job = web.get(resp.headers["Location"])
            assert_sane(job, [kind, name, body.decode("utf-8", "replace")])
            step = web.post(resp.headers["Location"] + "/step")
            assert_sane(step, body.decode("utf-8", "replace"))
            assert_sane(web.get(resp.headers["Location"] + "/errors.csv"), [])
        else:
            _refused_unchanged(app, before, resp, [kind, name])

    run()


def test_admin_instance_actions_fuzz(app: Flask, web: WebClient, rich: Rich) -> None:
    web.login("admin01")
    before = snapshot(app)
    blank = st.text(alphabet=" \t\r\n\u3000\u00a0\u2028\x0b\x0c", max_size=20)

    @FUZZ
    @given(action=st.sampled_from(["suspend", "terminate"]),
           reason=st.builds(lambda b, rest: [b, *rest], blank, st.lists(text_value, max_size=2)))
    def run(action: str, reason: list[str]) -> None:
        resp = web.post(f"/admin/instances/{rich.instance_id}/{action}", {"reason": reason})
        assert_sane(resp, reason)
        assert resp.status_code == 302
        assert changed(before, snapshot(app)) == {}, reason  # a reason is required

    run()
    resp = web.post(f"/admin/instances/{rich.instance_id}/terminate", {"reason": MARKUP})
    assert resp.status_code == 302
    assert_sane(web.get(resp.headers["Location"]), MARKUP)


# ---- list pages: hostile query strings -------------------------------------------------

LISTS = [("jigou01", "/inbox/", ["type", "step", "due", "claim", "name", "sort", "q"]),
         ("weijian01", "/inbox/", ["type", "step", "due", "claim", "name", "sort"]),
         ("admin01", "/admin/instances", ["process_id", "state", "q", "before"]),
         ("admin01", "/admin/users", ["role", "q", "before"]),
         ("jigou01", "/institution/rosters/main", ["q"])]


@pytest.mark.parametrize(("username", "url", "params"), LISTS)
def test_list_filters_fuzz(app: Flask, web: WebClient, rich: Rich, username: str, url: str,
                           params: list[str]) -> None:
    web.login(username)
    before = snapshot(app)

    @FUZZ
    @given(args=form_of(params))
    def run(args: dict[str, list[str]]) -> None:
        args = {k: [v[:2000] for v in vs] for k, vs in args.items()}
        resp = web.get(url, query_string=args)
        assert_sane(resp, args)
        assert resp.status_code in (200, 400, 404, 414)
        assert changed(before, snapshot(app)) == {}

    run()


def test_markup_in_a_valid_application_is_stored_but_shown_escaped(app: Flask, web: WebClient,
                                                                    rich: Rich) -> None:
    """A hostile but valid value (the 变更 reason) goes all the way to the institution's page."""
    _login_doctor(web)
    reason = "工作调动" + "".join(MARKUP)
    resp = post(web, "/physician/apply/to_military", {
        "registration_id": str(rich.registration_id), "military_unit": "某部" + MARKUP[0],
        "effective_date": "2026-01-05", "declare_true": "on",
        "transfer_order": (PDF + b"2", MARKUP[-1] + ".pdf")}, multipart=True)
    assert resp.status_code == 302, re.findall(r'class="error"[^>]*>([^<]+)', resp.get_data(as_text=True))
    assert_sane(web.get(resp.headers["Location"]), [reason])
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    inbox = staff.get("/inbox/")
    assert_sane(inbox, MARKUP)
    with app.app_context():
        inst = db.session.scalar(select(ProcessInstance).where(ProcessInstance.process_id == "to_military"))
        assert inst is not None and MARKUP[0] in inst.application["military_unit"]
        task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == inst.id,
                                                               HumanTask.status == "open"))
        db.session.remove()
    assert_sane(staff.get(f"/inbox/tasks/{task_id}"), MARKUP)


def test_a_huge_form_value_is_refused_without_a_trace(app: Flask, web: WebClient, rich: Rich) -> None:
    _login_doctor(web)
    before = snapshot(app)
    resp = post(web, "/physician/apply/reissue", {"note": HUGE * 30}, multipart=True)
    assert_sane(resp, [])
    assert resp.status_code == 413 and "文件过大" in resp.get_data(as_text=True)
    assert changed(before, snapshot(app)) == {}
