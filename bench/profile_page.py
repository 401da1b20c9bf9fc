"""Where one page's time goes: a page requested ``--n`` times in a Flask test client under cProfile.

The data of the side-by-side run (bench/side_by_side.py): the seeded demo data, ``--tasks`` 注册
applications waiting at the institution, its staff member ``sidejigou`` signed in. Prints the SQL
statements of one request, the time of a request without the profiler, then the profile (cumulative,
our code and the template/gettext/session layers; then the functions with the most own time).

    MEDREG_CAPTCHA=off .venv/bin/python bench/profile_page.py [--page /inbox/ | --page task] [--n 300]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench.common import bench_app  # noqa: E402

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
TASK_LINK = re.compile(r'href="/inbox/tasks/(\d+)"')
OURS = r"app/|templating|sessions|babel|jinja2/ext"


def main() -> None:
    from app.extensions import db
    from app.models import Institution
    from app.models import Role
    from app.models import User
    from app.services.engine import processes
    from app.services.platform.seed import demo_payload
    from app.services.platform.seed import seed_demo
    from tests.factories import PASSWORD
    from tests.factories import make_qualification
    from tests.factories import make_user

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--page", default="/inbox/", help="a path, or 'task' for the first task's page")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--tasks", type=int, default=20)
    args = ap.parse_args()

    app = bench_app(None, RATELIMIT_ENABLED=False)
    upload_dir = app.config["MEDREG_UPLOAD_DIR"]
    with app.app_context():
        seed_demo(upload_dir)
        staff = db.session.scalar(select(User).where(User.username == "jigou01"))
        assert staff is not None
        hospital = db.session.get(Institution, staff.institution_id)
        assert hospital is not None
        make_user("sidejigou", Role.INSTITUTION, "对比医务科", institution_id=hospital.id)
        doctors = []
        for i in range(args.tasks):
            q = make_qualification(f"对比{i}", 3000 + i)
            doctors.append(make_user(f"side{i:05d}", Role.PHYSICIAN, f"对比{i}", qualification_id=q.id,
                                     id_number=q.id_number, mobile="15175070658", mobile_verified=True).id)
        db.session.commit()
        people = [db.session.get(User, d) for d in doctors]
        payloads = [demo_payload(hospital, upload_dir, person) for person in people if person is not None]
        db.session.commit()
        db.session.remove()
        for doctor, payload in zip(doctors, payloads, strict=True):
            applicant = db.session.get(User, doctor)
            assert applicant is not None
            processes.start_application(applicant, "registration", payload, upload_dir)
            db.session.remove()
        statements: list[str] = []

        def record(*a: Any) -> None:
            statements.append(str(a[2]))
        event.listen(db.engine, "before_cursor_execute", record)

    client = app.test_client()
    token = TOKEN.search(client.get("/login").text)
    assert token is not None, "the sign-in page has a CSRF token (run with MEDREG_CAPTCHA=off)"
    signed_in = client.post("/login", data={"csrf_token": token.group(1), "username": "sidejigou",
                                            "password": PASSWORD})
    assert signed_in.status_code == 302, "signed in (run with MEDREG_CAPTCHA=off)"
    page = args.page if args.page != "task" else "/inbox/tasks/" + TASK_LINK.findall(client.get("/inbox/").text)[0]
    for _ in range(20):
        client.get(page)
    statements.clear()
    resp = client.get(page)
    print(f"{page}: HTTP {resp.status_code}, {len(resp.data)} bytes, {len(set(TASK_LINK.findall(resp.text)))} "
          f"task links, {len(statements)} statements a request:")
    for s in statements:
        print("   ", " ".join(s.split())[:150])
    started = time.perf_counter()
    for _ in range(args.n):
        client.get(page)
    print(f"{(time.perf_counter() - started) * 1000 / args.n:.1f} ms a request without the profiler")
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(args.n):
        client.get(page)
    profile.disable()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("cumulative").print_stats(OURS, 45)
    stats.sort_stats("tottime").print_stats(25)
    print(out.getvalue())


if __name__ == "__main__":
    main()
