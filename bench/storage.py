"""Benchmark: bytes per completed instance, by database growth (issue 14 goal 2).

``--n`` physicians are created first; then each submits a 注册 application and it goes
through the whole journey (submit, confirm, accept, approve). What the database grew by
between those two points, divided by ``--n``, is the figure — not row payloads:

- SQLite: pages in use ((page_count − freelist_count) × page_size, after a WAL checkpoint),
  per table and per index from the ``dbstat`` table;
- PostgreSQL: after ``VACUUM``, ``pg_relation_size`` of every table, its TOAST and each index
  of the schema.

On PostgreSQL, dead row versions (each step rewrites the instance row) are reclaimed by
autovacuum in a running system; the benchmark runs ``VACUUM`` every ``--vacuum-every``
instances (default 20) so that freed space is reused as it would be.

Measured twice: when the instances are complete, and after the outbox retention period
(sent SMS/e-mail pruned; on SQLite freed pages are reused, on PostgreSQL VACUUM frees them).

    .venv/bin/python bench/storage.py [--n 200] [--database-url URL --schema S]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402
from sqlalchemy import text  # noqa: E402

from app.extensions import db  # noqa: E402
from bench.common import bench_app  # noqa: E402
from bench.common import machine  # noqa: E402

NAMES = {"institution_confirm": "jigou01", "commission_accept": "weijian01", "commission_decide": "weijian01"}
DECISIONS = {"institution_confirm": "confirm", "commission_accept": "accept", "commission_decide": "approve"}


def _sqlite_sizes() -> tuple[int, dict[str, int]]:
    """Bytes in use and per table/index (name → bytes), on a connection of its own."""
    import sqlite3

    conn = sqlite3.connect(str(db.engine.url.database), isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        used = int(conn.execute("PRAGMA page_count").fetchone()[0]) - int(
            conn.execute("PRAGMA freelist_count").fetchone()[0])
        parts = {str(name): int(size) for name, size in conn.execute(
            "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")}
    finally:
        conn.close()
    return used * page_size, parts


def _pg_sizes() -> tuple[int, dict[str, int]]:
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM")
        rows = conn.execute(text(
            "SELECT c.relname, pg_relation_size(c.oid) + COALESCE(pg_total_relation_size("
            "NULLIF(c.reltoastrelid, 0)), 0) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i')")).all()
    parts = {str(name): int(size) for name, size in rows}
    return sum(parts.values()), parts


def _per_instance(before: tuple[int, dict[str, int]], after: tuple[int, dict[str, int]],
                  n: int) -> dict[str, Any]:
    delta = {k: after[1].get(k, 0) - before[1].get(k, 0) for k in after[1]}
    return {"bytes_per_instance": round((after[0] - before[0]) / n),
            "kib_per_instance": round((after[0] - before[0]) / n / 1024, 2),
            "by_table_or_index": {k: round(v / n) for k, v in sorted(delta.items(), key=lambda kv: -kv[1])
                                  if round(v / n) != 0}}


def _codec(state: str, repeat: int = 200) -> dict[str, Any]:
    """What the compressed state column costs a step: µs to compress and decompress a real open
    state (median of ``repeat``), and its sizes."""
    import time

    from app.models.compact import compress
    from app.models.compact import decompress
    stored = compress(state)
    times: dict[str, list[float]] = {"compress": [], "decompress": []}
    for _ in range(repeat):
        t = time.perf_counter()
        compress(state)
        times["compress"].append(time.perf_counter() - t)
        t = time.perf_counter()
        decompress(stored)
        times["decompress"].append(time.perf_counter() - t)
    return {"open_state_bytes": len(state.encode()), "stored_bytes": len(stored),
            **{f"{k}_us": round(statistics.median(v) * 1e6, 1) for k, v in times.items()}}


def _vacuum() -> None:
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM")


def run(n: int, url: str | None, schema: str, vacuum_every: int = 20) -> dict[str, Any]:
    from app.models import HumanTask
    from app.models import Institution
    from app.models import ProcessInstance
    from app.models import Role
    from app.models import User
    from app.models.base import utcnow
    from app.services.engine import processes
    from app.services.platform import outbox
    from app.services.platform.seed import demo_payload
    from app.services.platform.seed import seed_demo
    from tests.factories import make_qualification
    from tests.factories import make_user

    app = bench_app(url, schema)
    upload_dir = app.config["MEDREG_UPLOAD_DIR"]
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
        sizes = _pg_sizes if postgres else _sqlite_sizes
        seed_demo(upload_dir)
        hospital = db.session.scalar(select(Institution).order_by(Institution.id))
        assert hospital is not None
        doctors = []
        for i in range(n):
            q = make_qualification(f"测试{i}", 200 + i)
            doctors.append(make_user(f"bench{i:05d}", Role.PHYSICIAN, f"测试{i}", qualification_id=q.id,
                                     id_number=q.id_number, mobile="15175070658", mobile_verified=True).id)
        db.session.commit()
        payloads = [demo_payload(hospital, upload_dir, db.session.get(User, d)) for d in doctors]
        db.session.commit()
        db.session.remove()
        actors = {name: db.session.scalar(select(User.id).where(User.username == name))
                  for name in set(NAMES.values())}
        db.session.remove()
        before = sizes()
        ids: list[int] = []
        open_state = ""
        for doctor_id, payload in zip(doctors, payloads, strict=True):
            iid = processes.start_application(db.session.get(User, doctor_id), "registration",
                                              payload, upload_dir).instance_id
            ids.append(iid)
            db.session.remove()
            if not open_state:  # the first application's state after its submission (open)
                open_state = db.session.get(ProcessInstance, iid).workflow_json
            while True:
                task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid,
                                                                 HumanTask.status == "open"))
                if task is None:
                    break
                data: dict[str, object] = {"decision": DECISIONS[task.task_spec_id]}
                if task.form_id == "institution_confirm_paper":
                    data["paper_held"] = True  # the signed 申请审核表 is held
                processes.complete_task(db.session.get(User, actors[NAMES[task.task_spec_id]]), task.id, data)
                db.session.remove()
            outbox.dispatch_pending(app.config)
            db.session.remove()
            if postgres and vacuum_every and len(ids) % vacuum_every == 0:
                _vacuum()
        state, stored = [], []
        for iid in ids:
            inst = db.session.get(ProcessInstance, iid)
            assert inst is not None and inst.outcome == "approved"
            state.append(len(inst.workflow_json.encode()))  # the JSON text
            stored.append(db.session.scalar(text("SELECT length(workflow_json) FROM process_instance "
                                                 "WHERE id = :i"), {"i": iid}))  # as stored (compressed)
        db.session.remove()
        completed = sizes()
        outbox.prune_delivered(utcnow() + timedelta(days=int(app.config["MEDREG_OUTBOX_RETENTION_DAYS"]) + 1),
                               int(app.config["MEDREG_OUTBOX_RETENTION_DAYS"]))
        db.session.remove()
        retained = sizes()
        dialect = db.engine.dialect.name
    return {"database": dialect, "completed_applications": n,
            "vacuum_every": vacuum_every if dialect == "postgresql" else None,
            "workflow_state_kib": round(statistics.median(state) / 1024, 2),
            "workflow_state_stored_kib": round(statistics.median(stored) / 1024, 2),
            "state_codec": _codec(open_state),
            "growth_when_completed": _per_instance(before, completed, n),
            "growth_after_outbox_retention": _per_instance(before, retained, n),
            "machine": machine()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--schema", default="public")
    ap.add_argument("--vacuum-every", type=int, default=20,
                    help="PostgreSQL: VACUUM after every N instances (0: never)")
    args = ap.parse_args()
    print(json.dumps(run(args.n, args.database_url, args.schema, args.vacuum_every), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
