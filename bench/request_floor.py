"""Benchmark: the floor under issue 14 goal 1 — what a request costs before its page does
anything, with the processor's caches warm and cold.

The side-by-side run (bench/side_by_side.py) calls ours and SpiffArena in turn, so each of our
requests comes after one of SpiffArena's (15 ms for its task list) and finds the processor's
caches holding someone else's data. On this machine (a shared virtual machine) that costs our
institution's 待办任务 about 1.7 ms on top of its 2 ms, and most of it is paid by what every
request does, not by the page. This benchmark shows it in one process, without HTTP: the WSGI
app is called directly, ``--n`` times per page, in three states:

- ``hot``: one request right after the other (the caches hold everything);
- ``cold``: after 64 MiB were copied, which empties the caches (the state after the peer's call);
- ``idle``: after 50 ms asleep (as ``cold``, without our own copying; noisier).

The pages, from nothing to the list:

- ``bare_flask``: a Flask app of one route returning two bytes (Flask itself);
- ``static_file``: our ``/static/app.css`` (our hooks, no session);
- ``signed_in_empty``: a page of two bytes behind ``login_required``, marked ``reads_only``
  (the session row and the person, Flask-Login, the hooks, the session's save);
- ``signed_in_layout``: the layout (``base.html``: menu, 消息 count, header) with nothing in it;
- ``inbox_institution``: the institution's 待办任务 (bench/page_cost.py's data).

The last two are routes this benchmark adds to its own app before the first request; the app is
otherwise the one bench/page_cost.py builds.

    .venv/bin/python bench/request_floor.py [--n 300] [--tasks 10000] [--database-url …]
"""

from __future__ import annotations

import argparse
import contextvars
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402

from bench.common import machine  # noqa: E402
from bench.common import pct  # noqa: E402
from bench.page_cost import Pages  # noqa: E402

EVICT_BYTES = 32 * 1024 * 1024  # copied from one buffer to another: 64 MiB touched
STATES = ("hot", "cold", "idle")
PAGES = ("bare_flask", "static_file", "signed_in_empty", "signed_in_layout", "inbox_institution")


def _reference_routes(app: Flask) -> None:
    """The empty page and the empty layout, behind the same decorators as our pages."""
    from flask import render_template
    from flask_login import login_required

    from app.web.common import reads_only
    layout: list[Any] = []

    def empty() -> str:
        return "ok"

    def empty_layout() -> str:
        if not layout:  # compiled once, as a template file is
            layout.append(app.jinja_env.from_string(
                '{% extends "base.html" %}{% block content %}{% endblock %}'))
        return render_template(layout[0])

    app.add_url_rule("/__floor/empty", "floor_empty", reads_only(login_required(empty)))
    app.add_url_rule("/__floor/layout", "floor_layout", reads_only(login_required(empty_layout)))


def _bare_flask() -> Flask:
    bare = Flask("bare")
    bare.add_url_rule("/", "index", lambda: "ok")
    return bare


class Floor:
    """The WSGI calls of each page with the institution's session cookie."""

    def __init__(self, url: str | None, schema: str, tasks: int) -> None:
        from werkzeug.test import EnvironBuilder
        self.pages = Pages(url, schema, tasks, extend=_reference_routes)
        self.pages.stop_recording()  # its list of statements would grow with every request timed
        app = self.pages.app
        cookie = self.pages.clients["jigou01"].get_cookie(app.config["SESSION_COOKIE_NAME"])
        assert cookie is not None
        headers = {"Cookie": f"{cookie.key}={cookie.value}", "Host": "localhost"}
        bare = _bare_flask()
        targets: dict[str, tuple[Any, str]] = {
            "bare_flask": (bare, "/"), "static_file": (app, "/static/app.css"),
            "signed_in_empty": (app, "/__floor/empty"), "signed_in_layout": (app, "/__floor/layout"),
            "inbox_institution": (app, "/inbox/")}
        self.calls: dict[str, Callable[[], int]] = {}
        for name, (wsgi, path) in targets.items():
            environ = EnvironBuilder(path=path, headers=headers).get_environ()
            self.calls[name] = self._caller(wsgi, environ)
        self._from = bytearray(EVICT_BYTES)
        self._to = bytearray(EVICT_BYTES)

    @staticmethod
    def _caller(wsgi: Any, environ: dict[str, Any]) -> Callable[[], int]:
        def call() -> int:
            status: list[str] = []
            body = wsgi(dict(environ), lambda s, _h, _e=None: status.append(s))
            try:
                size = sum(len(chunk) for chunk in body)
            finally:
                if hasattr(body, "close"):
                    body.close()
            if not status or not status[0].startswith("200"):
                raise RuntimeError(f"{environ['PATH_INFO']}: {status}")
            return size

        return lambda: contextvars.Context().run(call)  # as a server runs each request

    def _evict(self) -> None:
        self._to[:] = self._from

    def time(self, page: str, state: str, n: int) -> list[float]:
        before: Callable[[], Any] = {"hot": lambda: None, "cold": self._evict,
                                     "idle": lambda: time.sleep(0.05)}[state]
        call, out = self.calls[page], []
        for _ in range(n):
            before()
            t = time.perf_counter()
            call()
            out.append((time.perf_counter() - t) * 1000)
        return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    floor = Floor(args.database_url, args.schema, args.tasks)
    sizes = {page: floor.calls[page]() for page in PAGES}  # warm-up: templates compiled, caches filled
    for page in PAGES:
        floor.time(page, "hot", 20)
    times: dict[str, dict[str, list[float]]] = {p: {s: [] for s in STATES} for p in PAGES}
    rounds = max(1, args.n // 20)
    for r in range(rounds):  # rounds of 20 requests, every page and state taking turns
        for page in PAGES if r % 2 == 0 else reversed(PAGES):
            for state in STATES:
                times[page][state].extend(floor.time(page, state, 20 if state != "idle" else 5))
    pages = {page: {**{f"{s}_p50_ms": pct(times[page][s], 0.5) for s in STATES},
                    "cold_over_hot": round(pct(times[page]["cold"], 0.5) / pct(times[page]["hot"], 0.5), 2),
                    "bytes": sizes[page]} for page in PAGES}
    return {
        "database": "PostgreSQL" if (args.database_url or "").startswith("postgresql") else "SQLite",
        "machine": machine(), "load_average": os.getloadavg()[0], "tasks": args.tasks,
        "requests_per_page_and_state": {s: len(times[PAGES[0]][s]) for s in STATES},
        "pages": pages,
        # what each layer adds, cold: the person's session, the layout, the list itself
        "added_cold_ms": {
            "flask_to_signed_in_empty": round(pages["signed_in_empty"]["cold_p50_ms"]
                                              - pages["bare_flask"]["cold_p50_ms"], 2),
            "empty_to_layout": round(pages["signed_in_layout"]["cold_p50_ms"]
                                     - pages["signed_in_empty"]["cold_p50_ms"], 2),
            "layout_to_inbox": round(pages["inbox_institution"]["cold_p50_ms"]
                                     - pages["signed_in_layout"]["cold_p50_ms"], 2)},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    ap.add_argument("--schema", default="request_floor", help="PostgreSQL schema to (re)create and use")
    ap.add_argument("--tasks", type=int, default=10_000)
    ap.add_argument("--n", type=int, default=300, help="hot and cold requests per page (idle: a quarter)")
    args = ap.parse_args()
    print(json.dumps(run(args), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
