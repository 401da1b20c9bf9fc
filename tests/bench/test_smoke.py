"""A short run of each benchmark (the full runs are `make bench`): they work and report their
figures. Each runs in its own interpreter on its own database (SQLite file, or a schema of
its own next to the tests' PostgreSQL database); no timing is asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PG = os.environ.get("TEST_DATABASE_URL", "")


def _bench(script: str, *args: str) -> dict[str, Any]:
    db = ["--database-url", PG, "--schema", "bench_smoke"] if PG else []
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDREG_")}
    out = subprocess.run([sys.executable, f"bench/{script}", *args, *db], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout[out.stdout.index("{\n"):])


def test_engine_step() -> None:
    r = _bench("engine_step.py", "--smoke")
    assert r["n"] == 3 and r["service_p50_ms"] > 0 and r["floor_p50_ms"] > 0 and r["ratio_p50"] > 0


def test_timers() -> None:
    r = _bench("timers.py", "--n", "20", "--window", "2")
    assert (r["timers"], r["fired"], r["errors"]) == (20, 20, 0) and r["lateness_p99_s"] >= 0


def test_growth() -> None:
    r = _bench("growth.py", "--apps", "1", "--loops", "3")
    assert set(r["loops"]) == {"1", "3"} and r["state_ratio_last_to_first"] > 0


@pytest.mark.skipif(not PG, reason="the inbox benchmark fills PostgreSQL with generate_series; "
                                   "it runs in the PostgreSQL pass of `make test`")
def test_inbox() -> None:
    r = _bench("inbox.py", "--sizes", "500,2000", "--repeat", "5")
    assert set(r["sizes"]) == {"500", "2000"} and r["ratio_p95_largest_to_smallest"] > 0


def test_storage() -> None:
    r = _bench("storage.py", "--n", "2")
    assert r["completed_applications"] == 2 and 0 < r["workflow_state_kib"] < r["all_rows_kib"]


@pytest.mark.skipif(not PG, reason="the national benchmark fills PostgreSQL with generate_series; "
                                   "it runs in the PostgreSQL pass of `make test`")
def test_national() -> None:
    r = _bench("national.py", "--scale", "0.0002", "--repeat", "2", "--import-rows", "300")
    assert set(r["phases"]) == {"10k", "scale 0.0002"}
    for phase in r["phases"].values():
        pages = phase["pages"]
        assert all(f.get("status", 200) == 200 for name, f in pages.items() if name != "signup_matching")
        assert pages["signup_matching"]["status"] == 302 and pages["signup_matching"]["matched"] >= 2
        assert pages["roster_export_hospital"]["rows"] > 0 and pages["roster_export_50k"]["rows"] > 0
        assert pages["csv_import"]["imported"] == 300 and pages["csv_import"]["failed"] == 0
    # 2,500 rows at 10k-scale: sent in pieces, without a Content-Length
    assert r["phases"]["10k"]["pages"]["roster_export_hospital"]["streamed"]
