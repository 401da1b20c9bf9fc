"""发布 without a browser (``flask processes publish``): the editor's path, scripted.

Opens a draft from the newest published version (or from the shipped ``bpmn/`` and ``forms/``),
runs every test case of it to the end here with the editor's runner, and publishes through
:func:`editor.publish`, the editor's own gate and audit. A draft an administrator is editing is
never touched; a draft this opened is discarded again when the publish is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field

from flask_babel import gettext as _
from sqlalchemy import select

from app import resources
from app.extensions import db
from app.models import Role
from app.models import User
from app.models import canonical_username
from app.services.backoffice import case_runs
from app.services.backoffice import definitions
from app.services.backoffice import editor
from app.services.errors import DomainError
from app.services.errors import NotFound


@dataclass(frozen=True)
class Outcome:
    """What the command reports: the version published, or the reasons it was not."""

    process_id: str
    version: int | None
    reasons: list[str] = field(default_factory=list)
    run: case_runs.RunView | None = None


def _actor(author: str | None) -> User:
    query = select(User).where(User.role == Role.ADMIN, User.active.is_(True))
    if author:
        query = query.where(User.username == canonical_username(author))
    user = db.session.scalar(query.order_by(User.id).limit(1))
    db.session.rollback()
    if user is None:
        raise NotFound(_("没有系统管理员 %(u)s", u=author) if author
                       else _("没有系统管理员账户，请先运行 flask users create-admin"))
    return user


def _from_files(actor: User, process_id: str) -> None:
    """Replace the new draft's diagram, forms and cases with the shipped files."""
    path = resources.bpmn_dir() / f"{process_id}.bpmn"
    if not path.is_file():
        raise NotFound(_("安装包中没有流程图 %(f)s", f=path.name))
    draft = editor.loaded(process_id)
    draft.bpmn_xml = path.read_text(encoding="utf-8")
    shipped = definitions.all_forms()
    draft.forms = {fid: shipped[fid] for fid in draft.forms if fid in shipped}
    draft.cases = None  # only workflows_tests/<process>/ of the install
    draft.revision += 1
    draft.updated_by = actor.username
    db.session.commit()


def _run_reasons(run: case_runs.RunView) -> list[str]:
    results = run.results or {}
    out = [f"{r['key']}（{r['name']}）：{r['detail']}"
           for r in results.get("results") or [] if not r.get("ok")]
    if results.get("uncovered"):
        out.append(_("没有用例到达的元素：%(e)s", e="、".join(results["uncovered"])))
    return out


def publish(author: str | None, process_id: str, *, from_files: bool = False, note: str = "",
            exceptions: Mapping[str, str] | None = None) -> Outcome:
    """Open a draft, run its cases here, publish it (audited) or say why not in Chinese."""
    actor = _actor(author)
    definitions.published(process_id)  # NotFound: never loaded
    existing = editor.draft_of(process_id)
    if existing is not None:
        who, when = existing.updated_by, existing.updated_at
        db.session.rollback()
        raise DomainError(_("该流程有草稿正在编辑（%(u)s，%(t)s），请先在编辑器中发布或放弃该草稿",
                            u=who, t=f"{when:%Y-%m-%d %H:%M}"))
    editor.open_draft(actor, process_id)
    run: case_runs.RunView | None = None
    try:
        if from_files:
            _from_files(actor, process_id)
        run = case_runs.start(actor, process_id, sync=True)
        version = editor.publish(actor, process_id, note or _("命令行发布（flask processes publish）"),
                                 exceptions)
    except DomainError as exc:
        db.session.rollback()
        editor.discard_draft(actor, process_id)
        reasons = [exc.message, *exc.errors.values()]
        return Outcome(process_id, None, reasons + (_run_reasons(run) if run else []), run)
    return Outcome(process_id, version, [], run)
