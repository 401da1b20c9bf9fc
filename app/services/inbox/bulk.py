"""Bulk confirmation of routine items (医疗机构确认) from the institution's inbox.

Each item is its own step and transaction with its own audit entry (marked ``via: bulk``):
an item that cannot be confirmed (handled meanwhile, claimed by a colleague, not in scope)
is reported and never undoes the others.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from app.extensions import db
from app.models import HumanTask
from app.models import User
from app.services.backoffice import definitions
from app.services.engine import policies
from app.services.engine import processes
from app.services.errors import DomainError
from app.services.errors import Forbidden
from app.services.errors import NotFound
from app.services.inbox import paper

MAX_ITEMS = 100


@dataclass(frozen=True)
class BulkResult:
    confirmed: list[int]  # instance ids
    refused: list[tuple[int, str]]  # (task id, why)


def confirm(actor: User, task_ids: list[int], paper_held: bool = False,
            token: str | None = None) -> BulkResult:
    """Confirm each task with decision ``confirm``; report per item. Each item is its own
    transaction and its own idempotent step (``token`` + task id): the form sent again
    reports the same confirmations instead of "该任务已被处理".

    :param paper_held: the institution holds the signed and stamped 申请审核表 of every item
        (R-39); without it an item whose confirmation needs the paper is refused.
    """
    if not task_ids:
        raise DomainError(_("请先勾选要确认的申请"))
    if len(task_ids) > MAX_ITEMS:
        raise DomainError(_("一次最多确认 %(n)s 项", n=MAX_ITEMS))
    confirmed: list[int] = []
    refused: list[tuple[int, str]] = []
    for task_id in dict.fromkeys(task_ids):
        task = db.session.get(HumanTask, task_id)
        bulk = task is not None and definitions.task_flags(task.instance.definition_id,
                                                           task.task_spec_id).bulk
        db.session.rollback()
        if task is None:
            refused.append((task_id, _("任务不存在或不属于本单位")))
            continue
        if not bulk:  # the diagram's medreg:bulk on this step
            refused.append((task_id, _("不是可批量确认的事项")))
            continue
        data: dict[str, object] = {"decision": "confirm"}
        if task.form_id == paper.PAPER_FORM and paper_held:
            data["paper_held"] = True
        elif (task.form_id == paper.PAPER_FORM and task.status == "open"
              and policies.in_scope(actor, task)):  # others learn nothing about the task
            refused.append((task_id, _("请勾选已收到签字盖章的纸质申请审核表，或逐项上传扫描件")))
            continue
        try:
            confirmed.append(processes.complete_task(
                actor, task_id, data, via="bulk", token=f"{token}:{task_id}" if token else None))
        except (Forbidden, NotFound):
            refused.append((task_id, _("任务不存在或不属于本单位")))
        except DomainError as exc:
            refused.append((task_id, exc.message))
    return BulkResult(confirmed, refused)
