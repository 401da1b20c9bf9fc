"""Exactly once, whatever the timing (issue 11 §2): 20 identical submissions at the same moment
make one application; the others are told about the first."""

from __future__ import annotations

import threading

import pytest
from flask import Flask
from sqlalchemy import func
from sqlalchemy import select

from app.errors import DomainError
from app.extensions import db
from app.models import ProcessInstance
from app.models import Registration
from app.services.engine import processes
from tests.factories import World
from tests.factories import application_payload
from tests.factories import user

SAME = "您已有正在办理的同类申请，请在业务查询中查看进度"


def test_twenty_simultaneous_submissions_make_one_application(app: Flask, world: World) -> None:
    payloads = [application_payload(world, world.doctor_id) for _ in range(20)]
    db.session.remove()
    results: list[object] = []
    start = threading.Barrier(20)

    def submit(payload: dict[str, object]) -> None:
        with app.app_context():
            start.wait()
            try:
                results.append(processes.start_application(user(world.doctor_id), "registration",
                                                           payload).instance_id)
            except DomainError as exc:
                results.append(exc.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [r for r in results if isinstance(r, int)]
    assert len(results) == 20 and len(ids) == 1, results
    assert sorted(set(results) - set(ids)) == [SAME]  # the others see the first
    open_apps = db.session.scalar(select(func.count()).select_from(ProcessInstance).where(
        ProcessInstance.subject_user_id == world.doctor_id, ProcessInstance.completed_at.is_(None)))
    assert open_apps == 1


def test_one_decision_issues_one_licence(ctx: Flask, world: World) -> None:
    from sqlalchemy.exc import IntegrityError

    from tests.factories import make_qualification

    q = make_qualification("钱十", 12)
    first = Registration(qualification_id=q.id, level="执业医师", category="1", scopes=["11"],
                         place_region="140000", institution_id=world.hospital_id,
                         authority_id=world.authority_id, status="ACTIVE", process_instance_id=4242)
    db.session.add(first)
    db.session.commit()
    db.session.add(Registration(qualification_id=q.id, level="执业医师", category="1", scopes=["11"],
                                place_region="140000", institution_id=world.hospital_id,
                                authority_id=world.authority_id, status="ACTIVE",
                                process_instance_id=4242))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
