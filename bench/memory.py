"""Benchmark: the memory of every process of a set-up, after the journey's pages were served.

Set-ups, each started on the same database (seeded demo data):

* ``embedded`` — ``make run``: one ``flask run`` process with the scheduler in process;
* ``production`` — gunicorn with 1 worker (master + worker, ``deploy/gunicorn.conf.py``) and one
  scheduler process ``python -m app.sweeper`` (the slim scheduler app; it loads the engine when
  a timer is due and replaces itself after ``MEDREG_SWEEPER_IDLE_SECONDS`` without work);
* ``production-preload`` — the same with gunicorn ``--preload`` (the app loaded in the master and
  the worker forked from it);
* ``production-full-scheduler`` — gunicorn and ``flask --app app scheduler run``, the scheduler
  as this issue found it (the whole web app in the scheduler process).

Each set-up serves ``--rounds`` rounds of the journey's pages (the institution and the
commission sign in, open 待办任务 and the first task; a physician signs in and opens 业务查询),
waits for a few scheduler sweeps, then reads ``/proc/<pid>/smaps_rollup`` of every process:
RSS, PSS (shared pages divided among the processes sharing them) and USS (private pages), and
from ``/proc/<pid>/pagemap`` the set-up's distinct pages (each physical page once, whoever else
shares it: what the set-up needs on a machine of its own; frame numbers need root). The
seeded data gives the first scheduler started on it work (the day rules start cases), so it
may hold the engine at that reading; then the set-up is read again (``idle``) once it has
replaced itself.

    .venv/bin/python bench/memory.py [--database-url $PG] [--rounds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from bench.common import bench_app  # noqa: E402
from bench.common import machine  # noqa: E402
from bench.common import stop  # noqa: E402
from bench.common import with_schema  # noqa: E402
from tests.waiting import listening_socket  # noqa: E402
from tests.waiting import wait_for_http  # noqa: E402

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
TASK_LINK = re.compile(r'href="/inbox/tasks/(\d+)"')
SPIFFARENA_MIB = 156.0  # its single process (issue 14)
IDLE_WAIT_SECONDS = 180.0  # MEDREG_SWEEPER_IDLE_SECONDS is 60
SETUPS = ("embedded", "production", "production-preload", "production-full-scheduler")


def smaps(pid: int) -> dict[str, float]:
    """RSS, PSS and USS (private clean + dirty) of one process, in MiB."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        fields[name] = int(rest.split()[0])
    uss = fields["Private_Clean"] + fields["Private_Dirty"]
    return {"rss": round(fields["Rss"] / 1024, 1), "pss": round(fields["Pss"] / 1024, 1),
            "uss": round(uss / 1024, 1)}


def frames(pid: int) -> set[int]:
    """The physical pages (frame numbers) the process has in memory, from /proc/<pid>/pagemap
    (frame numbers need root; an empty set otherwise)."""
    present, pfn_mask, out = 1 << 63, (1 << 55) - 1, set()
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for line in maps:
            start, end = (int(x, 16) for x in line.split()[0].split("-"))
            if line.rstrip().endswith("[vsyscall]"):
                continue
            pagemap.seek(start // 4096 * 8)
            data = pagemap.read((end - start) // 4096 * 8)
            for (entry,) in struct.iter_unpack("Q", data):
                if entry & present and entry & pfn_mask:
                    out.add(entry & pfn_mask)
    return out


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in out.split()]


def _journey(base: str, rounds: int) -> int:
    """The pages people open; returns how many requests were answered below 400."""
    ok = 0
    people = (("jigou01", "Jigou2026", "/inbox/"), ("weijian01", "Weijian2026", "/inbox/"),
              ("doctor02", "Doctor2026", "/physician/applications"))
    for _ in range(rounds):
        for username, password, page in people:
            s = requests.Session()
            token = TOKEN.search(s.get(f"{base}/login", timeout=30).text)
            assert token is not None, "the sign-in page has a CSRF token"
            r = s.post(f"{base}/login", data={"csrf_token": token.group(1), "username": username,
                                               "password": password}, timeout=30)
            ok += r.status_code < 400
            listing = s.get(f"{base}{page}", timeout=30)
            ok += listing.status_code < 400
            for task_id in TASK_LINK.findall(listing.text)[:1]:
                ok += s.get(f"{base}/inbox/tasks/{task_id}", timeout=30).status_code < 400
    return ok


def _start(setup: str, env: dict[str, str], log: str) -> tuple[list[subprocess.Popen[bytes]], str]:
    """Start a set-up; its processes (the first is the web server) and its address."""
    py = sys.executable
    with listening_socket() as listener:
        port = listener.getsockname()[1]
        if setup == "embedded":
            listener.close()  # flask run binds the port itself
            web = subprocess.Popen([py, "-m", "flask", "--app", "app", "run", "--port", str(port)],
                                   cwd=ROOT, env={**env, "MEDREG_SCHEDULER": "on"},
                                   stdout=subprocess.DEVNULL, stderr=open(f"{log}-web.log", "w"))
            procs = [web]
        else:
            preload = ["--preload"] if setup == "production-preload" else []
            conf = str(ROOT / "deploy" / "gunicorn.conf.py")  # as deployed: JSON logs, max_requests
            web = subprocess.Popen([py, "-m", "gunicorn", "-c", conf, "-w", "1", *preload,
                                    "-b", f"fd://{listener.fileno()}", "app:create_app()"],
                                   cwd=ROOT, env=env, pass_fds=(listener.fileno(),),
                                   stdout=subprocess.DEVNULL, stderr=open(f"{log}-web.log", "w"))
            sched_cmd = ([py, "-m", "flask", "--app", "app", "scheduler", "run"]
                         if setup == "production-full-scheduler" else [py, "-m", "app.sweeper"])
            procs = [web, subprocess.Popen(sched_cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                           stderr=open(f"{log}-scheduler.log", "w"))]
    base = f"http://127.0.0.1:{port}"
    wait_for_http(f"{base}/login", f"{setup} serving the sign-in page (log: {log}-web.log)", processes=procs)
    return procs, base


def _named(setup: str, procs: list[subprocess.Popen[bytes]]) -> list[tuple[str, int]]:
    """Every process of the set-up now, named."""
    if setup == "embedded":
        return [("flask run + scheduler", procs[0].pid)]
    named = [("gunicorn master", procs[0].pid)]
    named += [("gunicorn worker", pid) for pid in _children(procs[0].pid)]
    named.append(("scheduler", procs[1].pid))
    return named


def _holds_engine(pid: int) -> bool:
    """Whether the process has loaded the engine (SpiffWorkflow's parser maps lxml)."""
    return "lxml/etree" in Path(f"/proc/{pid}/maps").read_text()


def _reading(named: list[tuple[str, int]]) -> dict[str, Any]:
    per = [{"process": name, "pid": pid, **smaps(pid)} for name, pid in named]
    total = {k: round(sum(p[k] for p in per), 1) for k in ("rss", "pss", "uss")}
    pages: set[int] = set()
    for _name, pid in named:
        try:
            pages |= frames(pid)
        except OSError:  # not root: no frame numbers
            pages = set()
            break
    # every page of the set-up once, however many of its processes (or others) share it
    distinct = round(len(pages) * 4096 / 2**20, 1) if pages else None
    return {"processes": per, "total_mib": {**total, "distinct": distinct},
            "pss_total_vs_spiffarena": round(total["pss"] / SPIFFARENA_MIB, 2),
            "rss_total_vs_spiffarena": round(total["rss"] / SPIFFARENA_MIB, 2)}


def measure(setup: str, env: dict[str, str], rounds: int, settle: float, log: str,
            idle_wait: float) -> dict[str, Any]:
    """Read every process after the journey and the settle time; if the production scheduler
    holds the engine (it fired timers or started cases), read them again once it has replaced
    itself (``idle``; ``flask scheduler run`` never does)."""
    procs, base = _start(setup, env, log)
    try:
        answered = _journey(base, rounds)
        time.sleep(settle)  # a few sweeps of the scheduler
        out = {**_reading(_named(setup, procs)), "answered": answered}
        if setup == "production" and _holds_engine(procs[1].pid) and idle_wait > 0:
            started = time.monotonic()
            while _holds_engine(procs[1].pid) and time.monotonic() - started < idle_wait:
                time.sleep(1.0)
            if not _holds_engine(procs[1].pid):
                time.sleep(settle)  # the fresh process's first sweeps
                out["idle"] = {**_reading(_named(setup, procs)),
                               "waited_s": round(time.monotonic() - started, 1)}
    finally:
        stop(procs)
    return out


def run(url: str | None, schema: str, rounds: int, settle: float, setups: list[str],
        sweeper_idle: float | None = None) -> dict[str, Any]:
    from app.extensions import db
    from app.services.platform import seed

    app = bench_app(url, schema)
    with app.app_context():
        seed.seed_demo(app.config["MEDREG_UPLOAD_DIR"])
        db.session.remove()
    db_url = app.config["SQLALCHEMY_DATABASE_URI"]
    if db_url.startswith("postgresql") and schema != "public" and "search_path" not in db_url:
        db_url = with_schema(db_url, schema)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDREG_")}
    env.update({"MEDREG_ENV": "development", "DATABASE_URL": db_url, "SECRET_KEY": "memory-bench",
                "MEDREG_SCHEDULER": "off", "MEDREG_CAPTCHA": "off", "MEDREG_RATELIMIT": "off",
                "MEDREG_MAIL_BACKEND": "log", "MEDREG_SWEEP_SECONDS": "1",
                "MEDREG_UPLOAD_DIR": app.config["MEDREG_UPLOAD_DIR"], "PYTHONPATH": str(ROOT)})
    if sweeper_idle is not None:  # else as deployed (60 s)
        env["MEDREG_SWEEPER_IDLE_SECONDS"] = str(sweeper_idle)
    tmp = tempfile.mkdtemp(prefix="medreg-memory-")
    out: dict[str, Any] = {"database": db_url.split(":")[0], "machine": machine(), "rounds": rounds,
                           "spiffarena_mib": SPIFFARENA_MIB, "setups": {}}
    for setup in setups:
        wait = (60.0 if sweeper_idle is None else sweeper_idle) + 60.0  # a longer idle: no second reading
        idle_wait = wait if wait <= IDLE_WAIT_SECONDS else 0.0
        out["setups"][setup] = measure(setup, env, rounds, settle, f"{tmp}/{setup}", idle_wait)
        got = out["setups"][setup]
        print(json.dumps({setup: got["total_mib"], "idle": got.get("idle", {}).get("total_mib")}),
              file=sys.stderr, flush=True)
    out["logs"] = tmp
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    ap.add_argument("--schema", default="bench_memory", help="PostgreSQL schema to (re)create and use")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--settle", type=float, default=3.0, help="seconds of scheduler sweeps before measuring")
    ap.add_argument("--setups", default=",".join(SETUPS))
    ap.add_argument("--sweeper-idle", type=float, default=None,
                    help="MEDREG_SWEEPER_IDLE_SECONDS of the scheduler (default: as deployed, 60)")
    args = ap.parse_args()
    setups = [s for s in args.setups.split(",") if s]
    print(json.dumps(run(args.database_url, args.schema, args.rounds, args.settle, setups, args.sweeper_idle),
                     ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
