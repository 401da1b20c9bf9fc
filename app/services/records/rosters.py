"""Institution rosters (医师名册) and their CSV export (DOMAIN §1: the client's list types)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import scoped_session

from app.extensions import db
from app.models import FilingStatus
from app.models import Institution
from app.models import MultiFiling
from app.models import Qualification
from app.models import Registration
from app.models import RegistrationStatus
from app.models import Role
from app.models import User
from app.services.errors import Forbidden
from app.services.errors import NotFound
from app.services.platform.database import reading
from app.services.records.regions import province_name
from app.services.records.spreadsheets import csv_chunks
from app.services.records.validators import mask_id

KINDS = {
    "main": "主执业机构在本院",
    "filed_out": "本院医师多机构备案",
    "filed_in": "外院医师在本院多机构备案",
    "main_other_province": "主执业在本院-外省注册",
    "filed_in_other_province": "多机构在本院-外省注册",
}
# the two 外省 lists: the people of the base list who also hold a registration in another province
OTHER_PROVINCE = {"main_other_province": "main", "filed_in_other_province": "filed_in"}
HEADER = ["姓名", "身份证号", "执业证书编码", "医师级别", "执业地点", "主要执业机构", "状态",
          "备案机构", "备案开始", "备案结束", "外省注册地点", "外省注册机构", "外省执业证书编码"]
HELD = (RegistrationStatus.ACTIVE, RegistrationStatus.PENDING_CHANGE, RegistrationStatus.SUSPENDED)


@dataclass(frozen=True)
class RosterLine:
    name: str
    id_masked: str
    id_number: str = field(repr=False)  # to match the person's other registrations; never shown
    cert_no: str
    level: str
    place: str
    institution: str
    status: str
    filing_institution: str = ""
    valid_from: date | None = None
    valid_to: date | None = None
    other_place: str = ""
    other_institution: str = ""
    other_cert_no: str = ""

    def row(self) -> list[str]:
        return [self.name, self.id_masked, self.cert_no, self.level, self.place, self.institution,
                self.status, self.filing_institution,
                self.valid_from.isoformat() if self.valid_from else "",
                self.valid_to.isoformat() if self.valid_to else "",
                self.other_place, self.other_institution, self.other_cert_no]


def _institution_of(actor: User, kind: str) -> int:
    """The actor's institution, if the actor may read the list ``kind``."""
    if actor.role is not Role.INSTITUTION or actor.institution_id is None:
        raise Forbidden(_("只有医疗机构用户可以查看医师名册"))
    if kind not in KINDS:
        raise NotFound(_("名册不存在"))
    return actor.institution_id


def roster(actor: User, kind: str) -> list[RosterLine]:
    """One of the five lists for the actor's institution (ID numbers masked), read on a
    connection of its own that only reads (:func:`reading`): on SQLite a 5,000-physician list
    holds back no one's save while it is read, and on PostgreSQL its server-side cursor gets the
    transaction it needs (the page's own request reads without one: ``reads_only``)."""
    me = _institution_of(actor, kind)
    with reading() as own:
        if kind in OTHER_PROVINCE:
            return _other_province(me, OTHER_PROVINCE[kind], own)
        return list(_lines(me, kind, own))


def _other_province(me: int, base: str, session: Session | None = None) -> list[RosterLine]:
    """The base list's people who also hold a registration whose 执业地点 is another province.

    One line per such registration; a person registered in two other provinces has two lines.
    """
    reader: Session | scoped_session[Any] = session if session is not None else db.session
    home = reader.get(Institution, me)
    province = home.region_code[:2] if home is not None else ""
    lines = list(_lines(me, base, session))
    if not lines:
        return []
    ids = {line.id_number for line in lines}
    elsewhere: dict[str, list[Registration]] = {}
    rows = reader.execute(select(Registration, Qualification.id_number).join(
        Qualification, Qualification.id == Registration.qualification_id).where(
        Qualification.id_number.in_(ids), Registration.status.in_(HELD)).order_by(Registration.id))
    for reg, id_number in rows:
        if reg.place_region[:2] != province:
            elsewhere.setdefault(id_number, []).append(reg)
    return [replace(line, other_place=province_name(reg.place_region),
                    other_institution=reg.institution.name, other_cert_no=reg.cert_no or "")
            for line in lines for reg in elsewhere.get(line.id_number, [])]


def _lines(me: int, kind: str, session: Session | None = None) -> Iterator[RosterLine]:
    """主执业机构在本院 / 本院医师多机构备案 / 外院医师在本院多机构备案, read from the database
    a thousand rows at a time (a 50,000-physician hospital's list is never held whole)."""
    reader: Session | scoped_session[Any] = session if session is not None else db.session

    def line(reg: Registration, qual: Qualification, filing: MultiFiling | None = None,
             filing_at: Institution | None = None) -> RosterLine:
        return RosterLine(qual.name, mask_id(qual.id_number), qual.id_number, reg.cert_no or "",
                          reg.level,
                          province_name(reg.place_region),
                          reg.institution.name, reg.status_label,
                          filing_at.name if filing_at else "",
                          filing.valid_from if filing else None, filing.valid_to if filing else None)

    if kind == "main":
        rows = reader.execute(select(Registration, Qualification).join(
            Qualification, Qualification.id == Registration.qualification_id).where(
            Registration.institution_id == me, Registration.status.in_(HELD)).order_by(
            Qualification.name).execution_options(yield_per=1000))
        return (line(r, q) for r, q in rows)
    filings = select(MultiFiling, Registration, Qualification, Institution).join(
        Registration, Registration.id == MultiFiling.registration_id).join(
        Qualification, Qualification.id == Registration.qualification_id).join(
        Institution, Institution.id == MultiFiling.institution_id).where(
        MultiFiling.status == FilingStatus.ACTIVE)
    if kind == "filed_out":
        filings = filings.where(Registration.institution_id == me)
    else:
        filings = filings.where(MultiFiling.institution_id == me, Registration.institution_id != me)
    return (line(r, q, f, i) for f, r, q, i in reader.execute(
        filings.order_by(Qualification.name).execution_options(yield_per=1000)))


def _streamed(me: int, kind: str) -> Iterator[RosterLine]:
    """:func:`_lines` on a reading connection of its own, held while the response streams (the
    request's own transaction ends before the first piece is sent)."""
    with reading() as own:
        yield from _lines(me, kind, own)


def roster_csv(actor: User, kind: str) -> Iterator[str]:
    """The list as CSV for spreadsheet programs (see :mod:`app.services.records.spreadsheets`),
    in pieces of a thousand rows: the response streams them, in constant memory. Who may read
    it is checked before the first piece."""
    me = _institution_of(actor, kind)
    if kind in OTHER_PROVINCE:
        lines: Iterator[RosterLine] = iter(_other_province(me, OTHER_PROVINCE[kind]))
    else:
        lines = _streamed(me, kind)
    return csv_chunks(HEADER, (item.row() for item in lines))
