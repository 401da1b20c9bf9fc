"""The services follow the diagram's task flags (issue 11 §1): a published version that does
not mark 医疗机构确认 as medreg:bulk or medreg:withdrawable shows no bulk checkbox, refuses a
bulk confirmation and hides 撤回申请 — no list of task ids in the code decides it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.models import ProcessDefinition
from app.models import ProcessInstance
from app.models.base import utcnow
from app.services.backoffice import definitions
from app.services.engine import processes
from app.services.inbox import bulk
from app.services.inbox import tasks
from tests.factories import World
from tests.factories import application_payload
from tests.factories import user

ROOT = Path(__file__).resolve().parents[2]


def _publish_registration(xml: str) -> None:
    """A version 2 of 注册 with this diagram (the conftest clean-up removes versions > 1)."""
    row = definitions.published("registration")
    defn, problems = definitions.check(xml, definitions.all_forms(), "registration")
    assert defn is not None, problems
    db.session.add(ProcessDefinition(
        process_id="registration", version=row.version + 1, name=defn.name, bpmn_xml=xml,
        forms=dict(row.forms), spec_json=defn.spec_json,
        sha256=hashlib.sha256(xml.encode()).hexdigest(), published_at=utcnow(), author="test"))
    db.session.commit()


def _apply(world: World) -> tuple[int, HumanTask]:
    iid = processes.start_application(user(world.doctor_id), "registration",
                                      application_payload(world, world.doctor_id)).instance_id
    task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid,
                                                     HumanTask.status == "open"))
    assert task is not None and task.task_spec_id == "institution_confirm"
    return iid, task


def test_the_shipped_diagram_allows_bulk_and_withdrawal(world: World) -> None:
    # guide-conformance row 10: 撤回申请 until the institution confirms
    iid, task = _apply(world)
    assert [r.bulk for r in tasks.inbox(user(world.staff_id))] == [True]
    inst = db.session.get(ProcessInstance, iid)
    assert inst is not None and processes.can_withdraw(inst)
    result = bulk.confirm(user(world.staff_id), [task.id], paper_held=True)
    assert result.confirmed == [iid] and result.refused == []
    db.session.expire_all()
    inst = db.session.get(ProcessInstance, iid)
    assert inst is not None and not processes.can_withdraw(inst)  # confirmed: too late


def test_a_diagram_without_the_flags_allows_neither(world: World) -> None:
    xml = (ROOT / "bpmn" / "registration.bpmn").read_text("utf-8")
    changed = xml.replace('          <spiffworkflow:property name="medreg:bulk" value="true" />\n'
                          '          <spiffworkflow:property name="medreg:withdrawable" value="true" />\n',
                          "", 1)
    assert changed != xml and "medreg:locked" in changed  # still a diagram with flags
    _publish_registration(changed)
    iid, task = _apply(world)
    assert [r.bulk for r in tasks.inbox(user(world.staff_id))] == [False]
    inst = db.session.get(ProcessInstance, iid)
    assert inst is not None and not processes.can_withdraw(inst)
    result = bulk.confirm(user(world.staff_id), [task.id])
    assert result.confirmed == [] and result.refused == [(task.id, "不是可批量确认的事项")]


def _returned(world: World) -> HumanTask:
    iid, task = _apply(world)
    processes.complete_task(user(world.staff_id), task.id,
                            {"decision": "return", "note": "聘用证明不清晰，请重新上传",
                             "fields": ["employment_proof"]})
    back = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid,
                                                     HumanTask.status == "open"))
    assert back is not None and back.task_spec_id == "physician_apply"
    return back


def test_a_correction_keeps_the_fields_the_diagram_locks(world: World) -> None:
    # guide-conformance row 10 / issue 11 §1: the institution applied to is shown, not editable
    back = _returned(world)
    _task, page = tasks.physician_task_form(user(world.doctor_id), back.id)
    widgets = {f.name: f.widget for f in page.fields}
    assert widgets["institution_id"] == "readonly"
    assert widgets["contact_mobile"] != "readonly"


def test_the_diagram_decides_which_fields_a_correction_locks(world: World) -> None:
    # the 补正时不可修改的字段 come from the diagram (medreg:locked); 拟执业机构 is the
    # application's own (the server keeps the instance's institution on a correction), so it is
    # shown, never offered for a search, whatever the diagram locks
    xml = (ROOT / "bpmn" / "registration.bpmn").read_text("utf-8")
    changed = xml.replace('<spiffworkflow:property name="medreg:locked" value="institution_id" />',
                          '<spiffworkflow:property name="medreg:locked" value="contact_mobile" />')
    assert changed != xml and "medreg:bulk" in changed
    _publish_registration(changed)
    back = _returned(world)
    _task, page = tasks.physician_task_form(user(world.doctor_id), back.id)
    widgets = {f.name: f.widget for f in page.fields}
    assert widgets["contact_mobile"] == "readonly" and widgets["institution_id"] == "readonly"
    assert widgets["department_id"] != "readonly"
