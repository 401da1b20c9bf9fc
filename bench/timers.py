"""Benchmark: how late timers fire. ``--n`` applications (default 1,000) each wait on a user
task with a timer due at a random moment within the next ``--window`` seconds (default 60);
the scheduler sweeper of the app (APScheduler, the production interval) fires them in this
process, and each timer's lateness is the moment its step ran minus its due time.

    .venv/bin/python bench/timers.py [--n 1000] [--window 60] [--database-url URL --schema S]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func  # noqa: E402
from sqlalchemy import select  # noqa: E402

from app.extensions import db  # noqa: E402
from bench.common import bench_app  # noqa: E402
from bench.common import machine  # noqa: E402
from bench.common import pct  # noqa: E402
from tests.waiting import wait_until  # noqa: E402

DIAGRAM = Path(__file__).resolve().parent / "data" / "timer.bpmn"


def add_timer_instances(dues: list[Any]) -> dict[int, Any]:
    """One waiting application per due time (UTC datetimes) on the timer diagram; returns
    instance id -> due time. Runs in an app context; commits."""
    from app.models import Institution
    from app.models import ProcessDefinition
    from app.models import ProcessInstance
    from app.models.base import utcnow
    from app.services.backoffice import definitions
    from app.services.engine.clock import script_functions
    from app.services.engine.workdays import chinesecalendar_calendar
    from app.workflow import Runtime
    from app.workflow import load_definition
    from app.workflow.engine import SERIALIZER_VERSION

    xml = DIAGRAM.read_text("utf-8")
    defn = load_definition(xml, "bench_timer")
    row = db.session.scalar(select(ProcessDefinition).where(ProcessDefinition.process_id == "bench_timer"))
    if row is None:
        forms = definitions.all_forms()
        row = ProcessDefinition(process_id="bench_timer", version=1, name=defn.name, bpmn_xml=xml,
                                forms={"institution_confirm": forms["institution_confirm"]},
                                spec_json=defn.spec_json, sha256=hashlib.sha256(xml.encode()).hexdigest(),
                                published_at=utcnow())
        db.session.add(row)
        db.session.flush()
    hospital = db.session.scalar(select(Institution.id).order_by(Institution.id))
    functions = script_functions(chinesecalendar_calendar())
    out: dict[int, Any] = {}
    for due in dues:
        rt = Runtime.start(defn, {"due": due.isoformat()}, functions=functions)
        inst = ProcessInstance(process_id="bench_timer", definition_id=row.id, business_status="待机构确认",
                               institution_id=hospital, application={}, workflow_json=rt.dump(),
                               serializer_version=SERIALIZER_VERSION, next_timer_at=rt.next_timer_at())
        db.session.add(inst)
        db.session.flush()
        out[inst.id] = due
    db.session.commit()
    return out


def run(n: int, window: float, url: str | None, schema: str) -> dict[str, Any]:
    from app.models import ProcessInstance
    from app.models.base import utcnow
    from app.services.platform import scheduler
    from app.services.platform import seed
    app = bench_app(url, schema)
    rng = random.Random(7)
    with app.app_context():
        seed.seed_demo(app.config["MEDREG_UPLOAD_DIR"])
        lead = 5.0 + n / 400  # time to store them all before the first is due
        start = utcnow() + timedelta(seconds=lead)
        due_at = add_timer_instances([start + timedelta(seconds=rng.uniform(0, window)) for _ in range(n)])
        assert utcnow() < start, "storing the timers took longer than the lead time"
        db.session.remove()
    scheduler.start(app)

    def all_fired() -> bool:
        with app.app_context():
            left = db.session.scalar(select(func.count()).select_from(ProcessInstance).where(
                ProcessInstance.process_id == "bench_timer", ProcessInstance.next_timer_at.is_not(None)))
            db.session.remove()
        return not left

    try:
        wait_until(all_fired, f"the sweeper firing {n} timers", timeout=lead + window + 120, interval=1.0)
    finally:
        scheduler.stop(app)
    with app.app_context():
        rows = db.session.execute(select(ProcessInstance.id, ProcessInstance.updated_at, ProcessInstance.error)
                                  .where(ProcessInstance.process_id == "bench_timer")).all()
        late = [(updated - due_at[iid]).total_seconds() for iid, updated, _e in rows
                if updated is not None and updated >= due_at[iid]]
        errors = sum(1 for _i, _u, e in rows if e)
        dialect = db.engine.dialect.name
        db.session.remove()
    return {"database": dialect, "timers": n, "window_s": window, "fired": len(late), "errors": errors,
            "sweep_interval_s": app.config["MEDREG_SWEEP_SECONDS"],
            "lateness_p50_s": pct(late, 0.5), "lateness_p95_s": pct(late, 0.95),
            "lateness_p99_s": pct(late, 0.99), "lateness_max_s": round(max(late), 2), "machine": machine()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--window", type=float, default=60.0)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--schema", default="public")
    args = ap.parse_args()
    print(json.dumps(run(args.n, args.window, args.database_url, args.schema), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
