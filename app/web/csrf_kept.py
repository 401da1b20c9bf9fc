"""The forms' CSRF token, signed at most once a minute per session (issue 14 goal 1).

Flask-WTF signs the session's secret with a timestamp for every page that shows a form (every
signed-in page has one: 退出), deriving the signing key again each time. A token signed less
than a minute ago for the same secret is as good: Flask-WTF checks its signature, and its age
only when ``WTF_CSRF_TIME_LIMIT`` is set (app.config sets none: a form stays good as long as
its session), so a kept one would expire at most a minute earlier. Tokens are kept per secret
key and session secret, so no session sees another's.
"""

from __future__ import annotations

import time

from flask import current_app
from flask import g
from flask import session
from flask_wtf.csrf import generate_csrf

KEEP_SECONDS = 60.0
KEPT_MOST = 4096  # session secrets kept per process (the table starts again when full)
FIELD = "csrf_token"  # Flask-WTF's WTF_CSRF_FIELD_NAME (its session key and g attribute)
_kept: dict[tuple[str, str], tuple[str, float]] = {}


def csrf_token() -> str:
    """This request's signed CSRF token (the templates' ``csrf_token()``)."""
    held = g.get(FIELD)
    if held is not None:
        return str(held)
    raw = session.get(FIELD)  # a new session gets its secret from generate_csrf below
    if not isinstance(raw, str):
        return str(generate_csrf())
    key = (str(current_app.config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key), raw)
    now = time.monotonic()
    found = _kept.get(key)
    if found is not None and now - found[1] < KEEP_SECONDS:
        setattr(g, FIELD, found[0])  # what generate_csrf answers later in this request
        return found[0]
    token = str(generate_csrf())
    if session.get(FIELD) == raw:  # (generate_csrf replaces a secret it cannot sign)
        if len(_kept) >= KEPT_MOST:
            _kept.clear()
        _kept[key] = (token, now)
    return token
