"""Impact before publish: running applications per version and the tasks they wait at, what the
draft removes or changes there, and the audited migration of waiting applications to the
current version (refused with the reason where the diagram does not allow it).

Issue 12 §4 (G5): running applications stay on their version unless an administrator moves them.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import func
from sqlalchemy import select

from app.errors import Conflict
from app.extensions import db
from app.models import AuditEvent
from app.models import HumanTask
from app.models import ProcessDefinition
from app.models import ProcessInstance
from app.models import Registration
from app.models.base import utcnow
from app.services.backoffice import definitions
from app.services.backoffice import editor
from app.services.backoffice import impact
from app.services.engine import processes
from app.services.engine.clock import CST
from tests.factories import CONFIRMED
from tests.factories import World
from tests.factories import application_payload
from tests.factories import user

RENAMED = ('<bpmn:userTask id="commission_decide" name="审查决定"',
           '<bpmn:userTask id="commission_decide" name="审查决定（第二版）"')
FORM_SWAP = ('name="form" value="institution_confirm_paper"', 'name="form" value="institution_confirm"')


def _admin(world: World) -> Any:
    return user(world.admin_id)


def _v1_xml() -> str:
    return definitions.published("cancellation").bpmn_xml


def _publish(world: World, xml: str, process_id: str = "cancellation") -> int:
    """A new published version as the editor's publish stores it (its scenario gate is tested
    in test_editor.py)."""
    defn, problems = definitions.check(xml, definitions.all_forms(), process_id)
    assert defn is not None, problems
    forms = definitions.all_forms()
    used = {f: forms[f] for f in defn.form_ids | {definitions.start_form_id(defn)} if f in forms}
    latest = db.session.scalar(select(func.max(ProcessDefinition.version)).where(
        ProcessDefinition.process_id == process_id))
    row = ProcessDefinition(process_id=process_id, version=latest + 1, name=defn.name,
                            bpmn_xml=xml, forms=used, spec_json=defn.spec_json,
                            sha256=hashlib.sha256(xml.encode()).hexdigest(), published_at=utcnow(),
                            author="admin01")
    db.session.add(row)
    db.session.commit()
    return row.version


def _apply(world: World, user_id: int, cert_no: str) -> int:
    reg = Registration(qualification_id=user(user_id).qualification_id, level="执业医师",
                       category="1", scopes=["11"], place_region="140000",
                       institution_id=world.hospital_id, department_id=world.department_id,
                       authority_id=world.authority_id, status="ACTIVE", cert_no=cert_no)
    db.session.add(reg)
    db.session.commit()
    return processes.start_application(user(user_id), "cancellation", {
        "registration_id": reg.id, "reason": "own_request", "event_date": "2026-03-02",
        "declare_true": True}).instance_id


def _open_task(iid: int) -> HumanTask:
    task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid,
                                                     HumanTask.status == "open"))
    assert task is not None
    return task


def test_the_publish_page_counts_running_applications_by_version_and_task(world: World) -> None:
    # issue 12 §4 (G5), no rule row: which tasks of the running applications the draft removes or changes
    first = _apply(world, world.doctor_id, "110140100000901")
    _apply(world, world.doctor2_id, "110140100000902")
    processes.complete_task(user(world.staff_id), _open_task(first).id,
                            {"decision": "confirm", "paper_held": True})
    draft = editor.open_draft(_admin(world), "cancellation")
    xml = draft.xml.replace(*FORM_SWAP)
    editor.save_draft(_admin(world), "cancellation", xml, draft.forms, draft.revision)

    found = impact.impact("cancellation")
    assert found.draft_checked and found.current_version == 1
    [v1] = found.versions
    assert (v1.version, v1.current, v1.running) == (1, True, 2)
    by_task = {t.spec_id: (t.title, t.count, t.changes) for t in v1.tasks}
    assert by_task == {"institution_confirm": ("医疗机构确认", 1, [impact.FORM_CHANGED]),
                       "commission_accept": ("卫健委受理", 1, [])}


def test_a_task_the_draft_deletes_is_named(world: World) -> None:
    _apply(world, world.doctor_id, "110140100000903")
    draft = editor.open_draft(_admin(world), "cancellation")
    xml = re.sub(r"\binstitution_confirm\b(?!_)", "institution_ok", draft.xml)  # id and its links
    editor.save_draft(_admin(world), "cancellation", xml, draft.forms, draft.revision)
    found = impact.impact("cancellation")
    assert found.draft_checked
    assert [(t.spec_id, t.changes) for t in found.versions[0].tasks] == [
        ("institution_confirm", [impact.REMOVED])]

    editor.save_draft(_admin(world), "cancellation", "<bpmn:definitions 未完成", draft.forms,
                      draft.revision + 1)
    found = impact.impact("cancellation")  # an unfinished draft: the counts, its changes unknown
    assert not found.draft_checked and found.versions[0].tasks[0].count == 1


def test_a_migrated_application_finishes_on_the_new_version(world: World) -> None:
    # issue 12 §4 (G5): moved explicitly, audited, and it finishes on the new version
    waiting = _apply(world, world.doctor_id, "110140100000904")
    assert _publish(world, _v1_xml().replace(*RENAMED)) == 2
    found = impact.impact("cancellation")
    assert [(v.version, v.current, v.running) for v in found.versions] == [(1, False, 1)]
    assert [(c.instance_id, c.tasks, c.reasons) for c in found.candidates] == [
        (waiting, ["医疗机构确认"], [])]

    result = impact.migrate(_admin(world), "cancellation", waiting)
    assert result.moved == [waiting] and not result.refused
    assert db.session.get(ProcessInstance, waiting).definition.version == 2
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "instance.migrated"))
    assert event is not None and event.object_id == str(waiting)
    assert event.detail == {"process_id": "cancellation", "from_version": 1, "to_version": 2}

    processes.complete_task(user(world.staff_id), _open_task(waiting).id,
                            {"decision": "confirm", "paper_held": True})
    processes.complete_task(user(world.officer_id), _open_task(waiting).id, {"decision": "accept"})
    decide = _open_task(waiting)
    assert decide.title == "审查决定（第二版）"  # the step of version 2
    processes.complete_task(user(world.officer_id), decide.id, {"decision": "approve"})
    done = db.session.get(ProcessInstance, waiting)
    assert done.completed_at is not None and done.outcome == "approved"


def test_a_changed_form_at_the_waiting_task_refuses_the_move_with_the_reason(world: World) -> None:
    # issue 12 §4: only where the waiting task exists in the new version with the same form
    stays = _apply(world, world.doctor_id, "110140100000905")
    moves = _apply(world, world.doctor2_id, "110140100000906")
    processes.complete_task(user(world.staff_id), _open_task(moves).id,
                            {"decision": "confirm", "paper_held": True})
    _publish(world, _v1_xml().replace(*FORM_SWAP))
    with pytest.raises(Conflict, match="环节“医疗机构确认”的表单在新版本中已改变"):
        impact.migrate(_admin(world), "cancellation", stays)
    assert db.session.get(ProcessInstance, stays).definition.version == 1

    result = impact.migrate(_admin(world), "cancellation")
    assert result.moved == [moves]
    assert [(c.instance_id, c.reasons) for c in result.refused] == [
        (stays, ["环节“医疗机构确认”的表单在新版本中已改变"])]
    assert db.session.get(ProcessInstance, stays).definition.version == 1
    assert db.session.get(ProcessInstance, moves).definition.version == 2
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "instance.migrated")) == 1


def test_a_new_connection_at_the_waiting_task_is_refused_by_the_engine(world: World) -> None:
    # issue 12 §4: SpiffWorkflow restores the state only where the reached elements keep their links
    from tests.services.test_editor import _with_timer

    waiting = _apply(world, world.doctor_id, "110140100000907")
    _publish(world, _with_timer(_v1_xml()))
    with pytest.raises(Conflict, match="前后连接在新版本中已改变"):
        impact.migrate(_admin(world), "cancellation", waiting)
    inst = db.session.get(ProcessInstance, waiting)
    assert inst.definition.version == 1
    processes.complete_task(user(world.staff_id), _open_task(waiting).id,
                            {"decision": "confirm", "paper_held": True})
    assert _open_task(waiting).task_spec_id == "commission_accept"  # still runs on version 1


def test_a_moved_application_keeps_its_statutory_clock_and_timers(world: World) -> None:
    # 行政许可法 第四十二条 (the twenty working days keep running across the move); issue 12 §4
    monday = datetime(2026, 3, 2, 9, 0, tzinfo=CST)
    with time_machine.travel(monday, tick=False):
        iid = processes.start_application(user(world.doctor_id), "registration",
                                          application_payload(world, world.doctor_id)).instance_id
        processes.complete_task(user(world.staff_id), _open_task(iid).id, CONFIRMED)
        before = db.session.get(ProcessInstance, iid)
        due_on, timer_at = before.due_on, before.next_timer_at
        assert timer_at is not None and _open_task(iid).task_spec_id == "commission_accept"
        _publish(world, definitions.published("registration").bpmn_xml.replace(*RENAMED), "registration")
        assert impact.migrate(_admin(world), "registration").moved == [iid]
    inst = db.session.get(ProcessInstance, iid)
    assert (inst.definition.version, inst.due_on, inst.next_timer_at) == (2, due_on, timer_at)
    with time_machine.travel(timer_at + timedelta(minutes=1), tick=False):
        assert processes.fire_timers(iid)
    inst = db.session.get(ProcessInstance, iid)
    assert inst.error is None and _open_task(iid).task_spec_id == "commission_accept"
    processes.complete_task(user(world.officer_id), _open_task(iid).id, {"decision": "accept"})
    decide = _open_task(iid)
    assert decide.title == "审查决定（第二版）"
    processes.complete_task(user(world.officer_id), decide.id, {"decision": "approve"})
    assert db.session.get(ProcessInstance, iid).outcome == "approved"


def test_a_deleted_waiting_task_or_a_failed_step_refuses_the_move(world: World) -> None:
    # issue 12 §4: refused otherwise, with the reason
    waiting = _apply(world, world.doctor_id, "110140100000908")
    failed = _apply(world, world.doctor2_id, "110140100000909")
    processes.complete_task(user(world.staff_id), _open_task(failed).id,
                            {"decision": "confirm", "paper_held": True})
    db.session.get(ProcessInstance, failed).error = "流程执行出错"
    db.session.commit()
    _publish(world, re.sub(r"\binstitution_confirm\b(?!_)", "institution_ok", _v1_xml()))
    with pytest.raises(Conflict, match="环节“医疗机构确认”在新版本中不存在"):
        impact.migrate(_admin(world), "cancellation", waiting)
    with pytest.raises(Conflict, match="该申请有失败的步骤，请先重试或处理"):
        impact.migrate(_admin(world), "cancellation", failed)
    assert impact.migrate(_admin(world), "cancellation").moved == []
    assert [v.version for v in impact.impact("cancellation").versions] == [1]
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "instance.migrated")) == 0
