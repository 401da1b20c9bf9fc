"""Logging: one JSON object per line (production) or plain text (development), and a request id.

Every request gets an id: a sane incoming ``X-Request-Id`` (1–64 of ``[A-Za-z0-9._-]``) is kept,
anything else is replaced by a new one. It is returned in the ``X-Request-Id`` header, put on
every log line written while the request runs, and left in the WSGI environ
(``medreg.request_id``, with ``medreg.user_id``) for gunicorn's access log
(deploy/gunicorn.conf.py). Lines carry a user id, never names or ID numbers; the path without
its query string.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC
from datetime import datetime
from typing import TYPE_CHECKING
from typing import Any
from typing import TextIO

if TYPE_CHECKING:  # Flask is imported where a request is at hand: gunicorn's master (its
    from flask import Flask  # access log's JsonFormatter, deploy/gunicorn.conf.py) runs without it
    from flask.wrappers import Response

REQUEST_ID_HEADER = "X-Request-Id"
ENVIRON_REQUEST_ID = "medreg.request_id"
ENVIRON_USER_ID = "medreg.user_id"
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# the request's own fields, set through ``extra=`` on the one line each request writes
REQUEST_FIELDS = ("method", "path", "status", "duration_ms", "user_id")
request_log = logging.getLogger("medreg.request")


def sane_request_id(value: str | None) -> str:
    """The incoming id when it is 1–64 of [A-Za-z0-9._-], else a new random one."""
    if value and _SANE_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    from flask import g
    from flask import has_request_context

    if not has_request_context():
        return None
    return getattr(g, "request_id", None)


class JsonFormatter(logging.Formatter):
    """timestamp, level, logger, message, request_id (+ the request fields, + exc_info)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name in REQUEST_FIELDS:
            if hasattr(record, name):
                out[name] = getattr(record, name)
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")


class _RequestIdFilter(logging.Filter):
    """Stamps the running request's id on each record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (journald, docker, pytest's capture)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def log_format(config: Any) -> str:
    """MEDREG_LOG_FORMAT, else json in production and text in development."""
    chosen = config.get("MEDREG_LOG_FORMAT")
    if chosen:
        if chosen not in ("json", "text"):
            raise RuntimeError(f"MEDREG_LOG_FORMAT must be json or text, not {chosen!r}")
        return str(chosen)
    return "text" if config.get("MEDREG_ENV") == "development" else "json"


def configure(app: Flask) -> None:
    """Install the one stderr handler on the root logger (replacing ours from an earlier app)."""
    fmt = log_format(app.config)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(old)
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(_RequestIdFilter())
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    for name in list(logging.root.manager.loggerDict):  # Alembic's fileConfig disables them
        if name in ("medreg", "spiff") or name.startswith(("medreg.", "app", "spiff.")):
            logging.getLogger(name).disabled = False
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not a line per sweep
    # SpiffWorkflow logs every task state change at INFO (spiff.task, spiff.workflow): several
    # lines per step, in every process; the audit trail and the request line say what happened
    logging.getLogger("spiff").setLevel(logging.WARNING)
    app.logger.handlers.clear()  # Flask's own handler would print each line twice
    app.logger.propagate = True
    app.before_request(_begin)
    app.after_request(_end if app.config["MEDREG_REQUEST_LOG"] else _mark)


def _begin() -> None:
    from flask import g
    from flask import request

    g.request_id = sane_request_id(request.headers.get(REQUEST_ID_HEADER))
    g.request_started = time.perf_counter()
    request.environ[ENVIRON_REQUEST_ID] = g.request_id


def _mark(response: Response) -> Response:
    """The request id on the response, the user id for the server's access line."""
    from flask import g
    from flask import request

    response.headers[REQUEST_ID_HEADER] = g.get("request_id") or ""
    user = g.get("_login_user")  # only if the request loaded it: no extra query
    request.environ[ENVIRON_USER_ID] = (
        getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None)
    return response


def _end(response: Response) -> Response:
    """:func:`_mark`, and the app's own line for the request."""
    from flask import g
    from flask import request

    _mark(response)
    user_id = request.environ[ENVIRON_USER_ID]
    started = g.get("request_started")
    duration = round((time.perf_counter() - started) * 1000, 1) if started else None
    request_log.info("%s %s %s", request.method, request.path, response.status_code,
                     extra={"method": request.method, "path": request.path,
                            "status": response.status_code, "duration_ms": duration,
                            "user_id": user_id})
    return response
