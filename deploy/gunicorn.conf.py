"""gunicorn settings for the web processes: `gunicorn -c deploy/gunicorn.conf.py 'app:create_app()'`.

The access log is one JSON object per line in the app's shape (app/log.py: timestamp, level,
logger, message, request_id, method, path, status, duration_ms, user_id), carrying the request
id the app chose (or kept from the proxy's X-Request-Id) and returned in the response header.
gunicorn's own error log is JSON too. Every value can be overridden on the command line or with
GUNICORN_CMD_ARGS; the address, worker count and timeout also from MEDREG_BIND, MEDREG_WORKERS,
MEDREG_TIMEOUT.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import Any

from gunicorn.glogging import Logger

from app.log import ENVIRON_REQUEST_ID
from app.log import ENVIRON_USER_ID
from app.log import REQUEST_ID_HEADER
from app.log import JsonFormatter

bind = os.environ.get("MEDREG_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("MEDREG_WORKERS", "2"))
# gthread: a client (a browser, or a proxy with upstream keepalive) keeps its connection for the
# next request instead of a new TCP connection each time (docs/performance.md, third round). A
# gthread worker accepts connections while it is busy, so it has several threads: a request does
# not wait behind a slow one (a CSV export streaming, an import step) while the worker has others
worker_class = "gthread"
threads = int(os.environ.get("MEDREG_THREADS", "4"))
timeout = int(os.environ.get("MEDREG_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# a gthread worker answers the arbiter while a request runs, so ``timeout`` no longer ends a
# request that hangs: the database ends any statement (or lock wait) of a web worker after as long
# (libpq ``options``; behind PgBouncer set it on the web role instead and this to 0: docs/deploy.md)
os.environ.setdefault("MEDREG_STATEMENT_TIMEOUT_SECONDS", str(timeout))
# one line per request: gunicorn's access line below carries what the app's own line would
# (request id, method, path, status, duration, user id); MEDREG_REQUEST_LOG=on brings it back
os.environ.setdefault("MEDREG_REQUEST_LOG", "off")
max_requests = 2000  # a worker is replaced now and then (bounded memory growth)
max_requests_jitter = 200
accesslog = "-"  # stdout: journald / docker logs
errorlog = "-"  # stderr
control_socket_disable = True  # gunicorn ≥ 24's ~/.gunicorn/gunicorn.ctl: one per user, not per node
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


class JsonLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger with JSON lines for both the access and the error log."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> None:
        if not self.access_log_enabled:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        request_id = environ.get(ENVIRON_REQUEST_ID) or next(
            (v for k, v in resp.headers if k.lower() == REQUEST_ID_HEADER.lower()), None)
        method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
        try:
            self.access_log.info("%s %s %s", method, path, status, extra={
                "request_id": request_id, "method": method, "path": path, "status": int(status),
                "duration_ms": round(request_time.total_seconds() * 1000, 1),
                "user_id": environ.get(ENVIRON_USER_ID)})
        except Exception:  # noqa: BLE001 - as gunicorn's own access(): never break the response
            self.error("access log failed")


logger_class = JsonLogger
logging.getLogger("gunicorn.access").propagate = False


def pre_fork(server: Any, worker: Any) -> None:
    """With ``--preload`` the app is loaded in the master: move its objects out of the garbage
    collector's reach before forking, so a worker's collections do not write to (and so copy)
    the pages it shares with the master (docs/performance.md, Memory)."""
    import gc

    gc.freeze()
