"""The paper step (R-39): the 申请审核表 the system prints, the institution's signed copy, and the
public check of the QR code printed on it.

The institutions of a type with a table confirm with ``forms/institution_confirm_paper.json``: they
upload the signed and stamped scan (``paper_scan``) or tick that they hold the signed paper
(``paper_held``); the form refuses a confirmation with neither. Both are read back here from the
completed confirmation task; nothing is stored twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from itsdangerous import BadData
from itsdangerous import URLSafeSerializer

from app.extensions import db
from app.models import HumanTask
from app.models import ProcessDefinition
from app.models import ProcessInstance
from app.models import User
from app.services.applications import eligibility
from app.services.backoffice import definitions
from app.services.engine import policies
from app.services.engine.clock import CST
from app.services.errors import NotFound
from app.services.inbox import tasks

PAPER_FORM = "institution_confirm_paper"
TABLE_KEY = "x-review-table"  # on a start form: the name of the type's 申请审核表
DEFAULT_TITLE = "医师执业、变更执业、多机构备案申请审核表"
_SALT = "review-table"


@dataclass(frozen=True)
class PaperState:
    """What the institution recorded about the signed paper at its confirmation."""

    scan: tasks.FileRef | None
    held: bool
    by: str
    at: datetime | None


@dataclass(frozen=True)
class PublicApplication:
    """What anyone holding the printed QR code may see: no name, no ID number."""

    number: int
    business_type: str
    status: str
    submitted_on: date


def start_form(row: ProcessDefinition | definitions.Version) -> dict[str, Any]:
    """The start form of a stored definition version (its row, or its cached version)."""
    defn = row.definition if isinstance(row, definitions.Version) else definitions.definition_of(row)
    schema: dict[str, Any] = row.forms[definitions.start_form_id(defn)]
    return schema


def table_title(row: ProcessDefinition | definitions.Version) -> str | None:
    """The 申请审核表 of this type, or None when the type has none (信息修改, 照片审核…).

    Versions published before the paper step asked the physician for the scan
    (``application_form``); they get the general table.
    """
    schema = start_form(row)
    if schema.get(TABLE_KEY):
        return str(schema[TABLE_KEY])
    if "application_form" in schema.get("properties", {}):
        return DEFAULT_TITLE
    return None


def paper_state(actor: User, inst: ProcessInstance, version: definitions.Version | None = None,
                steps: Sequence[tasks.TaskLine] | None = None) -> PaperState | None:
    """The latest confirmation's scan or tick, for those who may see the application.

    None for a version without the paper step (the physician uploaded the scan then);
    an empty state while no institution has confirmed with the paper. ``version`` and
    ``steps``: the instance's definition version and steps when the caller holds them (they
    are then not read again).
    """
    if not policies.can_view_instance(actor, inst):
        raise NotFound(_("申请不存在"))
    if PAPER_FORM not in (version.forms if version is not None else inst.definition.forms):
        return None
    return _state(inst.tasks if steps is None else steps)


def _state(steps: Sequence[HumanTask] | Sequence[tasks.TaskLine]) -> PaperState:
    done = [t for t in steps if t.form_id == PAPER_FORM and t.status == "completed"
            and (t.data or {}).get("decision") == "confirm"]
    if not done:
        return PaperState(None, False, "", None)
    task = max(done, key=lambda t: (t.completed_at or t.created_at, t.id))
    data = task.data or {}
    ref = data.get("paper_scan")
    scan = (tasks.FileRef(str(ref["sha256"]), str(ref.get("name", "申请审核表")),
                                str(ref.get("mime", "application/octet-stream")))
            if isinstance(ref, dict) and "sha256" in ref else None)
    if isinstance(task, tasks.TaskLine):
        by = task.completed_by
    else:
        who = db.session.get(User, task.completed_by_id) if task.completed_by_id else None
        by = who.display_name if who else ""
    return PaperState(scan, bool(data.get("paper_held")), by, task.completed_at)


def scan_of(actor: User, instance_id: int) -> tasks.FileRef:
    """The signed and stamped scan the institution uploaded.

    :raise NotFound: no such application for the actor, or no scan.
    """
    inst = db.session.get(ProcessInstance, instance_id)
    if inst is None:
        raise NotFound(_("附件不存在"))
    state = paper_state(actor, inst)
    if state is None or state.scan is None:
        raise NotFound(_("附件不存在"))
    return state.scan


def token_for(instance_id: int, secret: str) -> str:
    """The signed token of the verification link printed as a QR code."""
    return str(URLSafeSerializer(secret, salt=_SALT).dumps(instance_id))


def verify(token: str, secret: str) -> PublicApplication | None:
    """The public facts of the application a printed table belongs to; None if forged."""
    try:
        instance_id = URLSafeSerializer(secret, salt=_SALT).loads(token)
    except BadData:
        return None
    inst = db.session.get(ProcessInstance, int(instance_id)) if isinstance(instance_id, int) else None
    if inst is None or table_title(inst.definition) is None:
        return None
    return PublicApplication(inst.id, eligibility.type_name(inst.process_id),
                             inst.business_status, inst.created_at.astimezone(CST).date())
