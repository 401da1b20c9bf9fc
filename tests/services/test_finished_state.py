"""A finished application's stored workflow state is small (issue 14 goal 2, bytes per
completed instance): the finished task tree is dropped — its path is in the 办理记录 (human
tasks) and the audit log — and what is kept still restores as completed, with its end data."""

from __future__ import annotations

import json

from flask import Flask
from sqlalchemy import select
from sqlalchemy import text

from app.extensions import db
from app.models import AuditEvent
from app.models import HumanTask
from app.models import ProcessInstance
from app.services.backoffice import definitions
from app.services.engine import processes
from app.workflow import Runtime
from tests.factories import CONFIRMED
from tests.factories import World
from tests.factories import application_payload
from tests.factories import user


def _open_task(iid: int) -> HumanTask:
    task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.status == "open"))
    assert task is not None
    return task


def test_an_approved_registration_keeps_its_end_data_and_history_but_not_its_tree(
        ctx: Flask, world: World) -> None:
    # issue 14 goal 2 (no rule row): a finished instance's state is trimmed before it is packed
    iid = processes.start_application(user(world.doctor_id), "registration",
                                      application_payload(world, world.doctor_id)).instance_id
    processes.complete_task(user(world.staff_id), _open_task(iid).id, CONFIRMED)
    processes.complete_task(user(world.officer_id), _open_task(iid).id, {"decision": "accept"})
    processes.complete_task(user(world.officer_id), _open_task(iid).id, {"decision": "approve"})
    db.session.remove()
    inst = db.session.get(ProcessInstance, iid)
    assert inst is not None and inst.outcome == "approved"
    state = json.loads(inst.workflow_json)
    assert len(state["tasks"]) == 1 and state["completed"] is True
    # stored zlib-compressed by the column type: about 0.8 KiB (2 KiB of JSON; 10 KiB while open)
    stored = db.session.scalar(text("SELECT length(workflow_json) FROM process_instance WHERE id = :i"), {"i": iid})
    assert stored is not None and stored < 1000 < len(inst.workflow_json.encode())
    row = db.session.get(definitions.ProcessDefinition, inst.definition_id)
    assert row is not None
    rt = Runtime.restore(definitions.definition_of(row), inst.workflow_json)
    data = rt.latest_data()
    assert rt.completed and data["decision"] == "approve" and data["registration"]["cert_no"]
    # the path is where people read it: 办理记录 and the audit log
    done = db.session.scalars(select(HumanTask.task_spec_id).where(HumanTask.instance_id == iid)
                              .order_by(HumanTask.id)).all()
    assert done == ["submit", "institution_confirm", "commission_accept", "commission_decide"]
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(iid))))
    assert {"application.submit", "application.approved"} <= actions
