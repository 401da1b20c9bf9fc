"""A short run of each benchmark (the full runs are `make bench`): they work and report their
figures. Each runs in its own interpreter on its own database (SQLite file, or a schema of
its own next to the tests' PostgreSQL database); no timing is asserted."""

from __future__ import annotations

import json
import os
import signal
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
    # issue 14 goal 4: BEGIN, locked read, read model + audit head (one WITH), audit event, COMMIT
    assert r["step_statements"][0].startswith("BEGIN") and r["step_statements"][-1] == "COMMIT"
    assert r["round_trips_per_step"] <= (5 if r["database"] == "postgresql" else 9), r["step_statements"]


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


def test_page_cost() -> None:
    # issue 14 goal 1: the fixed cost of a page, this tree against itself taking turns (the
    # full run compares with the commit before the work: docs/performance.md)
    r = _bench("page_cost.py", "--tasks", "300", "--repeat", "2", "--round", "1", "--before", str(ROOT))
    assert set(r["pages"]) == {"inbox_commission", "inbox_institution", "physician_home",
                               "apply_form_get", "task_form_get", "task_form_post",
                               "physician_task_get"}
    for page in r["pages"].values():
        assert page["before"]["statements"] == page["after"]["statements"] > 0
        assert page["after"]["p50_ms"] > 0 and page["after"]["cpu_p50_ms"] > 0


def test_request_floor() -> None:
    # issue 14 goal 1: what a request costs before its page, warm and with the caches emptied
    r = _bench("request_floor.py", "--tasks", "300", "--n", "20")
    assert set(r["pages"]) == {"bare_flask", "static_file", "signed_in_empty", "signed_in_layout",
                               "inbox_institution"}
    for page in r["pages"].values():
        assert page["hot_p50_ms"] > 0 and page["cold_p50_ms"] > 0 and page["idle_p50_ms"] > 0
    # the institution's 待办任务 is a real page (its rows and layout), not an error page
    assert r["pages"]["inbox_institution"]["bytes"] > r["pages"]["signed_in_layout"]["bytes"] > 2
    assert set(r["added_cold_ms"]) == {"flask_to_signed_in_empty", "empty_to_layout", "layout_to_inbox"}


def test_storage() -> None:
    # issue 14 goal 2: database growth per completed instance, per table and index
    r = _bench("storage.py", "--n", "2")
    done, kept = r["growth_when_completed"], r["growth_after_outbox_retention"]
    assert r["completed_applications"] == 2 and r["workflow_state_kib"] > 0
    assert 0 < kept["bytes_per_instance"] <= done["bytes_per_instance"]
    assert "process_instance" in done["by_table_or_index"]


def test_every_index_of_the_instance_tables_is_used() -> None:
    # issue 14 goal 2: indexes no query uses are removed; each remaining one shows in its plan
    r = _bench("indexes.py")
    assert r["all_used"], [i for i in r["indexes"] if not i["used"]] or r["not_audited"]
    assert len(r["indexes"]) == 14  # uq_audit_event_hash dropped (migration 0029: no query reads by hash)


@pytest.mark.skipif(not PG, reason="the multi-process deployment needs PostgreSQL (several processes write at "
                                   "once); it runs in the PostgreSQL pass of `make test`")
def test_cluster() -> None:
    """Two nodes, two schedulers, Redis: one node and one scheduler SIGKILLed half-way through."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDREG_")}
    proc = subprocess.Popen([sys.executable, "bench/cluster.py", "--users", "4", "--seconds", "16",
                             "--throughput-seconds", "6", "--timers", "10", "--database-url", PG,
                             "--schema", "bench_smoke_cluster"], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=300)
    finally:  # the script stops its cluster on SIGTERM (and its children die with it anyway)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-3000:]
    r = json.loads(out[out.index("{\n"):])
    assert r["phases"]["failover"]["killed"] == ["node2", "scheduler1"]
    # Failed requests after the retry are reported, not asserted, at this size: with 4 users a
    # kill that lands on a sign-in fails that user's next requests too (docs/performance.md, the
    # finding of the multi-process section), and one CI run of 2026-11-29 saw 7 such failures
    # that this test could not tell apart. The full run (`make bench`) measures them: 0 of 3,295.
    # What must hold whatever the timing: nothing acknowledged is lost or doubled, every timer
    # fires once, the chain and the read model are intact.
    assert r["failed_requests_after_retry"] >= r["of_which_sign_ins_refused_after_lost_answer"] >= 0
    # what each failure was (page, error), so a run that sees some says which
    assert sum(f["occurrences"] for f in r["failed_after_retry"]) == r["failed_requests_after_retry"], \
        r["failed_after_retry"]
    assert r["acknowledged_applications"] > 0 and r["lost_acknowledged"] == 0
    assert r["physicians_with_two_applications"] == 0
    assert r["timers"] == {"timers": 10, "fired_once": 10, "fired_twice_or_more": 0, "not_fired": 0, "errors": 0}
    assert r["audit_chain_broken_at"] == [] and r["read_model_mismatches"] == []
    assert r["rate_limit_keys_in_redis"] > 0  # the nodes count in the shared store


def test_memory() -> None:
    r = _bench("memory.py", "--rounds", "1", "--settle", "1", "--setups", "embedded,production",
               "--sweeper-idle", "2")
    embedded, production = r["setups"]["embedded"], r["setups"]["production"]
    # every page of the journey answered (3 sign-ins, 3 lists, the 2 staff's first task)
    assert embedded["answered"] == production["answered"] == 8
    three = ["gunicorn master", "gunicorn worker", "scheduler"]
    assert [p["process"] for p in production["processes"]] == three
    # a scheduler that loaded the engine (the seeded data's day rules start cases, unless the
    # embedded set-up's scheduler did that first) replaces itself after 2 s idle and the set-up
    # is read again then
    idle = production.get("idle", production)
    assert [p["process"] for p in idle["processes"]] == three
    assert idle["processes"][2]["pid"] == production["processes"][2]["pid"]  # the same process
    for p in embedded["processes"] + production["processes"] + idle["processes"]:
        assert 0 < p["uss"] <= p["pss"] <= p["rss"]
    total = idle["total_mib"]  # the set-up's pages once each: between its private pages and RSS
    if total["distinct"] is not None:  # frame numbers need root
        assert total["uss"] <= total["distinct"] <= total["rss"]


@pytest.mark.skipif(not PG, reason="the national benchmark fills PostgreSQL with generate_series; "
                                   "it runs in the PostgreSQL pass of `make test`")
def test_national() -> None:
    r = _bench("national.py", "--scale", "0.0002", "--repeat", "2", "--import-rows", "300")
    assert set(r["phases"]) == {"10k", "scale 0.0002"}
    # the two data sets side by side, their requests taking turns: both ratios for every page
    assert r["interleaved"] and set(r["ratio_p50"]) == set(r["ratio_p95"]) >= {"signup_matching"}
    assert [p["schema"] for p in r["phases"].values()] == ["bench_smoke_10k", "bench_smoke"]
    for phase in r["phases"].values():
        pages = phase["pages"]
        assert all(f.get("status", 200) == 200 for name, f in pages.items() if name != "signup_matching")
        assert pages["signup_matching"]["status"] == 302 and pages["signup_matching"]["matched"] >= 2
        assert pages["roster_export_hospital"]["rows"] > 0 and pages["roster_export_50k"]["rows"] > 0
        assert pages["csv_import"]["imported"] == 300 and pages["csv_import"]["failed"] == 0
        # issue 14 goal 5: 办理统计's snapshot was taken (and timed) for the page to read
        refresh = phase["stats_refresh"]
        assert refresh["seconds_per_refresh"] > 0 and refresh["rows"] > 0
        assert refresh["open_tasks_counted"] >= refresh["rows"]
        # issue 14 (拟执业机构): searched by a broad word and by a 3-character part of the names
        # (not a prefix: the trigram index), each answer at most 20 institutions; the prefix 第<n>号
        # names one institution, which a small data set may not have
        for search in ("institution_search_broad", "institution_search_fragment"):
            assert 0 < pages[search]["results"] <= 20, (search, pages[search])
        assert 0 <= pages["institution_search_name"]["results"] <= 1
    # 2,500 rows at 10k-scale: sent in pieces, without a Content-Length
    assert r["phases"]["10k"]["pages"]["roster_export_hospital"]["streamed"]


def test_national_import_only() -> None:
    # issue 14 goal 5 (import ≥ 1,000 rows/s): the import alone, also on SQLite, this tree
    # against itself taking turns (the full run compares with the commit before the work)
    r = _bench("national.py", "--import-only", "--import-rows", "300", "--rounds", "1", "--batch", "200",
               "--before", str(ROOT))
    assert set(r["trees"]) == {"before", "after"} and r["after_over_before"] > 0
    for name, tree in r["trees"].items():
        assert (tree["imported"], tree["failed"]) == (300, 0)
        assert tree["batches"] == (2 if name == "after" else 1)  # --batch sets this tree's step only
        assert tree["rows_per_s_median"] > 0 and tree["statements_per_batch"] <= 20


@pytest.mark.skipif(not PG, reason="the institution search benchmark needs pg_trgm (PostgreSQL); "
                                   "it runs in the PostgreSQL pass of `make test`")
def test_institution_search() -> None:
    # issue 14 (拟执业机构 at national scale): both sizes side by side, every query answered
    # with at most 20 institutions, the plans printed; the form holds no institution
    r = _bench("institution_search.py", "--institutions", "12000", "--repeat", "2")
    assert [p["schema"] for p in r["phases"].values()] == ["bench_smoke_10k", "bench_smoke"]
    for phase in r["phases"].values():
        pages = phase["pages"]
        assert 0 < pages["broad_word"]["results"] <= 20 and pages["reg_no"]["results"] >= 1
        assert any("ix_institution_name" in line for plan in phase["plans"].values()
                   for lines in plan for line in lines)
    assert set(r["ratio_p95"]) >= {"apply_form_registration", "whole_name", "broad_word"}


def test_side_by_side_ours_only() -> None:
    # issue 14 goal 1: the side-by-side driver measures ours alone when no SpiffArena is there (CI)
    r = _bench("side_by_side.py", "--ours-only", "--rounds", "2", "--warmup", "0", "--backlog", "1", "--settle", "0")
    ours = r["sides"]["ours"]
    assert list(r["sides"]) == ["ours"] and "ours_over_spiffarena" not in r
    assert ours["outcomes"] == ["approved"]  # both rounds' applications went through to 准予注册
    # each round: open the form, submit it, then list, open and decide three tasks
    assert {c: ours["calls"][c]["n"] for c in ("open the start form", "start an instance", "list ready tasks",
                                                "open a task", "complete a user task", "whole journey")} == {
        "open the start form": 2, "start an instance": 2, "list ready tasks": 2, "open a task": 6,
        "complete a user task": 6, "whole journey": 2}
    assert min(ours["listed_tasks"]) >= 2  # the backlog's application and the round's own
    assert ours["bytes_per_completed_instance"] > 0
    assert [p["process"] for p in ours["memory_mib"]["processes"]] == [
        "gunicorn master", "gunicorn worker", "scheduler (app.sweeper)"]
