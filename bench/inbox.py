"""Benchmark: the inbox page's queries at 10k, 100k and 1M human-task rows (PostgreSQL).

For each size the table is filled with SQL (generate_series): one instance per task, 80 %
of tasks completed, the rest open, spread over 500 institutions' inboxes, and 5 % of all rows
in the measured commission's inbox (at 1M: 50,000 rows, 10,000 of them open). Then the page a
commission officer opens is timed through the service layer: ``tasks.inbox`` (first page and
a keyset page further on) plus ``tasks.inbox_counts``, p50/p95 over ``--repeat`` runs; and the
whole page as the officer's browser gets it (``GET /inbox/`` signed in: session, layout, menu,
the 消息 count, rendering), with the number of SQL statements it runs.

    .venv/bin/python bench/inbox.py --database-url postgresql+psycopg://…/medreg_bench [--sizes 10000,100000,1000000]
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
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402
from sqlalchemy import text  # noqa: E402

from app.extensions import db  # noqa: E402
from bench.common import bench_app  # noqa: E402
from bench.common import machine  # noqa: E402
from bench.common import pct  # noqa: E402

T = TypeVar("T")

FILL = """
INSERT INTO process_instance (id, process_id, definition_id, business_status, application,
    workflow_json, serializer_version, clock_paused, overdue, suspended, lock_version,
    created_at, updated_at, authority_id, institution_id)
SELECT g, 'registration', :definition, '待卫健委受理', '{}', '{}', '1.5', false, false, false, 0,
       now() - (g % 1000) * interval '1 minute', now(), :authority, :institution
FROM generate_series(:start, :stop) AS g;
INSERT INTO human_task (id, instance_id, process_id, task_guid, task_spec_id, title, lane, form_id,
    scope_kind, scope_id, status, due_at, created_at)
SELECT g, g, 'registration', 'bench-' || g, 'commission_accept', '卫健委受理', 'commission', 'commission_accept',
       CASE WHEN g % 20 = 0 THEN 'authority' ELSE 'institution' END,
       CASE WHEN g % 20 = 0 THEN :authority ELSE 1000 + g % 500 END,
       CASE WHEN g % 100 < 20 THEN 'open' ELSE 'completed' END,
       CASE WHEN g % 7 = 0 THEN NULL ELSE now() + (g % 40000) * interval '1 minute' END,
       now() - (g % 1000) * interval '1 minute'
FROM generate_series(:start, :stop) AS g;
"""


def _page(client: Any, engine: Any, repeat: int) -> tuple[list[float], int]:
    """Times of ``GET /inbox/`` (after 5 warm-up requests) and the statements of one request."""
    from sqlalchemy import event
    times, statements = [], []
    for i in range(repeat + 5):
        t = time.perf_counter()
        resp = client.get("/inbox/")
        if i >= 5:
            times.append((time.perf_counter() - t) * 1000)
        assert resp.status_code == 200, resp.status_code

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    client.get("/inbox/")
    event.remove(engine, "before_cursor_execute", count)
    return times, sum(1 for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH")))


def run(url: str, sizes: list[int], repeat: int, schema: str = "public") -> dict[str, Any]:
    from app.models import Authority
    from app.models import Institution
    from app.models import ProcessDefinition
    from app.models import Role
    from app.models import User
    from app.services.inbox import tasks
    from app.services.platform import seed
    assert url.startswith("postgresql"), "the inbox benchmark runs on PostgreSQL"
    os.environ["MEDREG_CAPTCHA"] = "off"  # the page's client signs in without the image
    app = bench_app(url, schema, RATELIMIT_ENABLED=False)
    out: dict[str, Any] = {"database": "", "machine": machine(), "sizes": {}}
    with app.app_context():
        out["database"] = "PostgreSQL " + str(db.session.scalar(text("SHOW server_version")))
        seed.seed_demo(app.config["MEDREG_UPLOAD_DIR"])
        officer = db.session.scalar(select(User).where(User.username == "weijian01"))
        assert officer is not None and officer.role is Role.COMMISSION
        authority = db.session.get(Authority, officer.authority_id)
        institution = db.session.scalar(select(Institution.id).order_by(Institution.id))
        definition = db.session.scalar(select(ProcessDefinition.id).where(
            ProcessDefinition.process_id == "registration"))
        officer_id, authority_id = officer.id, authority.id
        db.session.commit()
        client = app.test_client()
        signed_in = outside(lambda: client.post("/login", data={
            "username": "weijian01", "password": "Weijian2026", "csrf_token": _token(client)}))
        assert signed_in.status_code == 302, "the officer signs in"
        engine = db.engine
        db.session.remove()
        base = 1_000_000_000  # far above the demo rows' ids
        filled = 0
        for size in sizes:
            t0 = time.perf_counter()
            for stmt in FILL.strip().split(";\n"):
                db.session.execute(text(stmt), {"start": base + filled + 1, "stop": base + size,
                                                "definition": definition, "authority": authority_id,
                                                "institution": institution})
            db.session.commit()
            filled = size
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE human_task, process_instance"))
            fill_s = time.perf_counter() - t0
            rows = db.session.scalar(text("SELECT count(*) FROM human_task"))
            in_scope = db.session.scalar(text(
                "SELECT count(*) FROM human_task WHERE scope_kind = 'authority' AND scope_id = :a "
                "AND status = 'open'"), {"a": authority_id})
            first, deep, counts = [], [], []
            cursor = ""
            for i in range(repeat + 5):
                db.session.remove()
                actor = db.session.get(User, officer_id)
                t = time.perf_counter()
                page = tasks.inbox(actor, tasks.InboxFilter())
                t1 = time.perf_counter()
                c = tasks.inbox_counts(actor)
                t2 = time.perf_counter()
                later = tasks.inbox(actor, tasks.InboxFilter(after=cursor)) if cursor else page
                t3 = time.perf_counter()
                # walk on page by page (back to the first page at the end or every 20 pages)
                cursor = tasks.cursor_of(later[-1], "due") if i % 20 and len(later) == tasks.PAGE_SIZE else ""
                if i >= 5:  # warm-up
                    first.append((t1 - t) * 1000)
                    counts.append((t2 - t1) * 1000)
                    deep.append((t3 - t2) * 1000)
            db.session.remove()
            http, queries = outside(lambda: _page(client, engine, repeat))
            assert len(page) == tasks.PAGE_SIZE and c.open == tasks.COUNT_CAP or c.open == in_scope
            page_ms = [a + b for a, b in zip(first, counts, strict=True)]
            out["sizes"][size] = {
                "rows": rows, "open_in_inbox": in_scope, "fill_s": round(fill_s, 1),
                "page_p50_ms": pct(page_ms, 0.5), "page_p95_ms": pct(page_ms, 0.95),
                "list_p50_ms": pct(first, 0.5), "counts_p50_ms": pct(counts, 0.5),
                "keyset_page_p50_ms": pct(deep, 0.5), "keyset_page_p95_ms": pct(deep, 0.95),
                "http_page_p50_ms": pct(http, 0.5), "http_page_p95_ms": pct(http, 0.95),
                "queries_per_page": queries}
            print(json.dumps({size: out["sizes"][size]}, ensure_ascii=False), file=sys.stderr, flush=True)
        db.session.remove()
    small, large = out["sizes"][sizes[0]], out["sizes"][sizes[-1]]
    out["ratio_p95_largest_to_smallest"] = round(large["page_p95_ms"] / small["page_p95_ms"], 2)
    out["median_of"] = repeat
    return out


def outside(call: Callable[[], T]) -> T:
    """Run ``call`` outside this script's app context, as a server runs a request: in its own
    app context (else Flask would reuse ours, and ``g`` with it, across requests)."""
    return contextvars.Context().run(call)


def _token(client: Any) -> str:
    import re
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True))
    return found.group(1) if found else ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--schema", default="public", help="PostgreSQL schema to (re)create and use")
    args = ap.parse_args()
    if not args.database_url:
        sys.exit("--database-url (or BENCH_DATABASE_URL) must name a PostgreSQL database")
    sizes = [int(s) for s in args.sizes.split(",")]
    print(json.dumps(run(args.database_url, sizes, args.repeat, args.schema), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
