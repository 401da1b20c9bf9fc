"""Benchmark: the fixed cost of a page — what every request pays besides its own query.

A signed-in person's pages through the Flask test client (the whole WSGI path: session, user,
CSRF, hooks, every SQL statement, the layout with its menu and header counts, rendering) at
``--tasks`` human-task rows (default 10,000, spread over the demo commission's and 500
institutions' inboxes): the commission's and the institution's 待办任务, the physician's home,
the 注册 application form (GET), a task form (GET) and that form posted without a decision
(POST: checked and shown again with its errors, so it can be repeated), and the physician's
task page (an application returned for correction, GET). For each page: p50/p95
milliseconds and the SQL statements of one request.

Before/after in ONE run: ``--before DIR`` names a checkout of the code to compare with (e.g. a
``git worktree`` of the commit before the work); each tree serves in a process of its own, on a
database of its own filled the same way, and the two are timed in alternating rounds of
``--round`` requests per page, so the machine's load hits both alike.

    .venv/bin/python bench/page_cost.py [--tasks 10000] [--repeat 200] [--before /tmp/main] \
        [--database-url postgresql+psycopg://…/medreg_x]
    .venv/bin/python bench/page_cost.py --phases inbox_commission [--tree /tmp/main]   # where the CPU goes
    .venv/bin/python bench/page_cost.py --profile inbox_commission                      # cProfile
"""

from __future__ import annotations

import argparse
import contextvars
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("inbox_commission", "inbox_institution", "physician_home", "apply_form_get",
         "task_form_get", "task_form_post", "physician_task_get")
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _outside(call: Callable[[], Any]) -> Any:
    """Run ``call`` in a fresh context, as a server runs a request (no app context of ours)."""
    return contextvars.Context().run(call)


class Pages:
    """One tree's app on its own database, filled, with a client signed in per role."""

    def __init__(self, url: str | None, schema: str, tasks: int,
                 extend: Callable[[Any], None] | None = None) -> None:
        """``extend`` is given the app before its first request (routes a benchmark adds)."""
        os.environ["MEDREG_CAPTCHA"] = "off"
        from sqlalchemy import event
        from sqlalchemy import insert
        from sqlalchemy import select

        from app.extensions import db
        from app.models import HumanTask
        from app.models import ProcessDefinition
        from app.models import ProcessInstance
        from app.models import User
        from app.models.base import utcnow
        from bench.common import bench_app
        self.app = app = bench_app(url, schema, RATELIMIT_ENABLED=False)
        if extend is not None:
            extend(app)
        with app.app_context():
            from app.services.platform import seed
            seed.seed_demo(app.config["MEDREG_UPLOAD_DIR"])
            officer = db.session.scalar(select(User).where(User.username == "weijian01"))
            staff = db.session.scalar(select(User).where(User.username == "jigou01"))
            assert officer is not None and staff is not None
            definition = db.session.scalar(select(ProcessDefinition.id).where(
                ProcessDefinition.process_id == "registration").order_by(ProcessDefinition.id.desc()))
            self.task_id = db.session.scalar(select(HumanTask.id).where(
                HumanTask.scope_kind == "institution", HumanTask.scope_id == staff.institution_id,
                HumanTask.status == "open").order_by(HumanTask.id))
            now, base = utcnow(), 1_000_000
            from datetime import timedelta
            for start in range(0, tasks, 5000):
                ids = range(base + start + 1, base + min(tasks, start + 5000) + 1)
                db.session.execute(insert(ProcessInstance), [dict(
                    id=g, process_id="registration", definition_id=definition,
                    business_status="待卫健委受理", application={}, workflow_json="{}",
                    serializer_version="1.5", clock_paused=False, overdue=False, suspended=False,
                    lock_version=0, created_at=now - timedelta(minutes=g % 1000), updated_at=now,
                    authority_id=officer.authority_id, institution_id=staff.institution_id)
                    for g in ids])
                db.session.execute(insert(HumanTask), [dict(
                    id=g, instance_id=g, process_id="registration", task_guid=f"bench-{g}",
                    task_spec_id="commission_accept", title="卫健委受理", lane="commission",
                    form_id="commission_accept",
                    scope_kind="authority" if g % 20 == 0 else "institution",
                    scope_id=officer.authority_id if g % 20 == 0 else
                    (staff.institution_id if g % 20 == 1 else 1000 + g % 500),
                    status="open" if g % 100 < 20 else "completed",
                    due_at=None if g % 7 == 0 else now + timedelta(minutes=g % 40000),
                    created_at=now - timedelta(minutes=g % 1000)) for g in ids])
            # the physician's task page: the application under review, as if returned to its
            # applicant (doctor02) for correction (修改并重新提交注册申请)
            inst = db.session.get(ProcessInstance, db.session.get(HumanTask, self.task_id).instance_id)
            assert inst is not None and inst.subject_user_id is not None
            self.physician_task_id = db.session.execute(insert(HumanTask).values(
                instance_id=inst.id, process_id="registration", task_guid="bench-physician",
                task_spec_id="physician_apply", title="修改并重新提交注册申请", lane="physician",
                form_id="registration_apply", scope_kind="user", scope_id=inst.subject_user_id,
                status="open", created_at=now)).inserted_primary_key[0]
            db.session.commit()
            self.engine = db.engine
            db.session.remove()
        self.statements: list[str] = []
        self._record = lambda *a: self.statements.append(a[2])
        event.listen(self.engine, "before_cursor_execute", self._record)
        self.clients = {name: self._signed_in(name, pw) for name, pw in (
            ("weijian01", "Weijian2026"), ("jigou01", "Jigou2026"), ("doctor01", "Doctor2026"),
            ("doctor02", "Doctor2026"))}
        self.calls: dict[str, Callable[[], Any]] = {
            "inbox_commission": lambda: self._get("weijian01", "/inbox/"),
            "inbox_institution": lambda: self._get("jigou01", "/inbox/"),
            "physician_home": lambda: self._get("doctor01", "/physician/"),
            "apply_form_get": lambda: self._get("doctor01", "/physician/apply/registration"),
            "task_form_get": lambda: self._get("jigou01", f"/inbox/tasks/{self.task_id}"),
            "task_form_post": lambda: self._post_task(),
            "physician_task_get": lambda: self._get("doctor02", f"/physician/tasks/{self.physician_task_id}"),
        }
        self._token = TOKEN.search(self._get("jigou01", f"/inbox/tasks/{self.task_id}")).group(1)

    def _signed_in(self, username: str, password: str) -> Any:
        client = self.app.test_client()
        page = _outside(lambda: client.get("/login").get_data(as_text=True))
        resp = _outside(lambda: client.post("/login", data={
            "username": username, "password": password, "csrf_token": TOKEN.search(page).group(1)}))
        assert resp.status_code == 302, (username, resp.status_code)
        return client

    def _get(self, user: str, path: str) -> str:
        resp = _outside(lambda: self.clients[user].get(path))
        assert resp.status_code == 200, (path, resp.status_code)
        return str(resp.get_data(as_text=True))

    def _post_task(self) -> str:
        resp = _outside(lambda: self.clients["jigou01"].post(
            f"/inbox/tasks/{self.task_id}/complete", data={"csrf_token": self._token}))
        assert resp.status_code == 422, resp.status_code  # no decision: shown again with its errors
        return str(resp.get_data(as_text=True))

    def time(self, page: str, n: int) -> list[list[float]]:
        """``n`` requests of one page: [wall ms, CPU ms of this process] each (the CPU time is
        what the web worker spends; on a loaded machine it moves less than the wall time)."""
        out = []
        call = self.calls[page]
        for _ in range(n):
            t, c = time.perf_counter(), time.thread_time()
            call()
            out.append([(time.perf_counter() - t) * 1000, (time.thread_time() - c) * 1000])
        return out

    def stop_recording(self) -> None:
        """No statement is recorded any more (a benchmark that does not count them)."""
        from sqlalchemy import event
        event.remove(self.engine, "before_cursor_execute", self._record)

    def count(self, page: str) -> int:
        """The statements (all of them: SELECTs, writes, BEGIN/COMMIT are not sent as text) of one request."""
        self.statements.clear()
        self.calls[page]()
        return len(self.statements)


def serve(args: argparse.Namespace) -> None:
    """The child process of one tree: answers commands on stdin with a JSON line each."""
    pages = Pages(args.database_url, args.schema, args.tasks)
    for page in PAGES:  # warm-up: templates compiled, caches filled
        pages.time(page, 5)
    print(json.dumps({"ready": True, "statements": {p: pages.count(p) for p in PAGES}}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd.get("stop"):
            break
        print(json.dumps({p: pages.time(p, cmd["n"]) for p in PAGES}), flush=True)


def profile(args: argparse.Namespace) -> None:
    """cProfile of ``--repeat`` requests of one page, sorted by cumulative time."""
    import cProfile
    import pstats
    pages = Pages(args.database_url, args.schema, args.tasks)
    pages.time(args.profile, 5)
    print("statements:", pages.count(args.profile), file=sys.stderr)
    for s in pages.statements:
        print("  ", " ".join(s.split())[:160], file=sys.stderr)
    prof = cProfile.Profile()
    prof.enable()
    pages.time(args.profile, args.repeat)
    prof.disable()
    stats = pstats.Stats(prof, stream=sys.stderr)
    stats.sort_stats(args.sort).print_stats(args.lines)


def phases(args: argparse.Namespace) -> dict[str, Any]:
    """Where one page's CPU time goes: ``--repeat`` requests, each phase's thread CPU time per
    request (phases nest: the dispatch holds the view's services and the rendering)."""
    import collections

    import flask
    import jinja2
    from sqlalchemy import event
    pages = Pages(args.database_url, args.schema, args.tasks)
    spent: dict[str, float] = collections.defaultdict(float)

    def timed(owner: Any, name: str, label: str) -> None:
        inner = getattr(owner, name)

        def wrapper(*a: Any, **k: Any) -> Any:
            t = time.thread_time()
            try:
                return inner(*a, **k)
            finally:
                spent[label] += time.thread_time() - t
        setattr(owner, name, wrapper)

    from app.services.accounts import websessions
    from app.services.inbox import tasks
    timed(flask.Flask, "wsgi_app", "whole request (WSGI)")
    timed(websessions, "load", "session row + person")
    timed(flask.Flask, "preprocess_request", "before_request hooks")
    timed(flask.Flask, "full_dispatch_request", "dispatch (hooks, view, render)")
    timed(flask.Flask, "dispatch_request", "view (its services, context processors, render)")
    timed(flask.Flask, "update_template_context", "context processors (menu, 消息 count)")
    timed(jinja2.Template, "render", "template render")
    timed(flask.Flask, "process_response", "after_request (log, headers, session save)")
    for name in ("inbox", "inbox_counts", "inbox_choices", "task_page", "my_open_tasks", "inbox_page"):
        if hasattr(tasks, name):  # a tree of another time may not have them all
            timed(tasks, name, f"service tasks.{name}")
    from app.web.inbox import routes as inbox_routes
    if hasattr(inbox_routes, "task_rows"):  # the 待办任务 rows, written in Python (fifth round)
        timed(inbox_routes, "task_rows", "rows of 待办任务 (app/web/inbox/rows.py)")
    # the application form (apply_form_get) and the choices the task pages share with it
    from app.services.applications import eligibility
    from app.services.applications import forms
    from app.services.applications import prepare
    timed(prepare, "form_page", "service applications.form_page")
    timed(prepare, "form_options", "  form_options (catalogues, 科室, registrations)")
    timed(prepare, "qualification_of", "  qualification_of")
    timed(eligibility, "refusal", "  eligibility.refusal")
    prepare.refusal = eligibility.refusal  # form_page's own name for it
    timed(forms, "field_views", "  forms.field_views")
    # the task page's parts (nested in tasks.task_page, or called by its view)
    from app.services.inbox import comments
    from app.services.inbox import paper
    for name in ("application_view", "_view", "_display_options", "_parties", "_tasks_with_names",
                 "_latest_changes"):
        if hasattr(tasks, name):
            timed(tasks, name, f"  tasks.{name}")
    timed(comments, "for_instance", "  comments.for_instance")
    for name in ("table_title", "paper_state"):
        timed(paper, name, f"  paper.{name}")
    started: list[float] = []
    event.listen(pages.engine, "before_cursor_execute", lambda *a: started.append(time.thread_time()))
    event.listen(pages.engine, "after_cursor_execute",
                 lambda *a: spent.__setitem__("SQL: driver execute", spent["SQL: driver execute"]
                                              + time.thread_time() - started.pop()))
    pages.time(args.phases, 10)
    spent.clear()
    t = time.thread_time()
    pages.time(args.phases, args.repeat)
    total = time.thread_time() - t
    out = {"page": args.phases, "requests": args.repeat, "statements": pages.count(args.phases),
           "cpu_ms_per_request": round(total * 1000 / args.repeat, 2),
           "phases_cpu_ms": {k: round(v * 1000 / args.repeat, 2)
                             for k, v in sorted(spent.items(), key=lambda kv: -kv[1])}}
    return out


class _Child:
    def __init__(self, tree: Path, args: argparse.Namespace, schema: str) -> None:
        cmd = [sys.executable, str(ROOT / "bench" / "page_cost.py"), "--serve", "--tree", str(tree),
               "--tasks", str(args.tasks), "--schema", schema]
        if args.database_url:
            cmd += ["--database-url", args.database_url]
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEDREG_")}
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     cwd=tree, env=env)
        self.ready = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"the child stopped: {self.proc.wait()}")
            if line.startswith("{"):
                return dict(json.loads(line))

    def round(self, n: int) -> dict[str, list[float]]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"n": n}) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"stop": True}) + "\n")
        self.proc.stdin.flush()
        self.proc.wait(timeout=60)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from bench.common import machine
    from bench.common import pct
    trees = {"after": ROOT}
    if args.before:
        trees = {"before": Path(args.before).resolve(), "after": ROOT}
    # one database each: a PostgreSQL schema of its own, or a SQLite file of its own (bench_app)
    children = {name: _Child(tree, args, f"{args.schema}_{name}") for name, tree in trees.items()}
    times: dict[str, dict[str, list[list[float]]]] = {name: {p: [] for p in PAGES} for name in trees}
    done, order = 0, list(children.items())
    while done < args.repeat:
        n = min(args.round, args.repeat - done)
        for name, child in order:  # alternating rounds, each tree first in every other round
            for page, values in child.round(n).items():
                times[name][page].extend(values)
        order.reverse()
        done += n
    for child in children.values():
        child.stop()
    out: dict[str, Any] = {
        "database": "PostgreSQL" if (args.database_url or "").startswith("postgresql") else "SQLite",
        "machine": machine(), "tasks": args.tasks, "requests_per_page": args.repeat,
        "load_average": os.getloadavg()[0], "pages": {}}
    for page in PAGES:
        row: dict[str, Any] = {}
        for name in trees:
            wall = [w for w, _c in times[name][page]]
            cpu = [c for _w, c in times[name][page]]
            row[name] = {"p50_ms": pct(wall, 0.5), "p95_ms": pct(wall, 0.95),
                         "cpu_p50_ms": pct(cpu, 0.5), "cpu_mean_ms": round(sum(cpu) / len(cpu), 2),
                         "statements": children[name].ready["statements"][page]}
        if "before" in row:
            row["after_over_before_p50"] = round(row["after"]["p50_ms"] / row["before"]["p50_ms"], 2)
            row["after_over_before_cpu_p50"] = round(
                row["after"]["cpu_p50_ms"] / row["before"]["cpu_p50_ms"], 2)
        out["pages"][page] = row
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    ap.add_argument("--schema", default="page_cost", help="PostgreSQL schema prefix to (re)create and use")
    ap.add_argument("--tasks", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=200, help="timed requests per page and tree")
    ap.add_argument("--round", type=int, default=10, help="requests per page before the other tree's turn")
    ap.add_argument("--before", help="a checkout of the code to compare with, timed interleaved")
    ap.add_argument("--profile", choices=PAGES, help="print a cProfile of one page instead")
    ap.add_argument("--phases", choices=PAGES, help="CPU time per phase of one page instead (of --tree)")
    ap.add_argument("--sort", default="cumulative")
    ap.add_argument("--lines", type=int, default=60)
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--tree", help="with --phases or --profile: the checkout to measure (default: this one)")
    args = ap.parse_args()
    tree = Path(args.tree).resolve() if args.tree else ROOT
    sys.path.insert(0, str(tree))
    if str(ROOT) not in sys.path:
        sys.path.insert(1, str(ROOT))
    if args.serve:
        serve(args)
    elif args.profile:
        profile(args)
    elif args.phases:
        print(json.dumps(phases(args), ensure_ascii=False, indent=2))
    else:
        print(json.dumps(run(args), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
