"""运行测试用例 as a background job: a run of a draft's test cases is queued in the request,
worked by a thread with its own app context, and polled by the editor page.

A run tests the draft's exact content (diagram, forms and cases, by hash) with the hard
limit :data:`cases.RUN_SECONDS`; one run per draft at a time (``case_run.active_key`` is
unique). A run left unfinished past the limit (the server stopped) is marked failed when
it is next looked at. Tests set ``MEDREG_CASE_RUNS_SYNC`` to work the job in the request.
A run of one case (运行此用例, ``case_key``) shows that case's result and path; it never counts
for publishing, which needs a run of every case.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import CaseRun
from app.models import User
from app.models.base import utcnow
from app.services.backoffice import calendar as work_calendar
from app.services.backoffice import cases
from app.services.backoffice import editor
from app.services.errors import Conflict
from app.services.errors import DomainError
from app.services.errors import NotFound
from app.services.platform import audit

SYNC_FLAG = "MEDREG_CASE_RUNS_SYNC"
STALE_AFTER = timedelta(seconds=cases.RUN_SECONDS + 60)


@dataclass(frozen=True)
class RunView:
    """What the editor shows of a run."""

    id: int
    process_id: str
    state: str  # queued / running / passed / failed
    done: int
    total: int
    message: str
    results: dict[str, Any] | None
    current: bool  # it tested the draft's present content
    case_key: str | None = None  # the one case it ran (None: every case)

    @property
    def finished(self) -> bool:
        return self.state in ("passed", "failed")

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "done": self.done, "total": self.total,
                "message": self.message, "results": self.results, "current": self.current,
                "finished": self.finished, "case_key": self.case_key}


@dataclass(frozen=True)
class _Job:
    run_id: int
    actor_id: int
    process_id: str
    xml: str
    forms: dict[str, dict[str, Any]]
    cases: list[cases.Case]
    case_key: str | None = None


def _view(row: CaseRun, sha: str | None) -> RunView:
    return RunView(row.id, row.process_id, row.state, row.done, row.total, row.message or "",
                   row.results, sha == row.content_sha, row.case_key)


def _expire_stale(process_id: str) -> None:
    """Mark a run that outlived the limit (its worker is gone) as failed and free the draft."""
    limit = utcnow() - STALE_AFTER
    db.session.execute(update(CaseRun).where(
        CaseRun.process_id == process_id, CaseRun.active_key.is_not(None),
        CaseRun.created_at < limit).values(
        state="failed", active_key=None, finished_at=utcnow(),
        message=_("运行超过时限或被中断，请重新运行")))


def start(actor: User, process_id: str, case_key: str | None = None, *,
          sync: bool = False) -> RunView:
    """Queue a run of the process's cases (or of the one case ``case_key``) on the saved draft
    and start its worker; ``sync`` works it here and returns the finished run."""
    draft = editor.loaded(process_id)
    problems = editor.problems_of(draft)
    if problems:
        db.session.rollback()
        raise DomainError(_("草稿未通过校验（%(n)s 个问题），请先修正", n=len(problems)))
    found = editor.draft_cases(draft)
    if not found:
        db.session.rollback()
        raise DomainError(_("该流程没有测试用例，不能发布；请先添加测试用例"))
    if case_key is not None:
        found = [c for c in found if c.key == case_key]
        if not found:
            db.session.rollback()
            raise NotFound(_("没有这个测试用例：%(k)s（请先保存用例）", k=case_key))
    sha = editor.content_sha(draft)
    job_xml, job_forms = draft.bpmn_xml, editor.known_forms(draft)
    _expire_stale(process_id)
    row = CaseRun(process_id=process_id, content_sha=sha, state="queued", done=0,
                  total=len(found), active_key=process_id, started_by=actor.username,
                  case_key=case_key)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_("该草稿的测试用例正在运行，请等待本次运行结束")) from None
    audit.record(actor, "process.cases_started", "process_definition", process_id,
                 {"run": row.id, "cases": len(found), "revision": draft.revision,
                  **({"case": case_key} if case_key is not None else {})})
    db.session.commit()
    job = _Job(row.id, actor.id, process_id, job_xml, job_forms, found, case_key)
    view = _view(row, sha)
    if sync or current_app.config.get(SYNC_FLAG):
        _execute(job)
        return status(process_id) or view
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    threading.Thread(target=_work, args=(app, job), name=f"case-run-{row.id}",
                     daemon=True).start()
    return view


def _work(app: Flask, job: _Job) -> None:
    with app.app_context():
        try:
            _execute(job)
        finally:
            db.session.remove()


def _progress(run_id: int) -> Any:
    def report(done: int, total: int) -> None:
        db.session.execute(update(CaseRun).where(CaseRun.id == run_id).values(done=done))
        db.session.commit()
    return report


def _execute(job: _Job) -> None:
    """Work one run to its end (passed or failed); never raises."""
    db.session.execute(update(CaseRun).where(CaseRun.id == job.run_id).values(state="running"))
    db.session.commit()
    try:
        report = cases.run(job.process_id, job.xml, job.forms, job.cases,
                           progress=_progress(job.run_id), calendar=work_calendar.current())
        if job.case_key is not None:  # one case reaches only part of the diagram
            report = cases.Report(report.process_id, report.results, [])
        results: dict[str, Any] | None = report.to_json()
        state = "passed" if report.ok else "failed"
        message = _message(report) if job.case_key is None else _one_message(report)
    except Exception as exc:  # noqa: BLE001 - the run fails, the worker lives on
        db.session.rollback()
        results, state = None, "failed"
        message = _("测试用例无法运行：%(e)s", e=type(exc).__name__)
    row = db.session.get(CaseRun, job.run_id)
    if row is None:
        return
    row.state, row.results, row.message = state, results, message[:200]
    row.active_key, row.finished_at = None, utcnow()
    audit.record(db.session.get(User, job.actor_id), "process.cases", "process_definition",
                 job.process_id, {"run": row.id, "state": state,
                                  "passed": (results or {}).get("passed", 0),
                                  "failed": (results or {}).get("failed", 0)})
    db.session.commit()


def _message(report: cases.Report) -> str:
    if report.ok:
        return _("测试用例全部通过（%(n)s 个），流程图的每个元素都有用例到达", n=report.passed)
    if not report.results:
        return _("该流程没有测试用例")
    text = (_("%(f)s 个用例失败，%(n)s 个通过", f=report.failed, n=report.passed) if report.failed
            else _("%(n)s 个用例全部通过", n=report.passed))
    if report.uncovered:
        text += _("；%(k)s 个元素没有用例到达", k=len(report.uncovered))
    return text


def _one_message(report: cases.Report) -> str:
    result = report.results[0]
    if result.ok:
        return _("用例 %(k)s 通过（仅运行此用例；发布前请运行全部测试用例）", k=result.key)
    return _("用例 %(k)s 失败：%(d)s", k=result.key, d=result.detail)


def status(process_id: str) -> RunView | None:
    """The latest run of the process's draft (None: never run)."""
    _expire_stale(process_id)
    db.session.commit()
    row = db.session.scalar(select(CaseRun).where(CaseRun.process_id == process_id)
                            .order_by(CaseRun.id.desc()).limit(1))
    if row is None:
        return None
    draft = editor.draft_of(process_id)
    view = _view(row, editor.content_sha(draft) if draft is not None else None)
    db.session.rollback()
    return view
