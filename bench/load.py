"""Load test: gunicorn (2 workers) serving the whole registration journey to locust users.

Sets up a database (default: a schema of its own on PostgreSQL), creates physicians who
have not applied yet, starts gunicorn, runs locust headless (physicians apply with files,
institution staff confirm, commission officers accept and approve), samples each worker's
resident memory every second, optionally kills a worker with SIGKILL mid-run, then checks
that every acknowledged submission is stored and every instance's open tasks are those its
workflow waits on. Writes a JSON summary and a PNG of latency and throughput over time.

    .venv/bin/python bench/load.py --database-url postgresql+psycopg://… [--users 20]
        [--seconds 300] [--kill-at 120] [--out docs]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func  # noqa: E402
from sqlalchemy import select  # noqa: E402

from app.extensions import db  # noqa: E402
from bench.common import bench_app  # noqa: E402
from bench.common import machine  # noqa: E402
from bench.common import with_schema  # noqa: E402
from tests.waiting import listening_socket  # noqa: E402
from tests.waiting import wait_for_http  # noqa: E402

PASSWORD = "Passw0rd1"


def _setup(url: str | None, schema: str, physicians: int) -> tuple[Any, dict[str, Any]]:
    from app.models import Department
    from app.models import Institution
    from app.models import Role
    from app.models import User
    from app.services.platform import seed
    from tests.factories import make_qualification
    from tests.factories import make_user

    app = bench_app(url, schema)
    with app.app_context():
        seed.seed_demo(app.config["MEDREG_UPLOAD_DIR"])
        staff = db.session.scalar(select(User).where(User.username == "jigou01"))
        officer = db.session.scalar(select(User).where(User.username == "weijian01"))
        assert staff is not None and officer is not None
        hospital = db.session.get(Institution, staff.institution_id)
        assert hospital is not None
        dept = db.session.scalar(select(Department.id).where(Department.institution_id == hospital.id,
                                                             Department.subject_code.like("03%")))
        make_user("loadjigou", Role.INSTITUTION, "压测医务科", institution_id=hospital.id)
        make_user("loadweijian", Role.COMMISSION, "压测审批员", authority_id=officer.authority_id)
        for n in range(physicians):
            q = make_qualification(f"压测{n}", 1000 + n)
            make_user(f"load{n:05d}", Role.PHYSICIAN, f"压测{n}", qualification_id=q.id,
                      id_number=q.id_number, mobile="15175070658", mobile_verified=True)
            if n % 200 == 0:
                db.session.commit()
        db.session.commit()
        info = {"institution_id": hospital.id, "department_id": dept, "physicians": physicians,
                "institution_user": "loadjigou", "commission_user": "loadweijian", "password": PASSWORD}
        db.session.remove()
    return app, info


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in out.split()]


def _check(app: Any) -> dict[str, Any]:
    """Every acknowledged submission stored; every instance's open tasks = its ready tasks."""
    from app.models import HumanTask
    from app.models import ProcessInstance
    from app.models import User
    from app.services.backoffice import definitions
    from app.services.platform import audit
    from app.workflow import Runtime

    with app.app_context():
        ids = list(db.session.scalars(select(ProcessInstance.id).join(
            User, User.id == ProcessInstance.subject_user_id).where(User.username.like("load%"))))
        mismatched = []
        for iid in ids:
            inst = db.session.get(ProcessInstance, iid)
            rt = Runtime.restore(definitions.version_by_id(inst.definition_id).definition, inst.workflow_json)
            open_rows = set(db.session.scalars(select(HumanTask.task_guid).where(
                HumanTask.instance_id == iid, HumanTask.status == "open")))
            if {t.id for t in rt.ready_tasks()} != open_rows:
                mismatched.append(iid)
        completed = db.session.scalar(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.id.in_(ids), ProcessInstance.completed_at.is_not(None))) if ids else 0
        broken = audit.verify()
        db.session.remove()
    return {"instances": len(ids), "approved": completed, "mismatched": mismatched,
            "audit_chain_broken_at": broken[:10]}


def _report(csv_prefix: str) -> dict[str, Any]:
    rows = list(csv.DictReader(open(f"{csv_prefix}_stats.csv", encoding="utf-8")))
    out = {}
    for r in rows:
        name = r["Name"] if r["Type"] else "全部"
        out[f"{r['Type']} {name}".strip()] = {
            "requests": int(r["Request Count"]), "failures": int(r["Failure Count"]),
            "p50_ms": float(r["50%"] or 0), "p95_ms": float(r["95%"] or 0), "p99_ms": float(r["99%"] or 0),
            "rps": round(float(r["Requests/s"] or 0), 2)}
    return out


def _plot(csv_prefix: str, png: Path, kill_at: float | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in csv.DictReader(open(f"{csv_prefix}_stats_history.csv", encoding="utf-8"))
            if r["Name"] == "Aggregated" and r["50%"] not in ("N/A", "")]
    if not rows:
        return
    t0 = int(rows[0]["Timestamp"])
    t = [int(r["Timestamp"]) - t0 for r in rows]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.plot(t, [float(r["50%"]) for r in rows], label="p50 (ms)")
    ax.plot(t, [float(r["95%"]) for r in rows], label="p95 (ms)")
    ax.plot(t, [float(r["99%"]) for r in rows], label="p99 (ms)", alpha=0.6)
    ax.set_xlabel("seconds")
    ax.set_ylabel("latency, all endpoints (ms)")
    ax2 = ax.twinx()
    ax2.plot(t, [float(r["Requests/s"]) for r in rows], color="grey", alpha=0.5, label="requests/s")
    ax2.set_ylabel("requests/s")
    if kill_at:
        ax.axvline(kill_at, color="red", linestyle="--", label="SIGKILL one worker")
    lines = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    labels = ax.get_legend_handles_labels()[1] + ax2.get_legend_handles_labels()[1]
    ax.legend(lines, labels, loc="upper left", fontsize=8)
    ax.set_title("registration journey: gunicorn 2 workers, locust users")
    fig.tight_layout()
    fig.savefig(png, dpi=110)


def run(url: str | None, schema: str, users: int, seconds: int, kill_at: float | None,
        out_dir: Path, physicians: int | None) -> dict[str, Any]:
    physicians = physicians or max(50, users * seconds // 2)
    app, info = _setup(url, schema, physicians)
    tmp = tempfile.mkdtemp(prefix="medreg-load-")
    db_url = app.config["SQLALCHEMY_DATABASE_URI"]
    if db_url.startswith("postgresql") and schema != "public" and "search_path" not in db_url:
        db_url = with_schema(db_url, schema)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDREG_")}
    env.update({"MEDREG_ENV": "development", "DATABASE_URL": db_url,
                "SECRET_KEY": "load-test", "MEDREG_SCHEDULER": "off",
                "MEDREG_CAPTCHA": "off", "MEDREG_RATELIMIT": "off", "MEDREG_MAIL_BACKEND": "log",
                "MEDREG_UPLOAD_DIR": app.config["MEDREG_UPLOAD_DIR"], "MEDREG_LOAD_SETUP": json.dumps(info)})
    with listening_socket() as listener:  # gunicorn inherits it: no port to race for
        port = listener.getsockname()[1]
        master = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"fd://{listener.fileno()}",
                                   "--timeout", "60", "app:create_app()"], cwd=ROOT, env=env,
                                  pass_fds=(listener.fileno(),), stdout=subprocess.DEVNULL,
                                  stderr=open(f"{tmp}/gunicorn.log", "w"))
    wait_for_http(f"http://127.0.0.1:{port}/login", f"gunicorn serving the sign-in page (log: {tmp}/gunicorn.log)",
                  processes=[master])
    prefix = f"{tmp}/load"
    locust = subprocess.Popen([sys.executable, "-m", "locust", "-f", "bench/locustfile.py", "--headless",
                               "-u", str(users), "-r", str(max(1, users // 5)), "-t", f"{seconds}s",
                               "--host", f"http://127.0.0.1:{port}", "--csv", prefix, "--csv-full-history",
                               "--only-summary", "--loglevel", "WARNING"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=open(f"{tmp}/locust.log", "w"))
    rss: dict[int, list[int]] = {}
    started, killed = time.monotonic(), None
    while locust.poll() is None:
        time.sleep(1)
        for pid in _children(master.pid):
            rss.setdefault(pid, []).append(_rss_kib(pid))
        if kill_at and killed is None and time.monotonic() - started >= kill_at:
            killed = _children(master.pid)[0]
            os.kill(killed, signal.SIGKILL)
    master.send_signal(signal.SIGTERM)
    master.wait(timeout=60)
    report = _report(prefix)
    out_dir.mkdir(parents=True, exist_ok=True)
    _plot(prefix, out_dir / "load-latency.png", kill_at if killed else None)
    check = _check(app)
    submitted = report.get("POST 提交申请", {})
    acknowledged = submitted.get("requests", 0) - submitted.get("failures", 0)
    return {
        "database": app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0], "users": users, "seconds": seconds,
        "workers": 2, "killed_worker": killed, "machine": machine(),
        "throughput_rps": report.get("全部", {}).get("rps"), "endpoints": report,
        "acknowledged_submissions": acknowledged, "stored_instances": check["instances"],
        "every_acknowledged_stored": check["instances"] >= acknowledged,
        "approved": check["approved"], "read_model_mismatches": check["mismatched"],
        "audit_chain_broken_at": check["audit_chain_broken_at"],
        "rss_mib_per_worker": {str(pid): {"max": round(max(v) / 1024, 1), "last": round(v[-1] / 1024, 1)}
                               for pid, v in rss.items() if v and max(v)},
        "plot": str(out_dir / "load-latency.png"), "logs": tmp}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    ap.add_argument("--schema", default="bench_load")
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--seconds", type=int, default=300)
    ap.add_argument("--kill-at", type=float, default=None, help="SIGKILL one worker after this many seconds")
    ap.add_argument("--physicians", type=int, default=None)
    ap.add_argument("--out", default="docs")
    args = ap.parse_args()
    result = run(args.database_url, args.schema, args.users, args.seconds, args.kill_at, Path(args.out),
                 args.physicians)
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
