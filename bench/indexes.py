"""The index audit (issue 14 goal 2): every index of the tables a completed instance writes to
(process_instance, human_task, audit_event, outbox_message), the query of the code that uses
it, and the plan line that shows the database using it (SQLite ``EXPLAIN QUERY PLAN``;
PostgreSQL ``EXPLAIN`` with ``enable_seqscan`` off, since the tables of a fresh database are
too small for the planner to bother). The inbox's status is a bound parameter, as the code
sends it (the partial indexes WHERE status = 'open' are still chosen). Unique constraints
are kept for correctness and listed with the lookup they also serve. Prints JSON; ``all_used``
is false if a plan misses its index.

    .venv/bin/python bench/indexes.py [--database-url URL --schema S]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from app.extensions import db  # noqa: E402
from bench.common import bench_app  # noqa: E402

# (index as named on PostgreSQL, SQLite's name when it differs, where in the code, query)
QUERIES: list[tuple[str, str, str, str]] = [
    ("uq_process_instance_open_key", "sqlite_autoindex_process_instance_1",
     "one open application per physician and group (unique)",
     "SELECT id FROM process_instance WHERE open_key = 'registration:1'"),
    ("ix_process_instance_subject_user_id", "", "inbox/tasks.py 业务查询 (a physician's applications)",
     "SELECT id FROM process_instance WHERE subject_user_id = 1 ORDER BY id DESC"),
    ("ix_process_instance_process_id", "", "backoffice/instances.py, impact.py (instances of a type)",
     "SELECT id FROM process_instance WHERE process_id = 'registration' AND completed_at IS NULL"),
    ("ix_process_instance_authority_id", "", "inbox/dashboard.py 办理统计 (a commission's instances)",
     "SELECT count(*) FROM process_instance WHERE authority_id = 1"),
    ("ix_process_instance_next_timer_at", "", "engine/processes.py due_instance_ids (the sweep)",
     "SELECT id FROM process_instance WHERE next_timer_at <= '2026-12-01' AND suspended = false "
     "ORDER BY next_timer_at LIMIT 100"),
    ("uq_human_task_task_guid", "sqlite_autoindex_human_task_1", "one read-model row per engine task (unique)",
     "SELECT id FROM human_task WHERE task_guid = '00000000-0000-0000-0000-000000000000'"),
    ("ix_human_task_instance_id", "", "an instance's tasks (办理记录, ProcessInstance.tasks)",
     "SELECT id, status FROM human_task WHERE instance_id = 1 ORDER BY id"),
    ("ix_human_task_scope_due", "", "inbox/tasks.py 待办任务, soonest due first (keyset); "
     "also inbox/dashboard.py 办理统计 (process_id last: counts by type from the index alone)",
     "SELECT id FROM human_task WHERE scope_kind = 'institution' AND scope_id = 1 AND status = :open "
     "ORDER BY due_at, id LIMIT 20"),
    ("ix_human_task_scope_arrived", "", "inbox/tasks.py 待办任务, by arrival (keyset)",
     "SELECT id FROM human_task WHERE scope_kind = 'institution' AND scope_id = 1 AND status = :open "
     "ORDER BY created_at, id LIMIT 20"),
    ("ix_human_task_scope_claim", "", "inbox/tasks.py inbox_counts 我的 / 未认领 (header counts)",
     "SELECT count(*) FROM (SELECT id FROM human_task WHERE scope_kind = 'institution' AND scope_id = 1 "
     "AND status = 'open' AND claimed_by_id = 5 LIMIT 1000) AS t"),
    ("ix_audit_event_object_id", "", "backoffice/instances.py an instance's 审计记录",
     "SELECT id FROM audit_event WHERE object_id = '1' ORDER BY id"),
    ("uq_outbox_message_dedupe_key", "sqlite_autoindex_outbox_message_1", "platform/outbox.py enqueue (dedupe, unique)",
     "SELECT id FROM outbox_message WHERE dedupe_key = 'close:1:sms:1'"),
    ("ix_outbox_message_status", "", "platform/outbox.py dispatch_pending (the sweep)",
     "SELECT id FROM outbox_message WHERE status = 'pending' AND channel <> 'inbox' ORDER BY id LIMIT 100"),
    ("ix_outbox_message_unread", "", "platform/messages.py the unread count in every page's header",
     "SELECT count(*) FROM outbox_message WHERE recipient_user_id = 1 AND channel = 'inbox' "
     "AND read_at IS NULL"),
]
TABLES = ("process_instance", "human_task", "audit_event", "outbox_message")


def _indexes(postgres: bool) -> set[str]:
    if postgres:
        rows = db.session.execute(text(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = ANY(:t) AND indexname NOT LIKE 'pk\\_%'"), {"t": list(TABLES)})
    else:
        rows = db.session.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN "
            "('process_instance', 'human_task', 'audit_event', 'outbox_message')"))
    return {str(r[0]) for r in rows}


def run(url: str | None, schema: str) -> dict[str, Any]:
    app = bench_app(url, schema)
    out: list[dict[str, Any]] = []
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
        if postgres:
            db.session.execute(text("SET enable_seqscan = off"))
        present = _indexes(postgres)
        for pg_name, lite_name, where, sql in QUERIES:
            name = pg_name if postgres else (lite_name or pg_name)
            prefix = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
            params = {"open": "open"} if ":open" in sql else {}
            plan = [str(r[-1]) for r in db.session.execute(text(prefix + sql), params)]
            line = next((p for p in plan if name in p), " / ".join(plan))
            out.append({"index": name, "used_by": where, "query": sql, "plan": line.strip(),
                        "used": any(name in p for p in plan)})
        dialect = db.engine.dialect.name
        db.session.remove()
    listed = {r["index"] for r in out}
    return {"database": dialect, "indexes": out, "not_audited": sorted(present - listed),
            "all_used": all(r["used"] for r in out) and not (present - listed)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--schema", default="public")
    args = ap.parse_args()
    print(json.dumps(run(args.database_url, args.schema), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
