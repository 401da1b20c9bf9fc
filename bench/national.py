"""Benchmark: the pages people open, at 10k-scale and at national data volume (PostgreSQL).

Scale 1 is the nation: 5M qualifications, 5M registrations (85 % current, 15 % history rows:
变更出 / 注销 of the same people), 1M institutions, 3M physician accounts, 5M process
instances with 20M human tasks (10 % open), 100M audit events, 10M outbox rows. Everything is
generated in PostgreSQL with generate_series, foreign keys consistent, on top of the demo
world (bench.common + seed_demo), whose accounts open the pages:

- the demo hospital (jigou01, 山西大学医院) holds 5,000 physicians, a second hospital 50,000
  (its 医师名册 CSV is the 50k-row export); 6 % of all physicians and of all open tasks belong
  to the demo commission (weijian01): a province of 300k physicians at scale 1;
- doctor01 holds a registration with its history and an open returned task.

Every page is timed through the Flask test client, signed in as its person (not HTTP; no
gunicorn): p50/p95 over ``--repeat`` requests after 3 warm-up requests. The 50k-row CSV export
is read chunk by chunk while a thread samples the process's RSS (growth = peak − before); the
response must be streamed (no Content-Length, a generator body). The CSV import posts
``--import-rows`` 医师资格 rows as 系统管理员 and runs its batches to the end (rows/s).
办理统计 reads the scheduler's snapshot (task_count): each data set takes it three times after
it is generated (``stats_refresh``: seconds per refresh, its rows, the plan of its count).
Two phases: 10k-scale (10,000 qualifications, in schema ``<schema>_10k``) and ``--scale`` (in
``--schema``), both generated first and kept side by side; their page requests take turns, so
the p95 ratio of a page is not the noise of the moment each phase happened to run in.

``--import-only`` times the CSV import alone (also on SQLite: without ``--database-url``), on
the demo world of a fresh database, ``--rounds`` times, each run in a process of its own;
with ``--before DIR`` (a checkout of the code to compare with) the two trees take turns, so
the machine's load hits both alike. ``--batch`` sets this tree's rows per step.

    .venv/bin/python bench/national.py --database-url postgresql+psycopg://…/medreg_national [--scale 1]
    .venv/bin/python bench/national.py --import-only [--database-url …] [--before /tmp/before] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MEDREG_CAPTCHA", "off")  # the captcha is a person's job, not the server's

from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import text  # noqa: E402

from app.extensions import db  # noqa: E402
from bench.common import bench_app  # noqa: E402
from bench.common import machine  # noqa: E402
from bench.common import pct  # noqa: E402

BASE = 10_000_000  # generated ids start above every seeded row
NATION = {"qualifications": 5_000_000, "institutions": 1_000_000, "tasks": 20_000_000,
          "audit": 100_000_000, "outbox": 10_000_000}
HOSPITAL, BIG_HOSPITAL = 5_000, 50_000  # physicians of jigou01's hospital / of the export's
PROVINCE_PCT = 6  # % of the nation in weijian01's commission (300k of 5M)
SURNAMES = list("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕")
GIVEN = [a + b for a in "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红" for b in "国建文海志春立晓宏"]
PROVINCE_CODES = ["11", "12", "13", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
                  "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62",
                  "63", "64", "65"]

FILL = """
INSERT INTO institution (id, name, reg_no, kind, grade, region_code, address, authority_id, subject_codes)
SELECT :base + g, '第' || g || '号医疗机构', 'N' || lpad(g::text, 21, '0'),
       (ARRAY['综合医院','村卫生室','社区卫生服务中心','乡镇卫生院','诊所','专科医院'])[1 + g % 6],
       '未定级', (CAST(:pcodes AS text[]))[1 + g % 30] || '0105', '', :other, '0300,0400'
FROM generate_series(1, :n_inst) g;
INSERT INTO qualification (id, cert_no, name, sex, id_number, birth_date, ethnicity, level, category,
    obtained_by, year, issued_on, issuer, major, education, school, title)
SELECT :base + g, 'Q' || lpad(g::text, 26, '0'),
       (CAST(:surnames AS text[]))[1 + g % :n_sur] || (CAST(:given AS text[]))[1 + (g / :n_sur) % :n_given],
       CASE WHEN g % 2 = 0 THEN '女' ELSE '男' END, lpad(g::text, 17, '0') || 'X',
       date '1960-01-01' + (g % 12000), '汉族',
       CASE WHEN g % 9 = 4 THEN '执业助理医师' ELSE '执业医师' END, (ARRAY['1','1','1','2','4'])[1 + g % 5],
       '考试', 1995 + g % 30, date '1995-06-01' + (g % 10000), '国家卫生健康委员会', '临床医学', '本科', '', ''
FROM generate_series(1, :n_qual) g;
INSERT INTO registration (id, qualification_id, cert_no, level, category, scopes, place_region,
    institution_id, authority_id, approved_on, issued_on, status, legacy_sites, reissue_count, created_at)
SELECT :base + g, :base + CASE WHEN g <= :n_cur THEN g ELSE g - :n_cur END,
       (100000000000000 + g)::text, '执业医师', '1', '["11"]'::jsonb,
       CASE WHEN g <= :n_hosp + :n_big OR g % 100 < :pct THEN '140000'
            ELSE (CAST(:pcodes AS text[]))[1 + g % 30] || '0000' END,
       CASE WHEN g <= :n_hosp THEN :hosp WHEN g <= :n_hosp + :n_big THEN :big
            ELSE :base + 1 + g % :n_inst END,
       CASE WHEN g <= :n_hosp + :n_big OR g % 100 < :pct THEN :commission ELSE :other END,
       date '2010-01-01' + (g % 5000), date '2010-01-05' + (g % 5000),
       CASE WHEN g > :n_cur THEN (CASE WHEN g % 3 = 0 THEN 'CANCELLED' ELSE 'CHANGED_OUT' END)
            WHEN g % 50 = 7 THEN 'FILED' WHEN g % 97 = 3 THEN 'SUSPENDED' ELSE 'ACTIVE' END,
       '[]'::jsonb, 0, now() - (g % 5000) * interval '1 day'
FROM generate_series(1, :n_reg) g;
INSERT INTO user_account (id, username, password_hash, role, display_name, qualification_id, id_number,
    mobile, mobile_verified, email_verified, active, org_admin, activated, failed_logins, created_at)
SELECT :base + g, 'u' || g, 'x', 'physician', '医师' || g, :base + g, lpad(g::text, 17, '0') || 'X',
       '139' || lpad(g::text, 8, '0'), true, false, true, false, true, 0, now()
FROM generate_series(1, :n_users) g;
INSERT INTO process_instance (id, process_id, definition_id, subject_user_id, qualification_id,
    institution_id, authority_id, business_status, application, workflow_json, serializer_version,
    clock_paused, extended, overdue, suspended, lock_version, created_at, updated_at, completed_at)
SELECT :base + g, (ARRAY['registration','change','cancellation','reissue','filing'])[1 + g % 5], :definition,
       :base + 1 + g % :n_users, :base + 1 + g % :n_qual,
       CASE WHEN g % 100 < 2 THEN :hosp ELSE :base + 1 + g % :n_inst END,
       CASE WHEN g % 100 < :pct THEN :commission ELSE :other END, '办结', '{}', '{}', '1.5',
       false, false, false, false, 0, now() - (g % 2000) * interval '1 hour', now(),
       CASE WHEN g % 10 = 0 THEN NULL ELSE now() END
FROM generate_series(1, :n_inst_proc) g;
INSERT INTO human_task (id, instance_id, process_id, task_guid, task_spec_id, title, lane, form_id,
    scope_kind, scope_id, status, due_at, created_at, completed_at)
SELECT :base + g, :base + 1 + (g - 1) / 4,
       (ARRAY['registration','change','cancellation','reissue','filing'])[1 + (1 + (g - 1) / 4) % 5], 'n-' || g,
       'commission_accept', '卫健委受理', 'commission', 'commission_accept',
       CASE WHEN g % 100 < :pct THEN 'authority' ELSE 'institution' END,
       CASE WHEN g % 100 < :pct THEN :commission WHEN g % 100 < :pct + 2 THEN :hosp
            ELSE :base + 1 + g % :n_inst END,
       CASE WHEN g % 10 = 0 THEN 'open' ELSE 'completed' END,
       CASE WHEN g % 7 = 0 THEN NULL ELSE now() + (g % 40000 - 8000) * interval '1 minute' END,
       now() - (g % 2000) * interval '1 hour', CASE WHEN g % 10 = 0 THEN NULL ELSE now() END
FROM generate_series(1, :n_tasks) g;
INSERT INTO audit_event (id, at, actor_id, actor_name, action, object_type, object_id, detail, prev_hash, hash)
SELECT :base + g, now() - g * interval '1 second', :base + 1 + g % :n_users, '医师', 'task.complete',
       'process_instance', (:base + 1 + g % :n_inst_proc)::text, '{}'::jsonb,
       decode(lpad(to_hex(g - 1), 64, '0'), 'hex'), decode(lpad(to_hex(g), 64, '0'), 'hex')
FROM generate_series(1, :n_audit) g;
INSERT INTO outbox_message (id, created_at, channel, recipient, recipient_user_id, subject, body, secret,
    status, attempts, sent_at, read_at)
SELECT :base + g, now() - g * interval '1 second', CASE WHEN g % 2 = 0 THEN 'inbox' ELSE 'sms' END,
       '139' || lpad((g % :n_users)::text, 8, '0'), :base + 1 + g % :n_users, '申请进度', '您的申请已受理。',
       false, CASE WHEN g % 1000 = 0 THEN 'pending' ELSE 'sent' END, 1, now(),
       CASE WHEN g % 3 = 0 THEN NULL ELSE now() END
FROM generate_series(1, :n_outbox) g
"""
TABLES = ("institution", "qualification", "registration", "user_account", "process_instance",
          "human_task", "audit_event", "outbox_message")


def sizes(scale: float) -> dict[str, int]:
    """Row counts at ``scale`` (1 = the nation)."""
    q = max(1_000, int(NATION["qualifications"] * scale))
    return {"n_qual": q, "n_reg": q, "n_cur": int(q * 0.85), "n_users": int(q * 0.6),
            "n_inst": max(100, int(NATION["institutions"] * scale)),
            "n_tasks": max(400, int(NATION["tasks"] * scale)),
            "n_inst_proc": max(100, int(NATION["tasks"] * scale) // 4),
            "n_audit": max(1_000, int(NATION["audit"] * scale)),
            "n_outbox": max(1_000, int(NATION["outbox"] * scale)),
            "n_hosp": min(HOSPITAL, q // 2), "n_big": min(BIG_HOSPITAL, q // 4)}


def generate(n: dict[str, int]) -> dict[str, Any]:
    """Fill the tables (one statement each) and give the demo accounts their national data."""
    from app.models import Authority
    from app.models import Institution
    from app.models import ProcessDefinition
    from app.models import User
    ids = {u.username: u for u in db.session.query(User).filter(User.username.in_(
        ["doctor01", "jigou01", "weijian01", "admin01"]))}
    commission = ids["weijian01"].authority_id
    other = db.session.query(Authority.id).filter(Authority.region_code == "530100").scalar()
    hosp = ids["jigou01"].institution_id
    big = db.session.query(Institution.id).filter(Institution.id != hosp, Institution.name.like(
        "昆明%")).order_by(Institution.id).limit(1).scalar()
    definition = db.session.query(ProcessDefinition.id).filter(
        ProcessDefinition.process_id == "registration").order_by(ProcessDefinition.id).limit(1).scalar()
    params: dict[str, Any] = {**n, "base": BASE, "pct": PROVINCE_PCT, "commission": commission,
                              "other": other, "hosp": hosp, "big": big, "definition": definition,
                              "surnames": SURNAMES, "given": GIVEN, "n_sur": len(SURNAMES),
                              "n_given": len(GIVEN), "pcodes": PROVINCE_CODES}
    db.session.commit()
    seconds: dict[str, float] = {}
    for table, stmt in zip(TABLES, FILL.strip().split(";\n"), strict=True):
        t = time.perf_counter()
        db.session.execute(text(stmt), params)
        db.session.commit()
        seconds[table] = round(time.perf_counter() - t, 1)
        print(f"  {table}: {seconds[table]} s", file=sys.stderr, flush=True)
    # doctor01: a registration with its history (变更出 then 有效) and a returned application
    doctor = ids["doctor01"]
    q = doctor.qualification_id
    db.session.execute(text(
        "INSERT INTO registration (qualification_id, cert_no, level, category, scopes, place_region,"
        " institution_id, authority_id, approved_on, issued_on, status, legacy_sites, reissue_count,"
        " created_at) VALUES (:q, '110140100999001', '执业医师', '1', '[\"11\"]', '140000', :big, :c,"
        " '2015-03-01', '2015-03-05', 'CHANGED_OUT', '[]', 0, now()), (:q, '110140100999002',"
        " '执业医师', '1', '[\"11\"]', '140000', :hosp, :c, '2020-03-01', '2020-03-05', 'ACTIVE', '[]',"
        " 0, now())"), {"q": q, "big": big, "hosp": hosp, "c": commission})
    db.session.execute(text(
        "INSERT INTO human_task (instance_id, process_id, task_guid, task_spec_id, title, lane, form_id,"
        " scope_kind, scope_id, status, created_at) VALUES (:i, (SELECT process_id FROM process_instance"
        " WHERE id = :i), 'n-doctor01', 'correct', '补正申请材料', 'physician',"
        " 'registration', 'user', :u, 'open', now())"), {"i": BASE + 1, "u": doctor.id})
    for table in TABLES + ("registration", "human_task"):
        db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"  # noqa: S608
                                f" (SELECT max(id) FROM {table}))"))
    db.session.commit()
    t = time.perf_counter()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    seconds["vacuum_analyze"] = round(time.perf_counter() - t, 1)
    return {"fill_s": seconds, "hospital": hosp, "big_hospital": big, "commission": commission}


class Client:
    """A signed-in test client that sends the CSRF token like a browser."""

    def __init__(self, app: Flask, username: str = "", password: str = "") -> None:
        self.c: FlaskClient = app.test_client()
        self.token = ""
        if username:
            self.get("/login")
            r = self.post("/login", {"username": username, "password": password})
            assert r.status_code == 302, f"sign-in of {username} failed"
            self.get(r.headers["Location"], follow_redirects=True)  # a new session, a new token

    def _keep(self, r: Any) -> Any:
        if r.mimetype == "text/html":
            m = re.search(r'name="csrf_token" value="([^"]+)"', r.get_data(as_text=True))
            if m:
                self.token = m.group(1)
        return r

    def get(self, url: str, **kw: Any) -> Any:
        return self._keep(self.c.get(url, **kw))

    def post(self, url: str, data: dict[str, Any], **kw: Any) -> Any:
        if not self.token:
            self.get("/login")
        return self._keep(self.c.post(url, data={"csrf_token": self.token, **data}, **kw))


def timed(fns: list[Any], repeat: int) -> list[dict[str, Any]]:
    """p50/p95 (ms) of each ``fn(i)`` (which returns the response) after 3 warm-up calls. The
    functions take turns request by request (one phase's page, then the other's), so a busy
    moment of the shared machine slows both phases alike and their ratio is the data's."""
    ms: list[list[float]] = [[] for _ in fns]
    status = [0 for _ in fns]
    found: list[int | None] = [None for _ in fns]  # a JSON search's matches, last request
    for i in range(repeat + 3):
        for k, fn in enumerate(fns):
            t = time.perf_counter()
            r = fn(i)
            r.get_data()
            elapsed = (time.perf_counter() - t) * 1000
            status[k] = r.status_code
            assert status[k] in (200, 302), f"status {status[k]}"
            if r.is_json:
                found[k] = len(r.get_json()["results"])
            if i >= 3:
                ms[k].append(elapsed)
    return [{"p50_ms": pct(m, 0.5), "p95_ms": pct(m, 0.95), "status": st}
            | ({} if n is None else {"results": n}) for m, st, n in zip(ms, status, found, strict=True)]


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def export(client: Client, url: str) -> dict[str, Any]:
    """Read a CSV export chunk by chunk while sampling RSS; is it streamed, and how far does RSS grow?"""
    import gc
    import tracemalloc
    gc.collect()
    before, peak, stop = rss_kib(), [0], threading.Event()
    tracemalloc.start()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kib())
            time.sleep(0.005)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    t = time.perf_counter()
    r = client.c.get(url, buffered=False)
    no_length = "Content-Length" not in r.headers
    size = lines = chunks = 0
    for chunk in r.response:
        chunks += 1
        size += len(chunk)
        lines += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
    r.close()
    seconds = time.perf_counter() - t
    python_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    stop.set()
    thread.join()
    return {"status": r.status_code, "streamed": no_length and chunks > 1, "rows": lines - 1, "chunks": chunks,
            "mib": round(size / 2**20, 1), "seconds": round(seconds, 2),
            "rss_growth_mib": round(max(0, peak[0] - before) / 1024, 1),
            "python_peak_mib": round(python_peak / 2**20, 1)}


def visitors(app: Flask, info: dict[str, Any]) -> dict[str, Any]:
    """Every page of the brief as a function of the request number, signed in as its person."""
    doctor = Client(app, "doctor01", "Doctor2026")
    hospital = Client(app, "jigou01", "Jigou2026")
    commission = Client(app, "weijian01", "Weijian2026")
    public = Client(app)
    with app.app_context():
        name = db.session.execute(text(
            "SELECT q.name FROM qualification q JOIN registration r ON r.qualification_id = q.id "
            "WHERE r.place_region = '140000' AND r.status = 'ACTIVE' ORDER BY q.id LIMIT 1")).scalar_one()
        cert_no = db.session.execute(text(
            "SELECT cert_no FROM registration WHERE status = 'ACTIVE' ORDER BY id DESC LIMIT 1")).scalar_one()
        # a qualification the sign-up finds: a real (check-digit valid) ID number on a generated row
        id_number = next(f"1101011980010100{i}{c}" for i in range(10) for c in "0123456789X"
                         if _valid(f"1101011980010100{i}{c}"))
        db.session.execute(text("UPDATE qualification SET id_number = :n, name = '张国伟' WHERE id = :q"),
                           {"n": id_number, "q": BASE + 9})
        db.session.commit()

    def signup(i: int) -> Any:
        person = Client(app)
        r = person.post("/account/register", {"name": "张国伟", "id_number": id_number})
        assert r.status_code == 302, r.get_data(as_text=True)[-500:]
        person.get("/account/register/account")
        return person.post("/account/register/account", {
            "mobile": "13900000000", "email": "a@b.cn", "username": f"bench{i:05d}x",
            "password": "Passw0rd1", "confirm": "Passw0rd1"})

    return {
        "physician_home": lambda i: doctor.get("/physician/"),
        "physician_practice": lambda i: doctor.get("/physician/practice"),
        "institution_inbox": lambda i: hospital.get("/inbox/"),
        "institution_roster": lambda i: hospital.get("/institution/rosters/main"),
        "institution_roster_csv": lambda i: hospital.get("/institution/rosters/main.csv"),
        "commission_inbox": lambda i: commission.get("/inbox/"),
        "commission_dashboard": lambda i: commission.get("/inbox/dashboard"),
        "public_search_name_province": lambda i: public.post(
            "/public/register", {"name": name, "province": "14"}),
        "public_search_cert_no": lambda i: public.post("/public/register", {"cert_no": cert_no}),
        "signup_matching": signup,
        # issue 14 (拟执业机构): the 注册 form lists no institution; the physician searches by name
        "apply_form_registration": lambda i: doctor.get("/physician/apply/registration"),
        "institution_search_name": lambda i: doctor.get(
            "/physician/institutions", query_string={"q": f"第{1 + (i * 7919) % 5000}号"}),
        "institution_search_broad": lambda i: doctor.get(
            "/physician/institutions", query_string={"q": "医疗机构"}),
        # a 3-character part inside the names (not a prefix): the trigram index; 1 % of them match
        "institution_search_fragment": lambda i: doctor.get(
            "/physician/institutions", query_string={"q": f"{10 + (i * 37) % 90}号"}),
    }


def pages(phases: list[tuple[Flask, dict[str, Any]]], repeat: int, import_rows: int) -> list[dict[str, Any]]:
    """Time every page of the brief in every phase (interleaved); then the exports and the import,
    phase after phase. Returns one {page: figures} per phase."""
    pagesets = [visitors(app, info) for app, info in phases]
    out: list[dict[str, Any]] = [{} for _ in phases]
    for page in pagesets[0]:
        for o, figures in zip(out, timed([ps[page] for ps in pagesets], repeat), strict=True):
            o[page] = figures
    for o, (app, info) in zip(out, phases, strict=True):
        with app.app_context():
            o["signup_matching"]["matched"] = db.session.execute(text(
                "SELECT count(*) FROM user_account WHERE username LIKE 'bench%' AND qualification_id = :q"),
                {"q": BASE + 9}).scalar_one()
            big_user = db.session.execute(text(
                "SELECT username FROM user_account WHERE institution_id = :i ORDER BY id LIMIT 1"),
                {"i": info["big_hospital"]}).scalar_one()
        o["roster_export_50k"] = export(Client(app, big_user, "Jigou2026"), "/institution/rosters/main.csv")
        o["roster_export_hospital"] = export(Client(app, "jigou01", "Jigou2026"), "/institution/rosters/main.csv")
        o["csv_import"] = import_csv(app, import_rows)
    return out


def _valid(number: str) -> bool:
    from app.services.records.validators import resident_id_error
    return resident_id_error(number) is None


def import_csv(app: Flask, rows: int) -> dict[str, Any]:
    """数据导入 of ``rows`` 医师资格 rows by 系统管理员: upload, then every batch to the end."""
    admin = Client(app, "admin01", "Admin2026")
    header = ("资格证书编码,姓名,性别,身份证件号码,出生日期,民族,医师级别,执业类别,取得方式,取得年份,"
              "发证日期,发证机关,专业,学历,毕业学校")
    body = "\n".join([header] + [f"9{g:023d},李建华,,,,汉族,执业医师,1,考试,2010,2010-07-01,"
                                 f"国家卫生健康委员会,临床医学,本科,某医学院" for g in range(1, rows + 1)])
    # ID numbers: valid ones (the import checks the check digit)
    lines = body.split("\n")
    lines[1:] = [_with_id(line, i) for i, line in enumerate(lines[1:])]
    data = "\n".join(lines).encode()
    import io
    t = time.perf_counter()
    r = admin.post("/admin/imports", {"kind": "qualifications", "file": (io.BytesIO(data), "q.csv")},
                   content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)[-800:]
    job = int(r.headers["Location"].rstrip("/").split("/")[-1])
    steps = 0
    while True:
        s = admin.post(f"/admin/imports/{job}/step", {}, headers={"Accept": "application/json"})
        steps += 1
        state = s.get_json()
        if state["status"] == "done":
            break
    seconds = time.perf_counter() - t
    return {"rows": rows, "imported": state["imported"], "failed": state["failed"], "batches": steps,
            "seconds": round(seconds, 1), "rows_per_s": round(rows / seconds)}


def _with_id(line: str, i: int) -> str:
    stem = f"110101{1960 + i % 40}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
    number = next(stem + c for c in "0123456789X" if _valid(stem + c))
    parts = line.split(",")
    parts[3] = number
    return ",".join(parts)


def stats_refresh(times: int = 3) -> dict[str, Any]:
    """办理统计's snapshot taken ``times`` times as the scheduler takes it (the last one stays for
    the page): seconds per refresh, the rows it keeps, and the plan of its count."""
    from app.services.platform import task_counts
    seconds = []
    for _ in range(times):
        t = time.perf_counter()
        assert task_counts.refresh(0.0)
        seconds.append(time.perf_counter() - t)
    rows, counted = db.session.execute(text("SELECT count(*), coalesce(sum(n), 0) FROM task_count")).one()
    query = task_counts.snapshot_select().compile(dialect=db.engine.dialect)
    plan = [line for (line,) in db.session.connection().exec_driver_sql(
        "EXPLAIN " + str(query), query.params)]
    db.session.rollback()
    return {"seconds_per_refresh": round(sorted(seconds)[len(seconds) // 2], 3),
            "max_s": round(max(seconds), 3), "refreshes": times, "rows": rows, "open_tasks_counted": counted,
            "plan": plan}


IMPORT_RUN = r"""
import json, os, sys
tree, url, schema, rows, batch = sys.argv[1], sys.argv[2] or None, sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
sys.path.insert(0, tree)
os.environ.setdefault("MEDREG_CAPTCHA", "off")
from flask import has_request_context, request
from sqlalchemy import event
from app.extensions import db
from app.services.platform import seed
from app.services.records import imports
from bench.common import bench_app
from bench.national import import_csv
app = bench_app(url, schema, RATELIMIT_ENABLED=False)
sent = []
with app.app_context():
    seed.seed_demo(app.config["MEDREG_UPLOAD_DIR"])
    db.session.remove()
    def count(*_args):  # the statements of the steps (not of the sign-in and the upload)
        if has_request_context() and request.path.endswith("/step"):
            sent.append(1)
    event.listen(db.engine, "before_cursor_execute", count)
if batch:
    imports.BATCH = batch
out = import_csv(app, rows)
out["statements"] = len(sent)
print(json.dumps(out))
"""


def run_import(url: str | None, rows: int, rounds: int, schema: str, before: str | None,
               batch: int) -> dict[str, Any]:
    """The CSV import alone, ``rounds`` runs per tree, the trees taking turns (each run a fresh
    database: a SQLite file, or the PostgreSQL schema ``<schema>_<tree>`` made anew)."""
    import statistics
    import subprocess
    trees = {"before": Path(before).resolve(), "after": ROOT} if before else {"after": ROOT}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    order = list(trees.items())
    for _ in range(rounds):
        for name, tree in order:
            out = subprocess.run([sys.executable, "-c", IMPORT_RUN, str(tree), url or "", f"{schema}_{name}",
                                  str(rows), str(batch if name == "after" else 0)], cwd=tree,
                                 capture_output=True, text=True, check=False)
            assert out.returncode == 0, out.stderr[-3000:]
            runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(json.dumps({name: runs[name][-1]}), file=sys.stderr, flush=True)
        order.reverse()  # each tree first in every other round
    result: dict[str, Any] = {
        "database": "PostgreSQL" if (url or "").startswith("postgresql") else "SQLite", "machine": machine(),
        "command": command(), "rows": rows, "rounds": rounds, "load_average": os.getloadavg()[0], "trees": {}}
    for name, done in runs.items():
        result["trees"][name] = {
            "rows_per_s_median": statistics.median(r["rows_per_s"] for r in done),
            "rows_per_s": [r["rows_per_s"] for r in done], "seconds": [r["seconds"] for r in done],
            "batches": done[0]["batches"], "statements_per_batch": round(done[0]["statements"] / done[0]["batches"], 1),
            "imported": done[0]["imported"], "failed": done[0]["failed"]}
    if before:
        t = result["trees"]
        result["after_over_before"] = round(t["after"]["rows_per_s_median"] / t["before"]["rows_per_s_median"], 2)
    return result


def run(url: str, scale: float, repeat: int, import_rows: int, schema: str) -> dict[str, Any]:
    assert url.startswith("postgresql"), "the national benchmark runs on PostgreSQL"
    from app.services.platform import seed
    out: dict[str, Any] = {"database": "", "machine": machine(), "client": "Flask test client",
                           "command": command(), "scale": scale, "repeat": repeat, "interleaved": True,
                           "phases": {}}
    phases: list[tuple[Flask, dict[str, Any]]] = []
    # both data sets side by side, each in a schema of its own (the 10k one next to ``schema``)
    for label, s, where in (("10k", 10_000 / NATION["qualifications"], f"{schema}_10k"),
                            (f"scale {scale:g}", scale, schema)):
        app = bench_app(url, where, RATELIMIT_ENABLED=False)
        with app.app_context():
            out["database"] = "PostgreSQL " + str(db.session.scalar(text("SHOW server_version")))
            seed.seed_demo(app.config["MEDREG_UPLOAD_DIR"])
            n = sizes(s)
            print(f"{label}: generating {n} in schema {where}", file=sys.stderr, flush=True)
            info = generate(n)
            info["stats_refresh"] = stats_refresh()  # the page reads this snapshot
            print(f"  stats refresh: {info['stats_refresh']}", file=sys.stderr, flush=True)
            rows = {t: db.session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()  # noqa: S608
                    for t in TABLES}
            size = db.session.execute(text(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n"
                " ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'")).scalar_one()
            db.session.remove()
        out["phases"][label] = {"scale": s, "schema": where, "rows": rows, "schema_mib": round(size / 2**20),
                                "fill_s": info["fill_s"], "stats_refresh": info["stats_refresh"]}
        phases.append((app, info))
    for label, figures in zip(out["phases"], pages(phases, repeat, import_rows), strict=True):
        out["phases"][label]["pages"] = figures
        print(json.dumps({label: figures}, ensure_ascii=False), file=sys.stderr, flush=True)
    small, large = out["phases"].values()
    out["ratio_p95"] = {page: round(f["p95_ms"] / small["pages"][page]["p95_ms"], 2)
                        for page, f in large["pages"].items() if "p95_ms" in f}
    out["ratio_p50"] = {page: round(f["p50_ms"] / small["pages"][page]["p50_ms"], 2)
                        for page, f in large["pages"].items() if "p50_ms" in f}
    return out


def command() -> str:
    """The command line of this run, its database named $PG (the URL holds a password)."""
    args = ["$PG" if a.startswith("postgresql") else a.split("=", 1)[0] + "=$PG"
            if a.startswith("--database-url=") else a for a in sys.argv[1:]]
    return " ".join([".venv/bin/python bench/national.py", *args])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    ap.add_argument("--scale", type=float, default=0.01, help="1 = national volume (default 0.01)")
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--import-rows", type=int, default=100_000)
    ap.add_argument("--schema", default="public", help="PostgreSQL schema to (re)create and use")
    ap.add_argument("--import-only", action="store_true", help="time the CSV import alone (SQLite too)")
    ap.add_argument("--rounds", type=int, default=3, help="--import-only: runs per tree")
    ap.add_argument("--before", help="--import-only: a checkout of the code to compare with, taking turns")
    ap.add_argument("--batch", type=int, default=0, help="--import-only: rows per step of this tree")
    args = ap.parse_args()
    if args.import_only:
        print(json.dumps(run_import(args.database_url, args.import_rows, args.rounds, args.schema, args.before,
                                    args.batch), ensure_ascii=False, indent=2))
        return
    if not args.database_url:
        sys.exit("--database-url (or BENCH_DATABASE_URL) must name a PostgreSQL database")
    print(json.dumps(run(args.database_url, args.scale, args.repeat, args.import_rows, args.schema),
                     ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
