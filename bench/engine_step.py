"""Benchmark: completing one user task through the service layer vs. the durable floor.

The floor is what any correct implementation must pay at least: bare SpiffWorkflow
(deserialize the same stored state, complete the task, run engine steps, serialize)
plus one commit of the same JSON to the same database. The service layer adds
locking, form validation, the restricted script environment, the human-task sync,
the audit chain and the outbox. Both are measured in one run, interleaved, and
reported as a ratio (these machines are shared and noisy).

    .venv/bin/python bench/engine_step.py [--n 200] [--database-url URL] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine  # noqa: E402
from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment  # noqa: E402
from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry  # noqa: E402
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy import text  # noqa: E402

from app.extensions import db  # noqa: E402
from app.models import HumanTask  # noqa: E402
from app.models import ProcessInstance  # noqa: E402
from app.models import User  # noqa: E402
from bench.common import bench_app  # noqa: E402
from bench.common import machine  # noqa: E402
from bench.common import pct  # noqa: E402


def _world(n: int, upload_dir: str, start_ms: list[float] | None = None) -> list[int]:
    """n physicians, each with a 注册 application waiting for the institution (the time of
    each submission through the service layer goes to ``start_ms``)."""
    from app.models import Institution
    from app.models import Role
    from app.services.engine import processes
    from app.services.platform.seed import seed_demo
    from tests.factories import make_qualification
    from tests.factories import make_user

    seed_demo(upload_dir)
    hospital = db.session.scalar(select(Institution).order_by(Institution.id))
    assert hospital is not None
    ids = []
    for i in range(n):
        q = make_qualification(f"测试{i}", 200 + i)
        doctor = make_user(f"bench{i:05d}", Role.PHYSICIAN, f"测试{i}", qualification_id=q.id,
                           id_number=q.id_number, mobile="15175070658", mobile_verified=True)
        db.session.commit()
        from app.services.platform.seed import demo_payload

        payload = demo_payload(hospital, upload_dir, doctor)
        t0 = time.perf_counter()
        started = processes.start_application(doctor, "registration", payload, upload_dir)
        if start_ms is not None:
            start_ms.append((time.perf_counter() - t0) * 1000)
        ids.append(started.instance_id)
    return ids


def _floor_engine() -> tuple[BpmnWorkflowSerializer, PythonScriptEngine]:
    from app.services.engine.clock import script_functions
    from app.services.engine.workdays import chinesecalendar_calendar

    serializer = BpmnWorkflowSerializer(
        BpmnWorkflowSerializer.configure(dict(SPIFF_CONFIG), DefaultRegistry()))
    env = TaskDataEnvironment(script_functions(chinesecalendar_calendar()))
    return serializer, PythonScriptEngine(environment=env)


_listeners: list[tuple[str, Any]] = []


def _count_round_trips(seen: list[str], on: bool) -> None:
    """Record every statement sent (BEGIN and COMMIT as their own round trips on PostgreSQL;
    SQLite's BEGIN IMMEDIATE is a statement of its own) while ``on``."""
    from sqlalchemy import event
    engine = db.engine
    if not on:
        for name, fn in _listeners:
            event.remove(engine, name, fn)
        _listeners.clear()
        return

    def statement(_c: Any, _cur: Any, sql: str, *_a: Any) -> None:
        seen.append(" ".join(sql.split())[:60])

    def begin(_c: Any) -> None:
        seen.append("BEGIN")  # sent by the driver (psycopg; on SQLite app.services.platform.database)

    def commit(_c: Any) -> None:
        seen.append("COMMIT")

    for name, fn in (("before_cursor_execute", statement), ("begin", begin), ("commit", commit)):
        event.listen(engine, name, fn)
        _listeners.append((name, fn))


def run(n: int, url: str | None, smoke: bool, schema: str = "public") -> dict[str, Any]:
    app = bench_app(url, schema)
    from app.services.engine import processes
    start_ms: list[float] = []
    with app.app_context():
        ids = _world(n, app.config["MEDREG_UPLOAD_DIR"], start_ms)
        db.session.remove()
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE floor_state (id INTEGER PRIMARY KEY, body TEXT)"))
            conn.execute(text("INSERT INTO floor_state (id, body) VALUES (1, '')"))
        serializer, engine = _floor_engine()
        staff = db.session.scalar(select(User).where(User.username == "jigou01"))
        assert staff is not None
        db.session.expunge(staff)  # signed in: a request has the person before the step starts
        db.session.remove()
        service_ms, floor_ms, sizes = [], [], []
        trips: list[str] = []
        for iid in ids:
            inst = db.session.get(ProcessInstance, iid)
            assert inst is not None
            state = json.loads(inst.workflow_json)
            state.update(json.loads(inst.definition.spec_json))
            full = json.dumps(state)
            task_id = db.session.scalar(select(HumanTask.id).where(
                HumanTask.instance_id == iid, HumanTask.status == "open"))
            db.session.remove()

            t0 = time.perf_counter()
            wf = serializer.deserialize_json(full)
            wf.script_engine = engine
            task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
            task.set_data(decision="confirm", note="")
            task.run()
            wf.do_engine_steps()
            body = serializer.serialize_json(wf)
            with db.engine.begin() as conn:
                conn.execute(text("UPDATE floor_state SET body = :b WHERE id = 1"), {"b": body})
            floor_ms.append((time.perf_counter() - t0) * 1000)

            counting = not trips  # the first (warm-up) step: its round trips, BEGIN and COMMIT included
            if counting:
                _count_round_trips(trips, on=True)
            t0 = time.perf_counter()
            actor = db.session.merge(staff, load=False)  # no query
            processes.complete_task(actor, task_id, {"decision": "confirm", "paper_held": True, "note": ""})
            service_ms.append((time.perf_counter() - t0) * 1000)
            if counting:
                _count_round_trips(trips, on=False)
            sizes.append(len(db.session.get(ProcessInstance, iid).workflow_json))
            db.session.remove()
        dialect = db.engine.dialect.name
    skip = 0 if smoke else min(10, n // 10)  # warm-up
    s, f = service_ms[skip:], floor_ms[skip:]
    return {
        "database": dialect, "n": len(s),
        "service_p50_ms": pct(s, 0.5), "service_p95_ms": pct(s, 0.95),
        "floor_p50_ms": pct(f, 0.5), "floor_p95_ms": pct(f, 0.95),
        "ratio_p50": round(statistics.median(s) / statistics.median(f), 2),
        "round_trips_per_step": len(trips), "floor_round_trips": 3,  # BEGIN, UPDATE, COMMIT
        "step_statements": trips,
        "stored_state_bytes_p50": int(statistics.median(sizes)),
        "start_p50_ms": pct(start_ms[skip:], 0.5), "start_p95_ms": pct(start_ms[skip:], 0.95),
        "machine": machine(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--smoke", action="store_true", help="a few iterations, for `make test`")
    ap.add_argument("--schema", default="public", help="PostgreSQL schema to (re)create and use")
    args = ap.parse_args()
    result = run(3 if args.smoke else args.n, args.database_url, args.smoke, args.schema)
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
