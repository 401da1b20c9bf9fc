"""The national records of a physician: qualification, registrations, filings, assessments."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Any

from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from app.extensions import db
from app.models.base import JSONType
from app.models.base import UTCDateTime
from app.models.base import utcnow
from app.models.organisation import Authority
from app.models.organisation import Department
from app.models.organisation import Institution

# Registration statuses of DOMAIN.md §3.8 (code -> label)
REGISTRATION_STATUSES = {
    "ACTIVE": "有效",
    "PENDING_CHANGE": "变更中",
    "CHANGED_OUT": "变更出",
    "FILED": "备案",
    "CANCELLED": "注销",
    "SUSPENDED": "暂停执业",
    "REVOKED": "吊销",
    "RESIDENCY": "规培",
}


class Qualification(db.Model):  # type: ignore[name-defined]
    """A 医师资格 record (read-only for the physician)."""

    __tablename__ = "qualification"

    id: Mapped[int] = mapped_column(primary_key=True)
    cert_no: Mapped[str] = mapped_column(String(27), unique=True)
    name: Mapped[str] = mapped_column(String(30))
    sex: Mapped[str] = mapped_column(String(2))
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    birth_date: Mapped[date] = mapped_column(Date)
    ethnicity: Mapped[str] = mapped_column(String(20), default="汉族")
    level: Mapped[str] = mapped_column(String(10))  # 执业医师 / 执业助理医师
    category: Mapped[str] = mapped_column(String(2))  # 执业类别 code: 1 临床 2 口腔 3 公卫 4 中医
    obtained_by: Mapped[str] = mapped_column(String(10), default="考试")
    year: Mapped[int] = mapped_column()
    issued_on: Mapped[date] = mapped_column(Date)
    issuer: Mapped[str] = mapped_column(String(100))
    major: Mapped[str] = mapped_column(String(60), default="")
    education: Mapped[str] = mapped_column(String(20), default="")
    school: Mapped[str] = mapped_column(String(100), default="")
    title: Mapped[str] = mapped_column(String(20), default="")

    registrations: Mapped[list[Registration]] = relationship(
        back_populates="qualification", order_by="Registration.id"
    )

    def __repr__(self) -> str:
        return f"<Qualification {self.cert_no} {self.name}>"


class Registration(db.Model):  # type: ignore[name-defined]
    """A practice registration (执业注册) with its place, institution and status."""

    __tablename__ = "registration"

    id: Mapped[int] = mapped_column(primary_key=True)
    qualification_id: Mapped[int] = mapped_column(ForeignKey("qualification.id"), index=True)
    cert_no: Mapped[str | None] = mapped_column(String(15), unique=True)
    level: Mapped[str] = mapped_column(String(10))
    category: Mapped[str] = mapped_column(String(2))
    scopes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    place_region: Mapped[str] = mapped_column(String(6))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    authority_id: Mapped[int] = mapped_column(ForeignKey("authority.id"))
    approved_on: Mapped[date | None] = mapped_column(Date)
    issued_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), index=True)
    legacy_sites: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    reissued_on: Mapped[date | None] = mapped_column(Date)  # 补发: same 执业证书编码
    status_changed_on: Mapped[date | None] = mapped_column(Date)  # e.g. since when 备案
    reissue_count: Mapped[int] = mapped_column(default=0)
    process_instance_id: Mapped[int | None] = mapped_column(unique=True)  # one licence per decision
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # the physician's phone as the institution keeps it (checked in person when entered):
    # the only address an activation code is sent to
    roster_mobile: Mapped[str | None] = mapped_column(String(11))

    qualification: Mapped[Qualification] = relationship(back_populates="registrations")
    institution: Mapped[Institution] = relationship()
    department: Mapped[Department | None] = relationship()
    authority: Mapped[Authority] = relationship()
    filings: Mapped[list[MultiFiling]] = relationship(back_populates="registration")

    @property
    def status_label(self) -> str:
        return REGISTRATION_STATUSES.get(self.status, self.status)

    def __repr__(self) -> str:
        return f"<Registration {self.cert_no} {self.status}>"


class MultiFiling(db.Model):  # type: ignore[name-defined]
    """A filing (多机构备案) of a registration at an additional institution."""

    __tablename__ = "multi_filing"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    scopes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authority.id"))
    filed_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="ACTIVE")

    registration: Mapped[Registration] = relationship(back_populates="filings")
    institution: Mapped[Institution] = relationship()


class Assessment(db.Model):  # type: ignore[name-defined]
    """A periodic assessment (定期考核) result."""

    __tablename__ = "assessment"
    __table_args__ = (UniqueConstraint("qualification_id", "cycle",
                                       name="uq_assessment_qualification_cycle"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    qualification_id: Mapped[int] = mapped_column(ForeignKey("qualification.id"), index=True)
    # 录入机构: the main institution that entered the result (医师执业注册管理办法 第十一条)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    cycle: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(String(100))
    procedure: Mapped[str] = mapped_column(String(10), default="一般")
    result: Mapped[str] = mapped_column(String(10))
    suspended_from: Mapped[date | None] = mapped_column(Date)
    suspended_to: Mapped[date | None] = mapped_column(Date)
    reassessment_result: Mapped[str | None] = mapped_column(String(10))
    entered_by: Mapped[str] = mapped_column(String(100), default="")
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
