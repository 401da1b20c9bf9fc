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


def test_memory() -> None:
    r = _bench("memory.py", "--rounds", "1", "--settle", "1", "--setups", "embedded,production")
    embedded, production = r["setups"]["embedded"], r["setups"]["production"]
    # every page of the journey answered (3 sign-ins, 3 lists, the 2 staff's first task)
    assert embedded["answered"] == production["answered"] == 8
    assert [p["process"] for p in production["processes"]] == ["gunicorn master", "gunicorn worker", "scheduler"]
    for p in embedded["processes"] + production["processes"]:
        assert 0 < p["uss"] <= p["pss"] <= p["rss"]
