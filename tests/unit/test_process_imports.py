"""What each process imports (docs/performance.md, Memory; issue 14 goal 3): the scheduler
process holds only what the timer sweep needs, and a web worker loads Alembic, reportlab,
segno and Pillow only when a command or page needs them. Each check runs in a fresh
interpreter, so nothing another test imported counts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEB_ONLY = ("app.web", "flask_wtf", "wtforms", "flask_limiter", "limits", "alembic", "flask_migrate",
            "mako", "reportlab", "PIL", "segno", "jsonschema")
ENGINE = ("app.services.engine.processes", "SpiffWorkflow", "lxml", "RestrictedPython", "apscheduler")


def _imported_after(code: str, tmp_path: Path) -> set[str]:
    """The top-level packages (and app.* modules) loaded after running ``code``."""
    script = (f"import json, sys\nSETTINGS = {{'SQLALCHEMY_DATABASE_URI': 'sqlite:///{tmp_path}/x.db', "
              f"'SECRET_KEY': 'x', 'MEDREG_ENV': 'development', 'MEDREG_UPLOAD_DIR': '{tmp_path}/u'}}\n"
              f"{code}\nprint(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    names: set[str] = set()
    for name in json.loads(out.stdout.splitlines()[-1]):
        names.add(name)
        names.add(name.split(".")[0])
    return names


def test_the_scheduler_process_does_not_load_the_web_layer(tmp_path: Path) -> None:
    loaded = _imported_after(
        "from app import create_scheduler_app\n"
        "from app.services.platform import scheduler\n"
        "app = create_scheduler_app(SETTINGS)\n"
        "with app.app_context():\n"
        "    from app.extensions import db; db.create_all()\n"
        "scheduler.sweep(app)\n"
        "with app.app_context():\n"
        "    from app.services.platform import task_counts\n"
        "    assert task_counts.taken_at() is not None\n", tmp_path)
    assert "app.services.engine.due" in loaded  # it asked for due timers
    # issue 14 goal 5: the sweep took 办理统计's snapshot without the engine or the inbox
    assert "app.services.platform.task_counts" in loaded and "app.services.inbox" not in loaded
    assert [m for m in WEB_ONLY if m in loaded] == []
    # nothing was due: the engine and APScheduler stay unloaded (the loop runs in the main thread)
    assert [m for m in ENGINE if m in loaded] == []


def test_the_engine_is_loaded_when_a_timer_is_due(tmp_path: Path) -> None:
    loaded = _imported_after(
        "from app import create_scheduler_app\n"
        "from app.services.platform import scheduler\n"
        "app = create_scheduler_app(SETTINGS)\n"
        "with app.app_context():\n"
        "    from app.extensions import db; db.create_all()\n"
        "    from bench.timers import add_timer_instances\n"
        "    from datetime import timedelta; from app.models.base import utcnow\n"
        "    due = utcnow() + timedelta(seconds=3)  # the timer is set before it is due\n"
        "    add_timer_instances([due])\n"
        "    db.session.remove()\n"
        "import time; time.sleep((due - utcnow()).total_seconds() + 0.2)\n"
        "assert scheduler.sweep(app) == 1\n", tmp_path)
    assert "app.services.engine.processes" in loaded  # the sweep above fired its timer
    assert [m for m in WEB_ONLY if m in loaded] == []


def test_a_web_worker_loads_alembic_and_the_printers_on_use(tmp_path: Path) -> None:
    loaded = _imported_after("from app import create_app\napp = create_app(SETTINGS)\n", tmp_path)
    assert "app.web" in loaded and "flask_wtf" in loaded
    assert [m for m in ("alembic", "flask_migrate", "reportlab", "PIL", "segno", "jsonschema")
            if m in loaded] == []


def test_gunicorns_master_reads_its_settings_without_flask(tmp_path: Path) -> None:
    """The master imports deploy/gunicorn.conf.py (the JSON access log's formatter from app.log);
    the app itself is loaded by the worker only."""
    loaded = _imported_after("import runpy\nrunpy.run_path('deploy/gunicorn.conf.py')\n", tmp_path)
    assert "app.log" in loaded and "gunicorn" in loaded
    assert [m for m in ("flask", "werkzeug", "jinja2", "sqlalchemy") if m in loaded] == []


def test_flask_db_still_migrates(tmp_path: Path) -> None:
    loaded = _imported_after(
        "from app import create_app\nfrom flask_migrate import upgrade\n"
        "app = create_app(SETTINGS)\nwith app.app_context(): upgrade()\n", tmp_path)
    assert "alembic" in loaded
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "current"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=True,
                         env={"PATH": "/usr/bin:/bin", "MEDREG_ENV": "development",
                              "DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "SECRET_KEY": "x"})
    assert "(head)" in out.stdout


def _seeded_database(tmp_path: Path) -> None:
    """The demo data (migrated, seeded) in ``tmp_path/x.db``, written by another interpreter:
    seeding starts applications, which loads the engine."""
    script = ("from bench.common import bench_app\nfrom app.services.platform import seed\n"
              f"app = bench_app('sqlite:///{tmp_path}/x.db')\n"
              "with app.app_context():\n    seed.seed_demo(app.config['MEDREG_UPLOAD_DIR'])\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, check=False)
    assert out.returncode == 0, out.stderr[-3000:]


def test_a_web_worker_serves_the_inbox_and_a_task_without_the_engine(tmp_path: Path) -> None:
    """Issue 14 goal 3: the pages a person reads (待办任务, a task, 业务查询) take what they show
    of a diagram from its stored version; SpiffWorkflow, lxml and RestrictedPython are loaded by
    the first step a worker runs, not at start or by a page."""
    _seeded_database(tmp_path)
    loaded = _imported_after(
        "import re\nfrom app import create_app\n"
        "app = create_app({**SETTINGS, 'WTF_CSRF_ENABLED': False, 'RATELIMIT_ENABLED': False})\n"
        "c = app.test_client()\n"
        "assert c.post('/login', data={'username': 'jigou01', 'password': 'Jigou2026'}).status_code == 302\n"
        "inbox = c.get('/inbox/').get_data(as_text=True)\n"
        "assert '医疗机构确认' in inbox, inbox[-2000:]  # the step's title, read from the stored version\n"
        "task = re.search(r'href=\"/inbox/tasks/(\\d+)\"', inbox).group(1)\n"
        "page = c.get(f'/inbox/tasks/{task}').get_data(as_text=True)\n"
        "assert '医疗机构确认' in page and '确认' in page, page[-2000:]\n"
        "import babel.core\n"
        "assert babel.core._global_data is None  # the locale is named as CLDR does: no 2 MiB table\n",
        tmp_path)
    assert "app.services.inbox.tasks" in loaded and "app.services.engine.processes" in loaded
    assert [m for m in ("SpiffWorkflow", "lxml", "RestrictedPython", "app.workflow.engine")
            if m in loaded] == []


def test_the_scheduler_starts_a_case_without_the_diagram_parser(tmp_path: Path) -> None:
    """A day rule starts 依职权注销 cases on the demo data (registrations filed two years ago):
    the step restores its specs from the stored version, so the scheduler loads SpiffWorkflow's
    runtime but not its BPMN parser."""
    _seeded_database(tmp_path)
    loaded = _imported_after(
        "from app import create_scheduler_app\n"
        "from app.services.platform import scheduler\n"
        "app = create_scheduler_app(SETTINGS)\n"
        "with app.app_context():\n"
        "    from sqlalchemy import func, select\n"
        "    from app.extensions import db\n"
        "    from app.models import ProcessInstance\n"
        "    cases = select(func.count()).where(ProcessInstance.process_id == 'cancellation_ex_officio')\n"
        "    before = db.session.scalar(cases)\n"
        "    db.session.remove()\n"
        "scheduler.sweep(app)\n"
        "with app.app_context():\n"
        "    assert db.session.scalar(cases) > before  # 医师执业注册管理办法 第十九条: 备案满二年, 依职权注销\n",
        tmp_path)
    assert "app.services.engine.processes" in loaded and "SpiffWorkflow" in loaded
    assert [m for m in ("SpiffWorkflow.bpmn.parser", "SpiffWorkflow.spiff.parser", "app.workflow.validate")
            if m in loaded] == []
    assert [m for m in WEB_ONLY if m in loaded and m != "jsonschema"] == []  # the start form is validated
