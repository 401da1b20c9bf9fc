"""What every benchmark shares: an app on a fresh database (SQLite file or a PostgreSQL
schema of its own), percentiles, a description of the machine, and stopping the processes a
benchmark started."""

from __future__ import annotations

import os
import platform
import signal
import statistics
import subprocess
import tempfile
from typing import Any

from flask import Flask
from sqlalchemy import text


def bench_app(url: str | None, schema: str = "public", **config: Any) -> Flask:
    """A migrated app with reference data on an empty database. On PostgreSQL the schema is
    dropped and created again (use a schema of its own next to other users' data)."""
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.services.platform import seed
    tmp = tempfile.mkdtemp(prefix="medreg-bench-")
    settings: dict[str, Any] = {
        "TESTING": True, "MEDREG_ENV": "development",
        "SECRET_KEY": "bench", "MEDREG_SCHEDULER": False, "MEDREG_FAST_HASH": True,
        "MEDREG_UPLOAD_DIR": f"{tmp}/uploads", "MEDREG_MAIL_BACKEND": "log",
        "SQLALCHEMY_DATABASE_URI": url or f"sqlite:///{tmp}/bench.db", **config}
    postgres = settings["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    if postgres and schema != "public":
        settings["SQLALCHEMY_DATABASE_URI"] = with_schema(settings["SQLALCHEMY_DATABASE_URI"], schema)
    app = create_app(settings)
    with app.app_context():
        if postgres:
            with db.engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"'))
        upgrade()
        seed.seed_reference()
        db.session.remove()
    return app


def with_schema(url: str, schema: str) -> str:
    """A PostgreSQL URL whose connections use ``schema`` (libpq ``options``)."""
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (0–1) of ``values``, rounded to 0.01."""
    ordered = sorted(values)
    if p == 0.5:
        return round(statistics.median(ordered), 2)
    return round(ordered[max(0, min(len(ordered) - 1, int(round(len(ordered) * p)) - 1))], 2)


def machine() -> str:
    return (f"{os.cpu_count()} CPU {platform.machine()} {platform.processor() or ''}".strip()
            + f", Python {platform.python_version()}")


def stop(procs: list[subprocess.Popen[Any]]) -> None:
    """SIGTERM each process, then wait up to 30 s for each and kill what is still running."""
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
