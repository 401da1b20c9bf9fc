"""Benchmark: the 注册 journey side by side with SpiffArena, over HTTP, one driver (issue 14 goal 1).

Both servers run as one gunicorn worker on their own database (SQLite files, or PostgreSQL:
ours in a schema of its own, the peer in a database of its own). One driver process with one
HTTP client (``requests``) makes the calls a person's browser makes, round by round, and at every
step calls ours and then the peer (the order swaps each round) so the machine's load hits both
alike. A round is one application's whole journey:

=====================  ===================================  ==========================================
step                   ours (the pages a person uses)       SpiffArena (the API its frontend calls)
=====================  ===================================  ==========================================
open the start form    GET /physician/apply/registration    GET /tasks/{pi}/{task}?with_form_data
start an instance      POST the form (two files): the       POST /process-instances/{m}, POST …/run
                       instance waits at the institution    and PUT /tasks/{pi}/{task} (the start form)
list ready tasks       GET /inbox/ (institution)            GET /tasks (institution)
open a task            GET /inbox/tasks/{id}                GET /tasks/{pi}/{task}?with_form_data
complete a user task   POST /inbox/tasks/{id}/complete      PUT /tasks/{pi}/{task}
=====================  ===================================  ==========================================

list/open/complete happen three times a round (institution confirm, commission accept, commission
decide); "list ready tasks" is the institution's list, which holds ``--backlog`` waiting
applications plus the round's own on both sides (ours also lists the demo data's waiting
applications: the peer gets as many more; the counts are reported and compared). The whole
journey is the sum of a round's calls (sign-in not included: a person stays signed in).

Ours runs as production does: ``gunicorn -c deploy/gunicorn.conf.py`` with 1 worker and the
scheduler process ``python -m app.sweeper``. The peer is started by ``--peer-cmd`` (a command
with ``{port}`` and ``{db}``; docs/performance.md says how SpiffArena was set up) and gets the
process model of ``bench/data/spiffarena/`` uploaded through its API. After the rounds: database
growth per completed instance (SQLite pages in use after a checkpoint; PostgreSQL relation sizes
after VACUUM) and the memory (RSS, PSS) of every process of each side.

    .venv/bin/python bench/side_by_side.py --rounds 200 --peer-cmd 'bash /work/peer/run_peer.sh {port} {db}'
        [--database-url $PG --peer-db postgresql://…]      # both on PostgreSQL
    .venv/bin/python bench/side_by_side.py --ours-only --rounds 2          # no peer (the smoke test)
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from sqlalchemy import create_engine  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench import thin_http  # noqa: E402
from bench.common import bench_app  # noqa: E402
from bench.common import machine  # noqa: E402
from bench.common import pct  # noqa: E402
from bench.common import stop  # noqa: E402
from bench.common import with_schema  # noqa: E402
from bench.memory import smaps  # noqa: E402
from tests.waiting import listening_socket  # noqa: E402
from tests.waiting import wait_for_http  # noqa: E402

PASSWORD = "Passw0rd1"  # tests/factories.py
PEER_MODEL = "side-by-side:registration"
PEER_FILES = ROOT / "bench" / "data" / "spiffarena"
PEER_CLIENT = ("spiffworkflow-backend", "JXeQExm0JhQPLumgHtIIqf52bDalHz0q")  # its dev OpenID client
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
SUBMIT = re.compile(r'name="submit_token" value="([^"]+)"')
TASK_LINK = re.compile(r'href="/inbox/tasks/(\d+)"')
PDF = b"%PDF-1.4\n% side by side\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
DECISIONS = ("confirm", "accept", "approve")  # institution confirm, commission accept, commission decide
CALLS = ("open the start form", "start an instance", "list ready tasks", "open a task",
         "complete a user task", "whole journey")
Timings = dict[str, list[float]]
HTTP: Any = thin_http  # the client (--client): thin_http, or requests as the runs before 2026-11-30


def _photo() -> bytes:
    """A 2-inch white JPEG, as the form asks."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (354, 472), (250, 250, 250)).save(out, format="JPEG")
    return out.getvalue()


class Clock:
    """Times the HTTP calls of one side, by name, and sums a round."""

    def __init__(self) -> None:
        self.calls: Timings = {}
        self.pending: dict[str, float] = {}
        self.round_ms = 0.0

    def __call__(self, name: str, call: Callable[[], requests.Response]) -> requests.Response:
        started = time.perf_counter()
        resp = call()
        ms = (time.perf_counter() - started) * 1000
        self.calls.setdefault(name, []).append(ms)
        self.round_ms += ms
        if resp.status_code >= 400:
            raise RuntimeError(f"{name}: HTTP {resp.status_code} {resp.text[:300]}")
        return resp

    def part(self, name: str, label: str, call: Callable[[], requests.Response]) -> requests.Response:
        """One of several requests that together make the call ``name`` (closed by ``close``); each
        is also kept under ``name: label``."""
        before = self.round_ms
        resp = self(f"{name}: {label}", call)
        self.pending[name] = self.pending.get(name, 0.0) + self.round_ms - before
        return resp

    def close(self, name: str) -> None:
        self.calls.setdefault(name, []).append(self.pending.pop(name))

    def end_round(self) -> None:
        self.calls.setdefault("whole journey", []).append(self.round_ms)
        self.round_ms = 0.0


# --- ours ---------------------------------------------------------------------------------------

class Ours:
    """Our web app under gunicorn (1 worker) and the scheduler process, driven through its pages."""

    def __init__(self, url: str | None, schema: str, physicians: int, log: str) -> None:
        from app.extensions import db
        from app.models import Department
        from app.models import Institution
        from app.models import Role
        from app.models import User
        from app.services.platform import seed
        from tests.factories import make_qualification
        from tests.factories import make_user

        self.app = bench_app(url, schema)
        with self.app.app_context():
            seed.seed_demo(self.app.config["MEDREG_UPLOAD_DIR"])
            staff = db.session.scalar(select(User).where(User.username == "jigou01"))
            officer = db.session.scalar(select(User).where(User.username == "weijian01"))
            assert staff is not None and officer is not None
            hospital = db.session.get(Institution, staff.institution_id)
            assert hospital is not None
            self.institution_id = hospital.id
            self.department_id = db.session.scalar(select(Department.id).where(
                Department.institution_id == hospital.id, Department.subject_code.like("03%")))
            make_user("sidejigou", Role.INSTITUTION, "对比医务科", institution_id=hospital.id)
            make_user("sideweijian", Role.COMMISSION, "对比审批员", authority_id=officer.authority_id)
            for n in range(physicians):
                q = make_qualification(f"对比{n}", 3000 + n)
                make_user(f"side{n:05d}", Role.PHYSICIAN, f"对比{n}", qualification_id=q.id,
                          id_number=q.id_number, mobile="15175070658", mobile_verified=True)
            db.session.commit()
            db.session.remove()
        self.db_url = str(self.app.config["SQLALCHEMY_DATABASE_URI"])
        if self.db_url.startswith("postgresql") and schema != "public" and "search_path" not in self.db_url:
            self.db_url = with_schema(self.db_url, schema)
        self.photo = _photo()
        self.next_physician = 0
        self.procs, self.base = self._start(log)
        self.institution = self._sign_in("sidejigou")
        self.commission = self._sign_in("sideweijian")

    def _start(self, log: str) -> tuple[list[subprocess.Popen[bytes]], str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEDREG_")}
        env.update({"MEDREG_ENV": "development", "DATABASE_URL": self.db_url, "SECRET_KEY": "side-by-side",
                    "MEDREG_SCHEDULER": "off", "MEDREG_CAPTCHA": "off", "MEDREG_RATELIMIT": "off",
                    "MEDREG_MAIL_BACKEND": "log", "MEDREG_WORKERS": "1",
                    "MEDREG_UPLOAD_DIR": str(self.app.config["MEDREG_UPLOAD_DIR"]), "PYTHONPATH": str(ROOT)})
        py = sys.executable
        with listening_socket() as listener:
            port = listener.getsockname()[1]
            web = subprocess.Popen([py, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py",
                                    "-b", f"fd://{listener.fileno()}", "app:create_app()"],
                                   cwd=ROOT, env=env, pass_fds=(listener.fileno(),),
                                   stdout=open(f"{log}-ours-access.log", "w"), stderr=open(f"{log}-ours-web.log", "w"))
        sweeper = subprocess.Popen([py, "-m", "app.sweeper"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                   stderr=open(f"{log}-ours-scheduler.log", "w"))
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/login", f"ours serving the sign-in page (log: {log}-ours-web.log)",
                      processes=[web, sweeper])
        return [web, sweeper], base

    def _sign_in(self, username: str) -> requests.Session:
        s = HTTP.Session()
        token = TOKEN.search(s.get(f"{self.base}/login", timeout=60).text)
        assert token is not None, "the sign-in page has a CSRF token"
        r = s.post(f"{self.base}/login", data={"csrf_token": token.group(1), "username": username,
                                                "password": PASSWORD}, timeout=60, allow_redirects=False)
        assert r.status_code == 302, f"{username} signed in"
        return s

    def processes(self) -> list[tuple[str, int]]:
        return ([("gunicorn master", self.procs[0].pid)]
                + [("gunicorn worker", pid) for pid in _children(self.procs[0].pid)]
                + [("scheduler (app.sweeper)", self.procs[1].pid)])

    def open_task_of(self, instance_id: int) -> int:
        """The open task of an instance (read from the database: the driver's lookup, not timed)."""
        from app.extensions import db
        from app.models import HumanTask

        with self.app.app_context():
            task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                                   HumanTask.status == "open"))
            db.session.remove()
        assert task_id is not None, f"instance {instance_id} waits on a task"
        return task_id

    def outcome(self, instance_id: int) -> str | None:
        from app.extensions import db
        from app.models import ProcessInstance

        with self.app.app_context():
            inst = db.session.get(ProcessInstance, instance_id)
            outcome = inst.outcome if inst is not None else None
            db.session.remove()
        return outcome

    def start(self, clock: Clock) -> tuple[int, requests.Session]:
        """A new physician (signed in, not timed) opens the 注册 form and submits it."""
        physician = self._sign_in(f"side{self.next_physician:05d}")
        self.next_physician += 1
        form = clock("open the start form", lambda: physician.get(
            f"{self.base}/physician/apply/registration", timeout=60)).text
        token, submit = TOKEN.search(form), SUBMIT.search(form)
        assert token is not None, "the application form has a CSRF token"
        data = {"csrf_token": token.group(1), "institution_id": str(self.institution_id),
                "department_id": str(self.department_id), "practice_scopes": "11",
                "contact_mobile": "15175070658", "declare_health": "on", "declare_no_bar": "on",
                **({"submit_token": submit.group(1)} if submit else {})}
        files = {"employment_proof": ("聘用证明.pdf", PDF + str(self.next_physician).encode(), "application/pdf"),
                 "photo": ("照片.jpg", self.photo, "image/jpeg")}
        r = clock("start an instance", lambda: physician.post(
            f"{self.base}/physician/apply/registration", data=data, files=files, timeout=60,
            allow_redirects=False))
        found = re.search(r"/physician/applications/(\d+)", r.headers.get("Location", ""))
        assert r.status_code == 302 and found, f"the application was submitted ({r.status_code})"
        return int(found.group(1)), physician

    def step(self, clock: Clock, instance_id: int, decision: str) -> int:
        """The institution or the commission lists its tasks, opens the instance's one and decides it;
        returns how many tasks the list showed."""
        s = self.institution if decision == "confirm" else self.commission
        task_id = self.open_task_of(instance_id)
        listing = clock("list ready tasks" if decision == "confirm" else "list ready tasks (commission)",
                        lambda: s.get(f"{self.base}/inbox/", timeout=60)).text
        shown = set(TASK_LINK.findall(listing))
        assert str(task_id) in shown, f"task {task_id} is in the list"
        form = clock("open a task", lambda: s.get(f"{self.base}/inbox/tasks/{task_id}", timeout=60)).text
        token, submit = TOKEN.search(form), SUBMIT.search(form)
        assert token is not None, "the task form has a CSRF token"
        data = {"csrf_token": token.group(1), "decision": decision, "paper_held": "on",
                **({"submit_token": submit.group(1)} if submit else {})}
        r = clock("complete a user task", lambda: s.post(f"{self.base}/inbox/tasks/{task_id}/complete",
                                                         data=data, timeout=60, allow_redirects=False))
        assert r.status_code == 302, f"task {task_id} completed ({r.status_code})"
        return len(shown)

    def listed(self) -> int:
        """How many tasks the institution's list shows (not timed)."""
        return len(set(TASK_LINK.findall(self.institution.get(f"{self.base}/inbox/", timeout=60).text)))

    def size(self) -> int:
        return database_bytes(self.db_url)

    def stop(self) -> None:
        stop(self.procs)


# --- the peer -----------------------------------------------------------------------------------

class Peer:
    """SpiffArena's backend, started by a command, driven through the API its frontend calls."""

    def __init__(self, cmd: str, db_url: str, log: str) -> None:
        self.db_url = db_url
        with listening_socket() as listener:
            port = listener.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        argv = shlex.split(cmd.format(port=port, db=db_url))
        self.proc = subprocess.Popen(argv, stdout=open(f"{log}-peer-access.log", "w"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_http(f"{self.base}/v1.0/status", f"SpiffArena answering (log: {log}-peer-access.log)",
                      processes=[self.proc], timeout=300)
        admin = self._sign_in("admin")
        for method, path, body in (("post", "/v1.0/process-groups", {"id": "side-by-side", "display_name": "对比"}),
                                   ("post", "/v1.0/process-models/side-by-side",
                                    {"id": "side-by-side/registration", "display_name": "医师执业注册",
                                     "description": ""})):
            r = getattr(admin, method)(f"{self.base}{path}", json=body, timeout=60)
            assert r.status_code < 400, r.text[:300]
        for f in sorted(PEER_FILES.iterdir()):
            r = admin.post(f"{self.base}/v1.0/process-models/{PEER_MODEL}/files",
                           files={"file": (f.name, f.read_bytes())}, timeout=60)
            assert r.status_code < 400, r.text[:300]
        self.admin = admin
        self.physician = self._sign_in("doctor")
        self.institution = self._sign_in("jigou")
        self.commission = self._sign_in("weijian")
        waiting = self.listed()
        assert waiting == 0, f"SpiffArena's database is not fresh ({waiting} tasks wait): recreate it"

    def _sign_in(self, user: str) -> requests.Session:
        """A token from its built-in OpenID for a user of its permissions file (password = name)."""
        basic = base64.b64encode(f"{PEER_CLIENT[0]}:{PEER_CLIENT[1]}".encode()).decode()
        r = HTTP.post(f"{self.base}/openid/token", headers={"Authorization": f"Basic {basic}"}, timeout=60,
                          data={"grant_type": "password", "username": user, "password": user,
                                "code": f"{user}:this_is_not_secure_do_not_use_in_production",
                                "client_id": PEER_CLIENT[0]})
        s = HTTP.Session()
        s.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        r = s.post(f"{self.base}/v1.0/login_with_access_token?authentication_identifier=default", timeout=60)
        assert r.status_code == 200, r.text[:300]
        return s

    def processes(self) -> list[tuple[str, int]]:
        return [("gunicorn master", self.proc.pid)] + [("gunicorn worker", p) for p in _children(self.proc.pid)]

    def start(self, clock: Clock) -> tuple[int, requests.Session]:
        s, model = self.physician, f"{self.base}/v1.0/process-instances/{PEER_MODEL}"
        start = "start an instance"
        pi = int(clock.part(start, "POST process-instances", lambda: s.post(model, timeout=60)).json()["id"])
        clock.part(start, "POST run", lambda: s.post(f"{model}/{pi}/run", timeout=60))
        task = self._task(s, pi, listed=False)
        clock("open the start form", lambda: s.get(f"{self.base}/v1.0/tasks/{pi}/{task}?with_form_data=true",
                                                   timeout=60))
        data: dict[str, Any] = {"institution_id": 1, "department_id": 2, "practice_scopes": ["11"],
                                "contact_mobile": "15175070658", "declare_health": True, "declare_no_bar": True}
        clock.part(start, "PUT the start form", lambda: s.put(f"{self.base}/v1.0/tasks/{pi}/{task}", json=data,
                                                               timeout=60))
        clock.close(start)
        return pi, s

    def _task(self, s: requests.Session, pi: int, listed: bool, clock: Clock | None = None,
              name: str = "") -> str:
        """The instance's ready task, from the person's task list (timed when ``clock``)."""
        def call() -> requests.Response:
            return s.get(f"{self.base}/v1.0/tasks", timeout=60)
        r = clock(name, call) if clock is not None else call()
        results = r.json()["results"]
        self.last_count = len(results)
        return str(next(t["task_id"] for t in results if t["process_instance_id"] == pi))

    def step(self, clock: Clock, pi: int, decision: str) -> int:
        s = self.institution if decision == "confirm" else self.commission
        task = self._task(s, pi, True, clock,
                          "list ready tasks" if decision == "confirm" else "list ready tasks (commission)")
        shown = self.last_count
        url = f"{self.base}/v1.0/tasks/{pi}/{task}"
        clock("open a task", lambda: s.get(f"{url}?with_form_data=true", timeout=60))
        data: dict[str, Any] = {"decision": decision, "note": ""}
        if decision == "confirm":
            data["paper_held"] = True
        clock("complete a user task", lambda: s.put(url, json=data, timeout=60))
        return shown

    def outcome(self, pi: int) -> str:
        r = self.admin.get(f"{self.base}/v1.0/process-instances/{PEER_MODEL}/{pi}", timeout=60)
        return str(r.json()["status"])

    def listed(self) -> int:
        """How many tasks the institution's list shows (not timed)."""
        return len(self.institution.get(f"{self.base}/v1.0/tasks", timeout=60).json()["results"])

    def size(self) -> int:
        return database_bytes(self.db_url)

    def stop(self) -> None:
        stop([self.proc])


# --- measuring ----------------------------------------------------------------------------------

def database_bytes(url: str) -> int:
    """What the database holds: SQLite pages in use after a WAL checkpoint; PostgreSQL, after VACUUM,
    every table (with its TOAST) and index of the current schema."""
    if url.startswith("sqlite"):
        import sqlite3

        lite = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        try:
            lite.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            pages = int(lite.execute("PRAGMA page_count").fetchone()[0]) - int(
                lite.execute("PRAGMA freelist_count").fetchone()[0])
            return pages * int(lite.execute("PRAGMA page_size").fetchone()[0])
        finally:
            lite.close()
    engine = create_engine(re.sub(r"^postgresql(\+\w+)?://", "postgresql+psycopg://", url))
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM")
            return int(conn.execute(text(
                "SELECT COALESCE(SUM(pg_relation_size(c.oid) + COALESCE(pg_total_relation_size("
                "NULLIF(c.reltoastrelid, 0)), 0)), 0) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i', 'm')")).scalar_one())
    finally:
        engine.dispose()


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in out.split()]


def _memory(named: list[tuple[str, int]]) -> dict[str, Any]:
    sizes = [smaps(pid) for _, pid in named]
    per = [{"process": name, "pid": pid, **size} for (name, pid), size in zip(named, sizes, strict=True)]
    return {"processes": per, "total_mib": {k: round(sum(size[k] for size in sizes), 1) for k in ("rss", "pss", "uss")}}


def _summary(calls: Timings) -> dict[str, dict[str, float]]:
    return {name: {"n": len(v), "p50_ms": pct(v, 0.5), "p95_ms": pct(v, 0.95)} for name, v in calls.items()}


def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = tempfile.mkdtemp(prefix="medreg-side-")
    log = f"{tmp}/run"
    n_instances = args.warmup + args.backlog + args.rounds
    sides: dict[str, Any] = {}
    ours = Ours(args.database_url, args.schema, n_instances, log)
    peer: Peer | None = None
    try:
        sides["ours"] = ours
        if not args.ours_only:
            peer = Peer(args.peer_cmd, args.peer_db or f"sqlite:///{tmp}/spiffarena.sqlite3", log)
            sides["spiffarena"] = peer
        # the backlog: applications waiting at the institution on both sides (not timed)
        for side in sides.values():
            for _ in range(args.backlog):
                side.start(Clock())
        if peer is not None:  # ours has the demo data's waiting applications too: the peer gets as many
            for _ in range(ours.listed() - peer.listed()):
                peer.start(Clock())
        clocks = {name: Clock() for name in sides}
        counts: dict[str, list[int]] = {name: [] for name in sides}
        sizes_before: dict[str, int] = {}
        finished: dict[str, list[Any]] = {name: [] for name in sides}
        for r in range(-args.warmup, args.rounds):
            if r == 0:
                sizes_before = {name: side.size() for name, side in sides.items()}
                clocks = {name: Clock() for name in sides}
            order = list(sides) if r % 2 == 0 else list(reversed(sides))
            started = {name: sides[name].start(clocks[name])[0] for name in order}
            for decision in DECISIONS:
                for name in order:
                    shown = sides[name].step(clocks[name], started[name], decision)
                    if decision == "confirm" and r >= 0:
                        counts[name].append(shown)
            for name in order:
                clocks[name].end_round()
                if r >= 0:
                    finished[name].append(started[name])
        time.sleep(args.settle)
        outcomes = {name: sorted({str(sides[name].outcome(i)) for i in ids}) for name, ids in finished.items()}
        sizes_after = {name: side.size() for name, side in sides.items()}
        memory = {name: _memory(side.processes()) for name, side in sides.items()}
    finally:
        ours.stop()
        if peer is not None:
            peer.stop()
    out: dict[str, Any] = {
        "database": "postgresql" if ours.db_url.startswith("postgresql") else "sqlite",
        "client": "requests" if HTTP is requests else "thin_http",
        "rounds": args.rounds, "warmup_rounds": args.warmup, "backlog": args.backlog, "machine": machine(),
        "load_average": os.getloadavg(), "logs": tmp, "sides": {}}
    for name in sides:
        grown = sizes_after[name] - sizes_before[name]
        out["sides"][name] = {
            "calls": _summary(clocks[name].calls),
            "listed_tasks": sorted(set(counts[name])),
            "outcomes": outcomes[name],
            "bytes_per_completed_instance": round(grown / max(1, args.rounds)),
            "kib_per_completed_instance": round(grown / max(1, args.rounds) / 1024, 2),
            "memory_mib": memory[name]}
    if "spiffarena" in sides:
        o, p = out["sides"]["ours"], out["sides"]["spiffarena"]
        out["ours_over_spiffarena"] = {
            **{f"{call} p50": round(o["calls"][call]["p50_ms"] / p["calls"][call]["p50_ms"], 2)
               for call in CALLS if call in o["calls"] and call in p["calls"]},
            **{f"{call} p95": round(o["calls"][call]["p95_ms"] / p["calls"][call]["p95_ms"], 2)
               for call in CALLS if call in o["calls"] and call in p["calls"]},
            "bytes per completed instance": round(o["bytes_per_completed_instance"]
                                                  / max(1, p["bytes_per_completed_instance"]), 2),
            "RSS all processes": round(o["memory_mib"]["total_mib"]["rss"] / p["memory_mib"]["total_mib"]["rss"], 2),
            "PSS all processes": round(o["memory_mib"]["total_mib"]["pss"] / p["memory_mib"]["total_mib"]["pss"], 2)}
        out["same_number_listed"] = o["listed_tasks"] == p["listed_tasks"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=5, help="rounds run first and not counted")
    ap.add_argument("--backlog", type=int, default=19, help="applications waiting at the institution")
    ap.add_argument("--database-url", default=None, help="ours on PostgreSQL (default: a SQLite file)")
    ap.add_argument("--schema", default="side_by_side", help="ours: PostgreSQL schema to (re)create")
    ap.add_argument("--ours-only", action="store_true", help="measure ours alone (no peer)")
    ap.add_argument("--peer-cmd", default="bash /work/peer/run_peer.sh {port} {db}",
                    help="starts SpiffArena's backend on {port} with the database {db}")
    ap.add_argument("--peer-db", default=None, help="the peer's database URL (default: a SQLite file)")
    ap.add_argument("--settle", type=float, default=2.0, help="seconds before the sizes and memory are read")
    ap.add_argument("--client", choices=("thin", "requests"), default="thin",
                    help="the HTTP client of both sides: bench/thin_http.py (about 0.3 ms a call) or "
                         "requests (about 2 ms a call; the runs before 2026-11-30)")
    args = ap.parse_args()
    global HTTP
    HTTP = thin_http if args.client == "thin" else requests
    print(json.dumps(run(args), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
