"""A world where every form of the system is reachable: the physician has active
registrations (one with 多地点执业 sites, one as assistant, one filing), and the hospital
has an application waiting in its inbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.models import MultiFiling
from app.models import Registration
from app.services.engine import processes
from tests.factories import World
from tests.factories import application_payload
from tests.factories import user


@dataclass
class Rich:
    world: World
    registration_id: int
    task_id: int
    instance_id: int


def add_active_registrations(world: World) -> int:
    """The physician's ACTIVE registrations (call inside an app context); returns the main one."""
    doctor = user(world.doctor_id)
    main = Registration(qualification_id=doctor.qualification_id, level="执业医师", category="1",
                        scopes=["11"], place_region="140000", institution_id=world.hospital_id,
                        department_id=world.department_id, authority_id=world.authority_id,
                        status="ACTIVE", cert_no="110140100000321",
                        legacy_sites=["太原市第二人民医院"])
    assistant = Registration(qualification_id=doctor.qualification_id, level="执业助理医师",
                             category="1", scopes=["11"], place_region="140000",
                             institution_id=world.hospital_id, authority_id=world.authority_id,
                             status="ACTIVE", cert_no="210140100000322")
    db.session.add_all([main, assistant])
    db.session.flush()
    today = date.today()
    db.session.add(MultiFiling(registration_id=main.id, institution_id=world.other_hospital_id,
                               scopes=["11"], valid_from=today - timedelta(days=30),
                               valid_to=today + timedelta(days=300), authority_id=world.authority_id,
                               filed_on=today - timedelta(days=30)))
    db.session.commit()
    return main.id


@pytest.fixture()
def rich(app: Flask, web_world: World) -> Rich:
    with app.app_context():
        reg_id = add_active_registrations(web_world)
        doctor2 = user(web_world.doctor2_id)
        started = processes.start_application(
            doctor2, "registration", application_payload(web_world, doctor2.id, contact_mobile="15175070659"),
            web_world.upload_dir)
        task_id = db.session.scalar(select(HumanTask.id).where(
            HumanTask.instance_id == started.instance_id, HumanTask.status == "open"))
        assert task_id is not None
        db.session.remove()
    return Rich(web_world, reg_id, task_id, started.instance_id)
