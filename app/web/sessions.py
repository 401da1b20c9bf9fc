"""A Flask session interface that keeps every value on the server (app.services.accounts.websessions).

The cookie holds a random token only: nothing personal or secret can be read from it or
replayed from an old copy, and ending a session on the server ends it everywhere.

Flash messages (提示) are kept in the row with a random id, and a second cookie
(``<session cookie>-flash``) names the batch still to be shown: the page that shows them (the
list after 提交, 确认) deletes that cookie instead of writing the row again. That cookie, too,
holds a random value only; another session's (copied) or a guessed one shows nothing. The batch
stays in the row, no longer named, until the row is next written. Two overlapping requests of
one session (a double click) may lose a 提示, as they could when the row alone kept them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from typing import Any

from flask import Flask
from flask import Request
from flask import Response
from flask import session as current_session
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SessionInterface
from flask.sessions import SessionMixin
from werkzeug.datastructures import CallbackDict
from werkzeug.exceptions import HTTPException

from app.extensions import db
from app.services.accounts import websessions
from app.services.platform import database

_JSON = TaggedJSONSerializer()


CSRF_KEY = "csrf_token"  # Flask-WTF's session key (WTF_CSRF_FIELD_NAME)
FLASH_KEY = "_flashes"  # flask.flash's session key
FLASH_ID_KEY = "_flash_id"  # the row's id of its 提示, shown while the flash cookie names it
FLASH_MAX_AGE = 600  # seconds the flash cookie lives (the redirect that shows it follows at once)
_MISSING = object()
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32), as websessions.create
_FLASH_ID = re.compile(r"[A-Za-z0-9_-]{16}")  # secrets.token_urlsafe(12), as row_values


class ServerSession(CallbackDict[str, Any], SessionMixin):
    """The values of one session; ``sid`` is None until the first value is stored.

    A visitor with nothing stored has no row: the CSRF token of the forms they are shown is
    derived from their cookie's token (``anon_token``; an HMAC with the secret key), so opening
    the sign-in page stores nothing on the server (an anonymous client cannot make the server
    keep a row per page view). The first value stored makes the row, carrying that CSRF token
    so the forms already shown still submit."""

    def __init__(self, initial: dict[str, Any] | None = None, sid: str | None = None,
                 user_id: int | None = None, touch: bool = False,
                 anon_token: str | None = None, anon_csrf: str | None = None) -> None:
        def on_update(_: Any) -> None:
            self.modified = True

        super().__init__(initial or {}, on_update)
        self.sid = sid
        self.stored_user = user_id
        self.touch = touch
        self.modified = False
        self.renew = False  # a new token at the end of this request (the old one ends)
        self.loaded_user: object | None = None
        self.raw: str | None = None  # the stored values as read (for a compare-and-set take)
        self.anon_token = anon_token  # the cookie's token while no row is stored
        self.anon_new = False  # that token is new: the response sets the cookie
        self.anon_csrf = anon_csrf  # the CSRF token derived from it
        self.anon_csrf_read = False  # a form of this response carries it
        self.flashes: list[Any] | None = None  # the 提示 still to be shown
        self.flash_id: str | None = None  # their id in the row (None: new, not stored yet)
        self.flashes_new = False  # 提示 were added in this request: the row stores them
        self.flash_cookie: str | None = None  # the flash cookie the request came with

    def _derived(self, key: str) -> str | None:
        if key == CSRF_KEY and self.anon_csrf is not None and not dict.__contains__(self, key):
            self.anon_csrf_read = True
            return self.anon_csrf
        return None

    def __contains__(self, key: object) -> bool:
        if key == FLASH_KEY:
            return bool(self.flashes)
        return dict.__contains__(self, key) or (isinstance(key, str) and self._derived(key) is not None)

    def __getitem__(self, key: str) -> Any:
        if key == FLASH_KEY:
            if not self.flashes:
                raise KeyError(key)
            return self.flashes
        derived = self._derived(key)
        return derived if derived is not None else super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        if key == FLASH_KEY:
            return self.flashes or default
        derived = self._derived(key)
        return derived if derived is not None else super().get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        if key == FLASH_KEY:  # flask.flash: stored with a new id (see the module's docstring)
            self.flashes, self.flash_id, self.flashes_new = list(value), None, True
            return
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        if key == FLASH_KEY:
            if not self.flashes:
                raise KeyError(key)
            self.pop(key)
            return
        super().__delitem__(key)

    def pop(self, key: str, default: Any = _MISSING) -> Any:
        if key == FLASH_KEY:  # get_flashed_messages: shown once, the cookie is deleted
            shown, self.flashes, self.flashes_new = self.flashes, None, False
            if shown is None:
                if default is _MISSING:
                    raise KeyError(key)
                return default
            return shown
        return super().pop(key) if default is _MISSING else super().pop(key, default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key == FLASH_KEY:
            if not self.flashes:
                self[key] = default if default is not None else []
            return self.flashes
        return super().setdefault(key, default)

    def clear(self) -> None:
        """Emptied (sign-in, 退出): the derived CSRF token goes too — a signed-in session never
        keeps a secret derived from a cookie it was given before (which someone may have set).
        提示 not yet shown go as well, as they would from a session kept in one place."""
        self.anon_csrf = None
        self.flashes, self.flashes_new = None, False
        super().clear()

    def has_values(self) -> bool:
        """Something to keep in a row: a value, or 提示 still to be shown."""
        return bool(self) or bool(self.flashes)

    def row_values(self) -> dict[str, Any]:
        """What the row keeps: the values, and the 提示 still to be shown under their id."""
        values = dict(self)
        if self.flashes:
            if self.flash_id is None:
                self.flash_id = secrets.token_urlsafe(12)
            values[FLASH_KEY], values[FLASH_ID_KEY] = self.flashes, self.flash_id
        return values

    def stored_values(self) -> dict[str, Any]:
        """What a new row keeps: the values, with the derived CSRF token of an anonymous visitor
        (so the forms already shown still submit); never in a signed-in session's row, which
        gets a CSRF secret of its own at once (its first page with a form writes nothing)."""
        values = self.row_values()
        if CSRF_KEY not in values:
            if "_user_id" in values:
                values[CSRF_KEY] = secrets.token_hex(20)  # Flask-WTF's raw token: 40 hex digits
            elif self.anon_csrf is not None:
                values[CSRF_KEY] = self.anon_csrf
        return values


_READING = frozenset({"GET", "HEAD"})


def _reads_only(app: Flask) -> bool:
    """The view this request goes to is marked ``reads_only`` (app.web.common); the URL is
    matched here, before Flask matches it, because the session's statement is the request's
    first."""
    from flask.globals import request_ctx

    adapter = request_ctx.url_adapter
    if adapter is None:
        return False
    try:
        endpoint, _args = adapter.match()
    except HTTPException:  # not found, not allowed, a redirect: Flask answers it as usual
        return False
    return bool(getattr(app.view_functions.get(str(endpoint)), "reads_only", False))


def _user_of(session: ServerSession) -> int | None:
    raw = session.get("_user_id")
    return int(raw) if isinstance(raw, str) and raw.isdigit() else None


class ServerSessionInterface(SessionInterface):
    """Sessions in the ``web_session`` table; a new token at sign-in and sign-out."""

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        if request.path.startswith("/static/"):
            return ServerSession()
        token = request.cookies.get(self.get_cookie_name(app), "")
        health = request.path == HEALTH_PATH  # read-only; a database outage is its 503, not a 500
        if request.method in _READING and _reads_only(app):
            database.begin_reading()
        try:
            stored = websessions.load(token) if token else None
        except Exception:
            if not health:
                raise
            db.session.rollback()
            return ServerSession()
        if stored is None:
            if health:
                return ServerSession()
            session = self._anonymous(app, token)
            session.flash_cookie = request.cookies.get(self._flash_name(app))
            return session
        try:
            data = _JSON.loads(stored.data)
        except ValueError:
            data = {}
        flashes = data.pop(FLASH_KEY, None) if isinstance(data, dict) else None
        flash_id = data.pop(FLASH_ID_KEY, None) if isinstance(data, dict) else None
        session = ServerSession(data, stored.sid, stored.user_id, stored.touch and not health)
        session.loaded_user = stored.user  # held for the request: the user loader needs no query
        session.raw = stored.data
        if health:
            return session
        session.flash_cookie = cookie = request.cookies.get(self._flash_name(app))
        if (flashes and isinstance(flash_id, str) and cookie and _FLASH_ID.fullmatch(cookie)
                and hmac.compare_digest(cookie, flash_id)):
            session.flashes, session.flash_id = list(flashes), flash_id  # not shown yet
        elif flashes and flash_id is None:  # kept before the flash cookie: shown once, then dropped
            session.flashes, session.modified = list(flashes), True
        return session

    def _flash_name(self, app: Flask) -> str:
        return self.get_cookie_name(app) + "-flash"

    def _flash_cookie(self, app: Flask, session: ServerSession, response: Response) -> None:
        """Name the row's 提示 still to be shown, or delete the name once they were shown."""
        options: dict[str, Any] = {
            "domain": self.get_cookie_domain(app), "path": self.get_cookie_path(app), "httponly": True,
            "secure": self.get_cookie_secure(app), "samesite": self.get_cookie_samesite(app)}
        if session.flashes and session.flash_id and session.flash_id != session.flash_cookie:
            response.set_cookie(self._flash_name(app), session.flash_id, max_age=FLASH_MAX_AGE, **options)
            response.vary.add("Cookie")
        elif session.flash_cookie and not session.flashes:  # shown, or naming nothing
            response.delete_cookie(self._flash_name(app), **options)
            response.vary.add("Cookie")

    @staticmethod
    def _anonymous(app: Flask, token: str) -> ServerSession:
        """A visitor without a stored session: the cookie's token (a new one if it has none)
        names them, and their forms' CSRF token is derived from it."""
        fresh = _TOKEN.fullmatch(token) is None
        if fresh:
            token = secrets.token_urlsafe(32)
        key = str(app.secret_key or "").encode("utf-8")
        csrf = hmac.new(key, b"anonymous-csrf:" + token.encode("ascii"), hashlib.sha256).hexdigest()
        session = ServerSession(anon_token=token, anon_csrf=csrf)
        session.anon_new = fresh
        return session

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, ServerSession)
        self._save_row(app, session, response)
        self._flash_cookie(app, session, response)

    def _save_row(self, app: Flask, session: ServerSession, response: Response) -> None:
        name = self.get_cookie_name(app)
        domain, path = self.get_cookie_domain(app), self.get_cookie_path(app)
        database.finish()  # a view's work is committed by its service; nothing else is
        user_id = _user_of(session)
        if session.flashes_new:  # 提示 to show on the next page: the row keeps them
            session.modified = True
        if session.sid and (not session.has_values() or user_id != session.stored_user or session.renew):
            # emptied (退出), a different person signed in, or a security change: this token
            # is finished (and with it any copy of the cookie)
            alive = websessions.end(session.sid)
            session.sid = None
            if not alive and session.renew:  # ended meanwhile (e.g. a password change elsewhere)
                response.delete_cookie(name, domain=domain, path=path)
                return
            if not session.has_values():
                response.delete_cookie(name, domain=domain, path=path)
                return
        if session.sid is None:
            if not session.has_values():  # nothing stored: no row (see ServerSession)
                if session.anon_csrf_read:  # the page's forms carry a token of this cookie
                    response.vary.add("Cookie")
                    if session.anon_new and session.anon_token:
                        response.set_cookie(name, session.anon_token, httponly=self.get_cookie_httponly(app),
                                            secure=self.get_cookie_secure(app),
                                            samesite=self.get_cookie_samesite(app), domain=domain, path=path)
                return
            token = websessions.create(_JSON.dumps(session.stored_values()), user_id)
            response.set_cookie(name, token, httponly=self.get_cookie_httponly(app),
                                secure=self.get_cookie_secure(app), samesite=self.get_cookie_samesite(app),
                                domain=domain, path=path)
            response.vary.add("Cookie")
            return
        if session.modified:
            websessions.save(session.sid, _JSON.dumps(session.row_values()), user_id)
        elif session.touch:
            websessions.touch(session.sid)
        response.vary.add("Cookie")


HEALTH_PATH = "/healthz"  # app/web/health.py: never touches a session, survives a database outage
REAUTH_SECONDS = 300  # a security change needs the password entered within 5 minutes


def current_sid() -> str | None:
    """The server-side id of this request's session (None before anything was stored)."""
    return getattr(current_session, "sid", None)


def mark_authenticated() -> None:
    """The password (or a code to a verified phone) was just checked in this session: it
    gets a new token."""
    current_session["_auth_at"] = time.time()
    renew()


def take(key: str) -> Any:
    """Remove a one-time value (the captcha's sealed answer) from this session and store that
    at once, only if no other request changed the session since it was read: of two requests
    racing with the same cookie, one gets the value, the other None."""
    session = current_session._get_current_object()  # type: ignore[attr-defined]
    value = session.pop(key, None)
    if value is None or not isinstance(session, ServerSession):
        return value
    if session.sid is None or session.raw is None:
        return None
    data = _JSON.dumps(session.row_values())
    if not websessions.swap(session.sid, session.raw, data):
        return None
    session.raw = data
    session.modified = False  # stored just now: the end of the request need not write it again
    return value


def renew() -> None:
    """End this session's token and carry its values over to a new one."""
    if isinstance(current_session._get_current_object(), ServerSession):  # type: ignore[attr-defined]
        current_session.renew = True  # type: ignore[attr-defined]


def recently_authenticated() -> bool:
    at = current_session.get("_auth_at")
    return isinstance(at, int | float) and time.time() - at <= REAUTH_SECONDS
