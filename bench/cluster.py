"""A multi-process deployment on this machine, proven: two web nodes, two schedulers, Redis,
PostgreSQL; one node and one scheduler killed (SIGKILL) in the middle of the journey.

Starts Redis (its own port and directory), two gunicorn nodes (2 workers each, their own
ports, one upload directory, one SECRET_KEY, Redis as the rate-limit store, one trusted proxy
hop) and two ``flask scheduler run`` processes on a fresh database, then runs the 20-user
journey of bench/locustfile.py (bench/cluster_locustfile.py: users split over the nodes, a
failed request sent once more to the other node as a reloading browser does) in three phases:

1. throughput, one node (no think time);
2. throughput, two nodes (no think time);
3. failover: the journey with its think times, timers due all through it, and at half time
   node 2 (its whole process group) and scheduler 1 killed with SIGKILL.

Then checks: no failed request after the one retry, every acknowledged submission stored
exactly once (by its form's idempotency token), every timer fired exactly once (its
``task.reminder`` audit event), the audit chain intact, the read model matching the
workflows. Prints JSON. Every process it started is killed on the way out.

    .venv/bin/python bench/cluster.py --database-url postgresql+psycopg://… [--users 20]
        [--seconds 120] [--throughput-seconds 60] [--timers 200]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func  # noqa: E402
from sqlalchemy import select  # noqa: E402

from app.extensions import db  # noqa: E402
from bench import load  # noqa: E402
from bench.common import machine  # noqa: E402
from bench.common import with_schema  # noqa: E402
from bench.timers import add_timer_instances  # noqa: E402
from tests.waiting import listening_socket  # noqa: E402
from tests.waiting import wait_for_http  # noqa: E402
from tests.waiting import wait_until  # noqa: E402

SECRET = "cluster-secret-shared-by-every-node"  # noqa: S105 - a benchmark's throwaway key


def _own_group_dies_with_us() -> None:
    """In the child: a process group of its own, and SIGKILL when this script dies, however."""
    import ctypes

    os.setsid()
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Cluster:
    """The processes started here, each in a process group of its own."""

    def __init__(self, tmp: str) -> None:
        self.tmp = tmp
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, args: list[str], env: dict[str, str], **kw: Any) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, preexec_fn=_own_group_dies_with_us,  # noqa: PLW1509
                                stdout=subprocess.DEVNULL,
                                stderr=open(f"{self.tmp}/{name}.log", "w"), **kw)
        self.procs[name] = proc
        return proc

    def kill(self, name: str) -> None:
        """SIGKILL the process and everything in its group (a node: master and workers)."""
        proc = self.procs[name]
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:  # the group too: workers a killed master left behind
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.poll()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_redis(cluster: Cluster) -> str:
    for _attempt in range(5):
        port = _free_port()
        data = Path(cluster.tmp) / "redis"
        data.mkdir(exist_ok=True)
        proc = cluster.start("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                       "--save", "", "--appendonly", "no", "--dir", str(data)], os.environ.copy())
        url = f"redis://127.0.0.1:{port}/0"

        def answers(url: str = url) -> bool:
            import redis
            return bool(redis.Redis.from_url(url).ping())

        try:
            wait_until(answers, "redis-server answering", timeout=20, processes=[proc])
            return url
        except AssertionError:
            cluster.kill("redis")
    raise RuntimeError("redis-server would not start (see its log in " + cluster.tmp + ")")


def _start_node(cluster: Cluster, name: str, env: dict[str, str]) -> str:
    with listening_socket() as listener:  # gunicorn inherits it: no port to race for
        port = listener.getsockname()[1]
        # the worker class and keep-alive of deploy/gunicorn.conf.py (gthread, one thread each)
        proc = cluster.start(name, [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"fd://{listener.fileno()}",
                                    "-k", "gthread", "--threads", "1", "--keep-alive", "5",
                                    "--timeout", "60", "-c", "bench/cluster_gunicorn.py", "app:create_app()"],
                             env, pass_fds=(listener.fileno(),))
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/login", f"{name} serving the sign-in page (log: {cluster.tmp}/{name}.log)",
                  processes=[proc])
    return url


def _phase(cluster: Cluster, env: dict[str, str], name: str, nodes: list[str], users: int, seconds: float,
           first: int, saturate: bool, kill_at: float | None = None,
           kill: tuple[str, ...] = ()) -> dict[str, Any]:
    """One locust run over ``nodes``; at ``kill_at`` seconds the named processes are killed."""
    prefix = f"{cluster.tmp}/{name}"
    phase_env = {**env, "MEDREG_CLUSTER_NODES": ",".join(nodes), "MEDREG_CLUSTER_FIRST": str(first),
                 "MEDREG_CLUSTER_ACKS": f"{prefix}-acks.jsonl", "MEDREG_CLUSTER_RETRIES": f"{prefix}-retries.jsonl",
                 "MEDREG_CLUSTER_SATURATE": "1" if saturate else "0", "PYTHONPATH": str(ROOT)}
    for suffix in ("acks", "retries"):
        Path(f"{prefix}-{suffix}.jsonl").touch()
    locust = cluster.start(f"locust-{name}", [
        sys.executable, "-m", "locust", "-f", "bench/cluster_locustfile.py", "--headless", "-u", str(users),
        "-r", str(users), "-t", f"{int(seconds)}s", "--host", nodes[0], "--csv", prefix,
        "--only-summary", "--loglevel", "WARNING"], phase_env)
    started, killed = time.monotonic(), False
    while locust.poll() is None:
        time.sleep(0.2)
        if kill_at is not None and not killed and time.monotonic() - started >= kill_at:
            for proc in kill:
                cluster.kill(proc)
            killed = True
    elapsed = time.monotonic() - started
    if locust.returncode not in (0, 1):  # 1: some request failed (counted below)
        raise RuntimeError(f"locust {name} exited {locust.returncode}: see {prefix}… and locust-{name}.log")
    report = load._report(prefix)
    total = report.get("全部", {})
    acks = [json.loads(line) for line in open(f"{prefix}-acks.jsonl", encoding="utf-8")]
    retries = [json.loads(line) for line in open(f"{prefix}-retries.jsonl", encoding="utf-8")]
    return {"nodes": len(nodes), "users": users, "seconds": seconds, "requests": total.get("requests", 0),
            "failed_requests": total.get("failures", 0), "rps": round(total.get("requests", 0) / seconds, 2),
            "p50_ms": total.get("p50_ms"), "p95_ms": total.get("p95_ms"), "retried_on_other_node": len(retries),
            "retry_causes": dict(Counter(r["error"] for r in retries)),
            # a sign-in the dead node had done but not answered: its retry carries the session
            # token that sign-in replaced, so the form's CSRF check refuses it (400)
            "sign_ins_refused_after_lost_answer": sum(1 for r in retries if r["method"] == "POST"
                                                      and r["path"] == "/login" and r.get("then") == 400),
            "killed": list(kill) if killed else [],
            "failures": _failures(prefix),
            "elapsed_s": round(elapsed, 1), "_acks": acks, "endpoints": report}


def _failures(prefix: str) -> list[dict[str, Any]]:
    """Locust's failure table (method, page, error, count): what a failed request was."""
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as f:
        return [{"method": row["Method"], "name": row["Name"], "error": row["Error"][:300],
                 "occurrences": int(row["Occurrences"])} for row in csv.DictReader(f)]


def _check_acks(app: Any, acks: list[dict[str, Any]]) -> dict[str, Any]:
    """Every acknowledged submission's token stored with its result, each application once."""
    from app.models import ProcessInstance
    from app.models import SubmissionToken
    from app.models import User

    with app.app_context():
        tokens = {t.token: t.result_id for t in db.session.scalars(select(SubmissionToken).where(
            SubmissionToken.token.in_([a["token"] for a in acks])))} if acks else {}
        lost = [a for a in acks if tokens.get(a["token"]) is None]
        apps = [a for a in acks if "/physician/applications/" in a["location"]]
        app_ids = {int(a["location"].rstrip("/").rsplit("/", 1)[1]) for a in apps}
        stored = set(db.session.scalars(select(ProcessInstance.id).where(ProcessInstance.id.in_(app_ids)))) \
            if app_ids else set()
        twice = db.session.execute(
            select(ProcessInstance.subject_user_id, func.count()).join(User, User.id == ProcessInstance.subject_user_id)
            .where(User.username.like("load0%"), ProcessInstance.process_id == "registration")
            .group_by(ProcessInstance.subject_user_id).having(func.count() > 1)).all()
        db.session.remove()
    return {"acknowledged_submissions": len(acks), "acknowledged_applications": len(apps),
            "acknowledged_task_decisions": len(acks) - len(apps),
            "lost_acknowledged": len(lost) + len(app_ids - stored),
            "physicians_with_two_applications": len(twice)}


def _check_timers(app: Any, ids: list[int]) -> dict[str, Any]:
    from app.models import AuditEvent
    from app.models import ProcessInstance

    with app.app_context():
        fired = Counter(db.session.scalars(select(AuditEvent.object_id).where(
            AuditEvent.action == "task.reminder", AuditEvent.object_id.in_([str(i) for i in ids]))))
        errors = db.session.scalar(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.id.in_(ids), ProcessInstance.error.is_not(None)))
        db.session.remove()
    return {"timers": len(ids), "fired_once": sum(1 for i in ids if fired[str(i)] == 1),
            "fired_twice_or_more": sum(1 for i in ids if fired[str(i)] > 1),
            "not_fired": sum(1 for i in ids if fired[str(i)] == 0), "errors": errors}


def _elsewhere(ids: list[int], hospital: int) -> None:
    """The timers' applications wait at another institution: the journey's staff do not open
    them (their diagram is no business type with a task page)."""
    from sqlalchemy import update

    from app.models import Institution
    from app.models import ProcessInstance

    other = db.session.scalar(select(Institution.id).where(Institution.id != hospital).order_by(Institution.id))
    db.session.execute(update(ProcessInstance).where(ProcessInstance.id.in_(ids)).values(institution_id=other))
    db.session.commit()


def _timers_left(app: Any, ids: list[int]) -> int:
    from app.models import ProcessInstance

    with app.app_context():
        left = db.session.scalar(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.id.in_(ids), ProcessInstance.next_timer_at.is_not(None)))
        db.session.remove()
    return int(left or 0)


def run(url: str | None, schema: str, users: int, seconds: float, throughput_seconds: float,
        n_timers: int) -> dict[str, Any]:
    from app.models.base import utcnow

    per_phase = max(50, users * int(max(seconds, throughput_seconds)) // 2)  # physicians a phase may use
    app, info = load._setup(url, schema, 4 * per_phase)
    tmp = tempfile.mkdtemp(prefix="medreg-cluster-")
    cluster = Cluster(tmp)
    db_url = app.config["SQLALCHEMY_DATABASE_URI"]
    if db_url.startswith("postgresql") and schema != "public" and "search_path" not in db_url:
        db_url = with_schema(db_url, schema)
    try:
        redis_url = _start_redis(cluster)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEDREG_")}
        env.update({"MEDREG_ENV": "development", "DATABASE_URL": db_url, "SECRET_KEY": SECRET,
                    "MEDREG_SCHEDULER": "off", "MEDREG_CAPTCHA": "off", "MEDREG_MAIL_BACKEND": "log",
                    "RATELIMIT_STORAGE_URI": redis_url, "MEDREG_PROXY_HOPS": "1",
                    "MEDREG_UPLOAD_DIR": app.config["MEDREG_UPLOAD_DIR"], "MEDREG_LOAD_SETUP": json.dumps(info)})
        nodes = [_start_node(cluster, "node1", env), _start_node(cluster, "node2", env)]
        for name in ("scheduler1", "scheduler2"):
            cluster.start(name, [sys.executable, "-m", "flask", "--app", "app", "scheduler", "run"], env)
        warm = _phase(cluster, env, "warm-up", nodes, users, max(3.0, throughput_seconds / 4), 0, saturate=True)
        one = _phase(cluster, env, "one-node", nodes[:1], users, throughput_seconds, per_phase, saturate=True)
        two = _phase(cluster, env, "two-nodes", nodes, users, throughput_seconds, 2 * per_phase, saturate=True)
        with app.app_context():  # due all through the failover phase, some just after the kill
            start = utcnow() + timedelta(seconds=5)
            span = max(1.0, seconds - 5)
            timer_ids = list(add_timer_instances(
                [start + timedelta(seconds=span * i / max(1, n_timers - 1)) for i in range(n_timers)]))
            _elsewhere(timer_ids, info["institution_id"])
            db.session.remove()
        fail = _phase(cluster, env, "failover", nodes, users, seconds, 3 * per_phase, saturate=False,
                      kill_at=seconds / 2, kill=("node2", "scheduler1"))
        wait_until(lambda: _timers_left(app, timer_ids) == 0, "the surviving scheduler firing every timer",
                   timeout=120, interval=1.0, processes=[cluster.procs["scheduler2"]])
        import redis
        limit_keys = len(redis.Redis.from_url(redis_url).keys("LIMITS*"))
    finally:
        cluster.stop_all()
    acks = warm.pop("_acks") + one.pop("_acks") + two.pop("_acks") + fail.pop("_acks")
    check = load._check(app)
    stored = _check_acks(app, acks)
    timers = _check_timers(app, timer_ids)
    cores = os.cpu_count() or 1
    return {
        "database": app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0], "machine": machine(), "cores": cores,
        "set_up": {"web_nodes": 2, "workers_per_node": 2, "schedulers": 2, "rate_limit_store": "redis",
                   "upload_dir_shared": True, "users": users},
        "failed_requests_after_retry": sum(p["failed_requests"] for p in (warm, one, two, fail)),
        "failed_after_retry": [{"phase": name, **f} for name, p in
                               (("warm_up", warm), ("one_node", one), ("two_nodes", two), ("failover", fail))
                               for f in p["failures"]],
        "of_which_sign_ins_refused_after_lost_answer": sum(p["sign_ins_refused_after_lost_answer"]
                                                           for p in (warm, one, two, fail)),
        **stored, "timers": timers,
        "every_timer_fired_once": timers["fired_once"] == timers["timers"] and not timers["errors"],
        "audit_chain_broken_at": check["audit_chain_broken_at"], "read_model_mismatches": check["mismatched"],
        "instances": check["instances"], "approved": check["approved"],
        "rate_limit_keys_in_redis": limit_keys,
        "throughput": {"one_node_rps": one["rps"], "two_nodes_rps": two["rps"],
                       "one_node_rps_per_core": round(one["rps"] / cores, 2),
                       "two_nodes_rps_per_core": round(two["rps"] / cores, 2),
                       "two_to_one": round(two["rps"] / one["rps"], 2) if one["rps"] else None},
        "phases": {"warm_up": warm, "one_node": one, "two_nodes": two, "failover": fail}, "logs": tmp}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    ap.add_argument("--schema", default="bench_cluster")
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=120, help="the failover phase (kills at half time)")
    ap.add_argument("--throughput-seconds", type=float, default=60, help="each throughput phase")
    ap.add_argument("--timers", type=int, default=200, help="timers due during the failover phase")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the finally clauses stop the cluster
    if not (args.database_url or "").startswith("postgresql"):
        ap.error("a PostgreSQL --database-url: several processes write at once (bench/pg.sh prints one)")
    result = run(args.database_url, args.schema, args.users, args.seconds, args.throughput_seconds, args.timers)
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
