"""Benchmark: finding 拟执业机构 among the country's institutions (issue 14), on PostgreSQL.

China has about a million medical institutions. The application forms no longer list them; the
physician types part of a name and the server answers at most 20 matches
(``GET /physician/institutions?q=``, app/services/applications/institutions.py; a pg_trgm GIN
index on institution.name, migration 0034). This benchmark fills only the institution table
(generate_series, names built like real ones: 城市 + 名号 + 类别, so names repeat across cities
and a broad word such as 医院 matches a quarter of the table) at 10,000 institutions and at
``--institutions`` (1,000,000 = the nation), side by side in two schemas, and times, signed in as
doctor01 through the Flask test client (p50/p95 over ``--repeat`` requests after 3 warm-ups,
the two sizes taking turns request by request):

- the 注册 start form (it holds no institution),
- the search for a whole name, a distinctive part of one, a city (one in 60), a broad word
  (医院), and a 登记号;

and prints the plan PostgreSQL chooses for each query (EXPLAIN (ANALYZE, BUFFERS)).

    PG=$(bash bench/pg.sh medreg_picker)
    .venv/bin/python bench/institution_search.py --database-url $PG [--institutions 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MEDREG_CAPTCHA", "off")

from flask import Flask  # noqa: E402
from sqlalchemy import text  # noqa: E402

from app.extensions import db  # noqa: E402
from bench.common import bench_app  # noqa: E402
from bench.common import machine  # noqa: E402
from bench.common import pct  # noqa: E402

BASE = 10_000_000
CITIES = ["北京市", "天津市", "石家庄市", "太原市", "大同市", "呼和浩特市", "沈阳市", "大连市", "长春市",
          "哈尔滨市", "上海市", "南京市", "苏州市", "杭州市", "宁波市", "合肥市", "福州市", "厦门市",
          "南昌市", "济南市", "青岛市", "郑州市", "洛阳市", "武汉市", "宜昌市", "长沙市", "广州市",
          "深圳市", "南宁市", "海口市", "重庆市", "成都市", "绵阳市", "贵阳市", "昆明市", "拉萨市",
          "西安市", "兰州市", "西宁市", "银川市", "乌鲁木齐市", "唐山市", "邯郸市", "保定市", "包头市",
          "鞍山市", "吉林市", "无锡市", "徐州市", "温州市", "芜湖市", "泉州市", "赣州市", "烟台市",
          "潍坊市", "南阳市", "襄阳市", "岳阳市", "佛山市", "东莞市"]
MIDDLE = list("仁和康宁济安博爱同德华美惠民长青协和普济慈恩天佑永安明德")
KINDS = ["人民医院", "中医医院", "妇幼保健院", "社区卫生服务中心", "乡镇卫生院", "诊所", "村卫生室",
         "口腔医院", "第一人民医院", "骨科医院", "眼科医院", "门诊部"]
FILL = """
INSERT INTO institution (id, name, reg_no, kind, grade, region_code, address, authority_id, subject_codes)
SELECT :base + g,
       (CAST(:cities AS text[]))[1 + g % 60] || (CAST(:middle AS text[]))[1 + (g / 60) % :n_middle]
           || (CAST(:kinds AS text[]))[1 + (g / 7) % 12],
       'N' || lpad(g::text, 21, '0'), '综合医院', '未定级', '140105', '', :authority, '0300'
FROM generate_series(1, :n) g
"""


def fill(n: int) -> dict[str, Any]:
    """``n`` institutions (one statement), then VACUUM ANALYZE; seconds of each."""
    authority = db.session.execute(text("SELECT id FROM authority ORDER BY id LIMIT 1")).scalar_one()
    t = time.perf_counter()
    db.session.execute(text(FILL), {"base": BASE, "n": n, "cities": CITIES, "middle": MIDDLE,
                                    "n_middle": len(MIDDLE), "kinds": KINDS, "authority": authority})
    db.session.commit()
    filled = time.perf_counter() - t
    t = time.perf_counter()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE institution"))
    return {"fill_s": round(filled, 1), "vacuum_analyze_s": round(time.perf_counter() - t, 1)}


def queries(n: int) -> dict[str, str]:
    """What a physician types, by kind of query."""
    g = n // 2 + 17
    whole = CITIES[g % 60] + MIDDLE[(g // 60) % len(MIDDLE)] + KINDS[(g // 7) % 12]
    return {"whole_name": whole, "part_of_name": whole[1:-2], "city": "广州",
            "broad_word": "医院", "reg_no": "N" + str(g).rjust(21, "0")}


def client(app: Flask) -> Any:
    c = app.test_client()
    page = c.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    r = c.post("/login", data={"username": "doctor01", "password": "Doctor2026", "csrf_token": token})
    assert r.status_code == 302, r.get_data(as_text=True)[-500:]
    return c


def explain(q: str) -> list[list[str]]:
    """The plans of the search statements for ``q``, as the service sends them (one or two)."""
    from sqlalchemy import Select
    from sqlalchemy.dialects import postgresql

    from app.services.applications import institutions
    captured: list[tuple[Any, dict[str, Any]]] = []
    real = db.session.execute

    def grab(stmt: Any, params: Any = None, *a: Any, **kw: Any) -> Any:
        captured.append((stmt, dict(params or {})))
        return real(stmt, params, *a, **kw)
    db.session.execute = grab  # type: ignore[method-assign]
    try:
        institutions.search(q)
    finally:
        db.session.execute = real  # type: ignore[method-assign]
    plans = []
    for stmt, params in captured:
        if not isinstance(stmt, Select):
            continue
        sql = stmt.params(**params).compile(dialect=postgresql.dialect(),
                                            compile_kwargs={"literal_binds": True})
        plans.append([r[0] for r in db.session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {sql}"))])  # noqa: S608
    db.session.rollback()
    return plans


def run(url: str, n: int, repeat: int, schema: str) -> dict[str, Any]:
    assert url.startswith("postgresql"), "the search benchmark runs on PostgreSQL (pg_trgm)"
    from app.services.platform import seed
    out: dict[str, Any] = {"machine": machine(), "client": "Flask test client", "repeat": repeat,
                           "command": command(), "interleaved": True, "phases": {}}
    phases: list[tuple[str, Flask, Any, dict[str, str]]] = []
    for label, size, where in (("10k", 10_000, f"{schema}_10k"), (f"{n:,}", n, schema)):
        app = bench_app(url, where, RATELIMIT_ENABLED=False)
        with app.app_context():
            out["database"] = "PostgreSQL " + str(db.session.scalar(text("SHOW server_version")))
            seed.seed_demo(app.config["MEDREG_UPLOAD_DIR"])
            print(f"{label}: {size} institutions in schema {where}", file=sys.stderr, flush=True)
            info = fill(size)
            info["institutions"] = db.session.execute(text("SELECT count(*) FROM institution")).scalar_one()
            info["index_mib"] = round(db.session.execute(text(
                "SELECT pg_relation_size('ix_institution_name_trgm')")).scalar_one() / 2**20, 1)
            qs = queries(size)
            info["matches"] = {k: db.session.execute(text(
                "SELECT count(*) FROM institution WHERE name ILIKE :p OR reg_no = :q"),
                {"p": f"%{q}%", "q": q}).scalar_one() for k, q in qs.items()}
            info["plans"] = {k: explain(q) for k, q in qs.items()}
            db.session.remove()
        out["phases"][label] = {"size": size, "schema": where, **info, "queries": qs, "pages": {}}
        phases.append((label, app, client(app), qs))
    pages = ["apply_form_registration", *phases[0][3]]
    ms: dict[tuple[str, str], list[float]] = {}
    counts: dict[tuple[str, str], int] = {}
    for page in pages:
        for i in range(repeat + 3):
            for label, _app, c, qs in phases:
                t = time.perf_counter()
                if page == "apply_form_registration":
                    r = c.get("/physician/apply/registration")
                else:
                    r = c.get("/physician/institutions", query_string={"q": qs[page]})
                body = r.get_data()
                elapsed = (time.perf_counter() - t) * 1000
                assert r.status_code == 200, r.status_code
                if page != "apply_form_registration":
                    counts[label, page] = len(r.get_json()["results"])
                else:
                    counts[label, page] = len(body)
                if i >= 3:
                    ms.setdefault((label, page), []).append(elapsed)
    for (label, page), values in ms.items():
        key = "bytes" if page == "apply_form_registration" else "results"
        out["phases"][label]["pages"][page] = {"p50_ms": pct(values, 0.5), "p95_ms": pct(values, 0.95),
                                               key: counts[label, page]}
    small, large = (p["pages"] for p in out["phases"].values())
    out["ratio_p95"] = {k: round(v["p95_ms"] / small[k]["p95_ms"], 2) for k, v in large.items()}
    return out


def command() -> str:
    args = ["$PG" if a.startswith("postgresql") else a for a in sys.argv[1:]]
    return " ".join([".venv/bin/python bench/institution_search.py", *args])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    ap.add_argument("--institutions", type=int, default=100_000, help="1000000 = the nation (default 100000)")
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--schema", default="public", help="PostgreSQL schema to (re)create and use")
    args = ap.parse_args()
    if not args.database_url:
        sys.exit("--database-url (or BENCH_DATABASE_URL) must name a PostgreSQL database")
    print(json.dumps(run(args.database_url, args.institutions, args.repeat, args.schema),
                     ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
