"""Benchmark: what one completed application costs in storage. ``--n`` 注册 applications go
through the whole journey (submit, confirm, accept, approve); the stored workflow state and
the instance's rows (instance, human tasks, audit events, outbox) are measured per completed
application, and on PostgreSQL the growth of the tables on disk as well.

    .venv/bin/python bench/storage.py [--n 100] [--database-url URL --schema S]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402
from sqlalchemy import text  # noqa: E402

from app.extensions import db  # noqa: E402
from bench.common import bench_app  # noqa: E402
from bench.common import machine  # noqa: E402

TABLES = ("process_instance", "human_task", "audit_event", "outbox_message")


def _pg_bytes() -> int:
    db.session.execute(text("ANALYZE"))
    return sum(int(db.session.scalar(text(f"SELECT pg_total_relation_size('{t}')"))) for t in TABLES)


def run(n: int, url: str | None, schema: str) -> dict[str, Any]:
    from app.models import AuditEvent
    from app.models import HumanTask
    from app.models import OutboxMessage
    from app.models import ProcessInstance
    from app.models import User
    from app.services.engine import processes
    from bench.engine_step import _world

    app = bench_app(url, schema)
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
        before = _pg_bytes() if postgres else 0
        ids = _world(n, app.config["MEDREG_UPLOAD_DIR"])
        names = {"institution_confirm": "jigou01", "commission_accept": "weijian01",
                 "commission_decide": "weijian01"}
        decisions = {"institution_confirm": "confirm", "commission_accept": "accept", "commission_decide": "approve"}
        for iid in ids:
            while True:
                task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid,
                                                                 HumanTask.status == "open"))
                if task is None:
                    break
                actor = db.session.scalar(select(User).where(User.username == names[task.task_spec_id]))
                data: dict[str, object] = {"decision": decisions[task.task_spec_id]}
                if task.form_id == "institution_confirm_paper":
                    data["paper_held"] = True  # the signed 申请审核表 is held
                processes.complete_task(actor, task.id, data)
                db.session.remove()
        state, rows = [], []
        for iid in ids:
            inst = db.session.get(ProcessInstance, iid)
            assert inst is not None and inst.outcome == "approved"
            state.append(len(inst.workflow_json.encode()))
            size = len(inst.workflow_json.encode()) + len(json.dumps(inst.application, ensure_ascii=False).encode())
            size += sum(len(json.dumps(t.data or {}, ensure_ascii=False).encode()) + 200
                        for t in db.session.scalars(select(HumanTask).where(HumanTask.instance_id == iid)))
            size += sum(len(json.dumps(e.detail, ensure_ascii=False).encode()) + 200
                        for e in db.session.scalars(select(AuditEvent).where(AuditEvent.object_id == str(iid))))
            size += sum(len(m.body.encode()) + 150 for m in db.session.scalars(
                select(OutboxMessage).where(OutboxMessage.body.like(f"%编号 {iid}）%"))))
            rows.append(size)
        on_disk = (_pg_bytes() - before) / n / 1024 if postgres else None
        dialect = db.engine.dialect.name
        db.session.remove()
    return {"database": dialect, "completed_applications": n,
            "workflow_state_kib": round(statistics.median(state) / 1024, 1),
            "all_rows_kib": round(statistics.median(rows) / 1024, 1),
            "postgresql_disk_kib_per_application": round(on_disk, 1) if on_disk is not None else None,
            "machine": machine()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--schema", default="public")
    args = ap.parse_args()
    print(json.dumps(run(args.n, args.database_url, args.schema), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
