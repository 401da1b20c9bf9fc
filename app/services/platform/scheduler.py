"""The timer sweeper: :func:`sweep` over ``next_timer_at``, run by the scheduler process's loop
(app/sweeper.py) or, in ``make run``, by an APScheduler interval job (:func:`start`).

Nothing about timers lives only in memory: a restarted process finds due
instances in the table and fires them. Safe to run in several processes on
PostgreSQL (rows are taken with ``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from flask import Flask

from app.extensions import db
from app.extensions import scheduler_holder
from app.models.base import utcnow
from app.services.applications import uploads
from app.services.engine import acceptance
from app.services.engine import assessment_rules
from app.services.engine import due
from app.services.engine import rules
from app.services.platform import health
from app.services.platform import idempotency
from app.services.platform import outbox
from app.services.platform import task_counts

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger("medreg.scheduler")


RULES_EVERY_SECONDS = 3600.0
_last_rules: list[float] = []


def _rules_due() -> bool:
    """The day-granular rules run at start-up and then hourly, not on every sweep."""
    now = time.monotonic()
    if _last_rules and now - _last_rules[0] < RULES_EVERY_SECONDS:
        return False
    _last_rules[:] = [now]
    return True


def rules_ran_at() -> float | None:
    """When (``time.monotonic()``) the day rules last ran in this process, if they did."""
    return _last_rules[0] if _last_rules else None


def rules_ran(at: float) -> None:
    """Count the day rules as run at ``at`` (a process that replaced itself keeps the hour)."""
    _last_rules[:] = [at]


def sweep(app: Flask) -> int:
    """Fire every due timer and dispatch pending messages, refresh 办理统计's snapshot when it is
    older than ``MEDREG_STATS_SECONDS`` (hourly: the day rules and the sweep of old temp
    uploads); returns instances fired."""
    fired = 0
    with app.app_context():
        try:
            for instance_id in due.due_instance_ids(utcnow()):
                db.session.rollback()
                # the engine (SpiffWorkflow, lxml, RestrictedPython) is loaded when a timer is due
                from app.services.engine import processes

                if processes.fire_timers(instance_id):
                    fired += 1
            if _rules_due():
                rules.expire_filings()
                assessment_rules.suspend_failed()  # before end_suspensions: same day
                rules.end_suspensions()
                rules.raise_long_filed()
                assessment_rules.raise_failed_reassessments()
                assessment_rules.raise_missed_cycles()
                rules.remind_assessments()
                acceptance.deem_accepted()  # 行政许可法 第三十二条: no 补正 notice in 5 days
                uploads.sweep(app.config["MEDREG_UPLOAD_DIR"])  # refused attempts' files
                idempotency.prune(utcnow())  # forms' tokens older than two days
                outbox.prune_delivered(utcnow(), int(app.config["MEDREG_OUTBOX_RETENTION_DAYS"]))
            outbox.dispatch_pending(app.config)
            # 办理统计: every MEDREG_STATS_SECONDS, by one scheduler (the others skip)
            task_counts.refresh(float(app.config["MEDREG_STATS_SECONDS"]))
            health.record_sweep()  # /healthz: the sweep age
        except Exception:  # noqa: BLE001 - the sweeper must survive and retry
            db.session.rollback()
            log.exception("timer sweep failed")
        finally:
            db.session.remove()
    return fired


def start(app: Flask) -> BackgroundScheduler:
    """Start the sweeper in a background thread of this process (one per app: ``make run``)."""
    from apscheduler.schedulers.background import BackgroundScheduler

    key = str(id(app))
    if key in scheduler_holder:
        return scheduler_holder[key]
    sched = BackgroundScheduler(timezone="UTC")
    sched.add_job(sweep, "interval", args=[app], seconds=float(app.config["MEDREG_SWEEP_SECONDS"]),
                  id="timer-sweep", max_instances=1, coalesce=True)
    sched.start()
    scheduler_holder[key] = sched
    app.extensions["medreg_scheduler"] = sched
    return sched


def stop(app: Flask) -> None:
    sched = scheduler_holder.pop(str(id(app)), None)
    if sched is not None:
        sched.shutdown(wait=True)
