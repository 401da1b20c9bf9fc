"""Statuses are enums in the code and the same plain strings in the database as before."""

from __future__ import annotations

from sqlalchemy import text

from app.extensions import db
from app.models import FilingStatus
from app.models import Registration
from app.models import RegistrationStatus
from app.models.physician import REGISTRATION_STATUSES
from tests.factories import World
from tests.factories import make_qualification


def test_a_registration_stores_the_old_code_and_shows_its_label(world: World) -> None:
    qual = make_qualification("王建国", 7)
    reg = Registration(qualification_id=qual.id, level="执业医师", category="1", scopes=["11"],
                       place_region="140000", institution_id=world.hospital_id,
                       authority_id=world.authority_id, status=RegistrationStatus.FILED)
    db.session.add(reg)
    db.session.commit()

    stored = db.session.scalar(text("SELECT status FROM registration WHERE id = :id"), {"id": reg.id})
    assert stored == "FILED"
    # a row written before the enum (plain string) reads back as the member, with the guide's label
    db.session.execute(text("UPDATE registration SET status = 'SUSPENDED' WHERE id = :id"), {"id": reg.id})
    db.session.commit()
    db.session.expire_all()
    again = db.session.get(Registration, reg.id)
    assert again is not None
    assert again.status is RegistrationStatus.SUSPENDED
    assert again.status_label == "暂停执业"


def test_every_status_has_a_label_and_filings_keep_their_codes() -> None:
    assert set(REGISTRATION_STATUSES) == set(RegistrationStatus)
    assert REGISTRATION_STATUSES[RegistrationStatus.ACTIVE] == "有效"
    assert [s.value for s in FilingStatus] == ["ACTIVE", "EXPIRED", "CANCELLED"]
