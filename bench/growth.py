"""Benchmark: does a step get slower, and the stored state larger, as an application goes
round the correction loop (医疗机构退回补正 → 医师修改并重新提交) again and again?

``--apps`` 注册 applications each go round ``--loops`` times (default 50); after loop 1, 10
and 50 the institution's next step (退回补正) is timed through the service layer and the
stored workflow state is measured. The ratios loop 50 / loop 1 are the figures.

    .venv/bin/python bench/growth.py [--apps 10] [--loops 50] [--database-url URL --schema S]
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

from sqlalchemy import select  # noqa: E402

from app.extensions import db  # noqa: E402
from bench.common import bench_app  # noqa: E402
from bench.common import machine  # noqa: E402

RETURN = {"decision": "return", "note": "请补充聘用证明", "fields": ["employment_proof"]}


def run(apps: int, loops: int, url: str | None, schema: str) -> dict[str, Any]:
    from app.models import HumanTask
    from app.models import ProcessInstance
    from app.models import User
    from app.services.engine import processes
    from bench.engine_step import _world

    checkpoints = sorted({1, 10, loops} & set(range(1, loops + 1)))
    app = bench_app(url, schema)
    step_ms: dict[int, list[float]] = {k: [] for k in checkpoints}
    size: dict[int, list[int]] = {k: [] for k in checkpoints}
    with app.app_context():
        ids = _world(apps, app.config["MEDREG_UPLOAD_DIR"])
        staff_id = db.session.scalar(select(User.id).where(User.username == "jigou01"))
        db.session.remove()
        for iid in ids:
            inst = db.session.get(ProcessInstance, iid)
            assert inst is not None
            doctor_id, application = inst.subject_user_id, dict(inst.application)
            db.session.remove()
            for loop in range(1, loops + 1):
                task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid,
                                                                 HumanTask.status == "open"))
                assert task is not None and task.task_spec_id == "institution_confirm", task
                task_id = task.id
                db.session.remove()
                staff = db.session.get(User, staff_id)
                t0 = time.perf_counter()
                processes.complete_task(staff, task_id, RETURN)
                elapsed = (time.perf_counter() - t0) * 1000
                if loop in step_ms:
                    step_ms[loop].append(elapsed)
                    size[loop].append(len(db.session.get(ProcessInstance, iid).workflow_json))
                db.session.remove()
                redo = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == iid,
                                                                    HumanTask.status == "open"))
                processes.complete_task(db.session.get(User, doctor_id), redo, application,
                                        app.config["MEDREG_UPLOAD_DIR"])
                db.session.remove()
        dialect = db.engine.dialect.name
    rows = {k: {"step_p50_ms": round(statistics.median(step_ms[k]), 2),
                "state_kib": round(statistics.median(size[k]) / 1024, 1)} for k in checkpoints}
    first, last = rows[checkpoints[0]], rows[checkpoints[-1]]
    return {"database": dialect, "applications": apps, "loops": rows,
            "step_ratio_last_to_first": round(last["step_p50_ms"] / first["step_p50_ms"], 2),
            "state_ratio_last_to_first": round(last["state_kib"] / first["state_kib"], 2),
            "machine": machine()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--apps", type=int, default=10)
    ap.add_argument("--loops", type=int, default=50)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--schema", default="public")
    args = ap.parse_args()
    print(json.dumps(run(args.apps, args.loops, args.database_url, args.schema), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
