"""The national records of a physician: qualification, registrations, filings, assessments."""

from __future__ import annotations

import enum
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
from app.models.base import str_enum
from app.models.base import utcnow
from app.models.organisation import Authority
from app.models.organisation import Department
from app.models.organisation import Institution


class RegistrationStatus(enum.StrEnum):
    """A registration's status (DOMAIN.md §3.8); the value is what the database stores."""

    ACTIVE = "ACTIVE"
    PENDING_CHANGE = "PENDING_CHANGE"
    CHANGED_OUT = "CHANGED_OUT"
    FILED = "FILED"
    CANCELLED = "CANCELLED"
    SUSPENDED = "SUSPENDED"
    REVOKED = "REVOKED"
    RESIDENCY = "RESIDENCY"


class FilingStatus(enum.StrEnum):
    """A multi-institution filing's status; the value is what the database stores."""

    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


# Registration statuses of DOMAIN.md §3.8 (code -> label)
REGISTRATION_STATUSES: dict[RegistrationStatus, str] = {
    RegistrationStatus.ACTIVE: "有效",
    RegistrationStatus.PENDING_CHANGE: "变更中",
    RegistrationStatus.CHANGED_OUT: "变更出",
    RegistrationStatus.FILED: "备案",
    RegistrationStatus.CANCELLED: "注销",
    RegistrationStatus.SUSPENDED: "暂停执业",
    RegistrationStatus.REVOKED: "吊销",
    RegistrationStatus.RESIDENCY: "规培",
}

# reason codes of a 注销 / 备案 kept on the registration (Registration.status_reason)
STATUS_REASONS = {
    "own_request": "本人申请注销", "death": "死亡", "missing": "被宣告失踪", "criminal": "受刑事处罚",
    "revoked": "被吊销医师执业证书", "assessment": "定期考核不合格，再次考核仍不合格",
    "two_cycles": "连续两个考核周期未参加定期考核", "no_practice": "中止医师执业活动满二年",
    "health": "身体健康状况不适宜继续执业", "lending": "出借、出租、抵押、转让、涂改医师执业证书",
    "cheating": "在医师资格考试中参与有组织作弊", "left": "调离、退休、退职、被辞退或开除",
    "filed_two_years": "备案满二年未继续执业", "other": "其他情形",
}


class Qualification(db.Model):  # type: ignore[name-defined]
    """A 医师资格 record (read-only for the physician)."""

    __tablename__ = "qualification"

    id: Mapped[int] = mapped_column(primary_key=True)
    cert_no: Mapped[str] = mapped_column(String(27), unique=True)
    name: Mapped[str] = mapped_column(String(30), index=True)  # 医师执业注册信息查询 by name
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
    status: Mapped[RegistrationStatus] = mapped_column(str_enum(RegistrationStatus, 20), index=True)
    legacy_sites: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    reissued_on: Mapped[date | None] = mapped_column(Date)  # 补发: same 执业证书编码
    status_changed_on: Mapped[date | None] = mapped_column(Date)  # e.g. since when 备案
    # the date of the decision (注销/吊销/暂停执业 decided, 备案 approved) and the reason code of a
    # 注销 or 备案 (as in forms/cancellation_report.json), so the bars of 医师法 第十六条 are decidable
    status_decided_on: Mapped[date | None] = mapped_column(Date)
    status_reason: Mapped[str | None] = mapped_column(String(20))
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
    penalties: Mapped[list[Penalty]] = relationship(back_populates="registration",
                                                    order_by="Penalty.id")

    @property
    def status_label(self) -> str:
        return REGISTRATION_STATUSES.get(self.status, self.status)

    def __repr__(self) -> str:
        return f"<Registration {self.cert_no} {self.status}>"


PENALTY_KINDS = {"SUSPENDED": "暂停执业", "REVOKED": "吊销医师执业证书"}


class Penalty(db.Model):  # type: ignore[name-defined]
    """An administrative penalty on a registration (暂停执业 / 吊销, 医师法 第五十五条 etc.)."""

    __tablename__ = "penalty"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # SUSPENDED / REVOKED
    decided_on: Mapped[date] = mapped_column(Date)
    document_no: Mapped[str] = mapped_column(String(60))  # 文书编号
    reason: Mapped[str] = mapped_column(String(500))
    ends_on: Mapped[date | None] = mapped_column(Date)  # last day of a 暂停执业
    ended_on: Mapped[date | None] = mapped_column(Date)  # the day the suspension was lifted
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # the failed 定期考核 this 暂停执业 follows from (医师法 第四十二条), set by the daily rule
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessment.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    registration: Mapped[Registration] = relationship(back_populates="penalties")

    @property
    def kind_label(self) -> str:
        return PENALTY_KINDS.get(self.kind, self.kind)


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
    status: Mapped[FilingStatus] = mapped_column(str_enum(FilingStatus, 20), default=FilingStatus.ACTIVE)

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
