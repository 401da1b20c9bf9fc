"""Health-commission authorities, institutions and their departments."""

from __future__ import annotations

from sqlalchemy import DDL
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import event
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from app.extensions import db


class Authority(db.Model):  # type: ignore[name-defined]
    """A health commission (卫生健康委) with the region it governs."""

    __tablename__ = "authority"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    level: Mapped[str] = mapped_column(String(10))  # province / city / county
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("authority.id"))

    def __repr__(self) -> str:
        return f"<Authority {self.region_code} {self.name}>"


PRIMARY_CARE_KINDS = frozenset({"乡镇卫生院", "社区卫生服务中心", "社区卫生服务站", "社区卫生服务中心(站)",
                                "社区卫生服务中心（站）", "村卫生室"})


class Institution(db.Model):  # type: ignore[name-defined]
    """A medical institution; its authority is the one that approved it."""

    __tablename__ = "institution"
    # 拟执业机构 is found by part of its name among ~1 million (issue 14,
    # app/services/applications/institutions.py): names starting with the typed text
    # (text_pattern_ops on PostgreSQL), names containing it (pg_trgm)
    __table_args__ = (Index("ix_institution_name_prefix", "name",
                            postgresql_ops={"name": "text_pattern_ops"}),
                      Index("ix_institution_name_trgm", "name", postgresql_using="gin",
                            postgresql_ops={"name": "gin_trgm_ops"}))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    reg_no: Mapped[str] = mapped_column(String(40), unique=True)
    credit_code: Mapped[str | None] = mapped_column(String(18), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    grade: Mapped[str] = mapped_column(String(20), default="未定级")
    region_code: Mapped[str] = mapped_column(String(6))
    address: Mapped[str] = mapped_column(String(200), default="")
    authority_id: Mapped[int] = mapped_column(ForeignKey("authority.id"), index=True)
    subject_codes: Mapped[str] = mapped_column(String(400), default="")  # 诊疗科目, comma separated

    authority: Mapped[Authority] = relationship()
    departments: Mapped[list[Department]] = relationship(
        back_populates="institution", order_by="Department.code"
    )

    @property
    def is_county_or_below(self) -> bool:
        """县及县级以下医疗机构 (《关于医师执业注册中执业范围的暂行规定》第三条; R-24): approved by a
        county-level commission (county hospitals, county clinics), or primary care (乡镇卫生院,
        社区卫生服务中心(站), 村卫生室) whoever approved it."""
        return self.kind in PRIMARY_CARE_KINDS or self.authority.level == "county"

    def __repr__(self) -> str:
        return f"<Institution {self.reg_no} {self.name}>"


# the trigram operator class the name index uses (a table built without the migrations too)
event.listen(Institution.__table__, "before_create",
             DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm")  # type: ignore[no-untyped-call]
             .execute_if(dialect="postgresql"))


class Department(db.Model):  # type: ignore[name-defined]
    """A department (科室) of an institution, mapped to a 诊疗科目."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(60))
    subject_code: Mapped[str] = mapped_column(String(8))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    active: Mapped[bool] = mapped_column(default=True)

    institution: Mapped[Institution] = relationship(back_populates="departments")

    def __repr__(self) -> str:
        return f"<Department {self.code} {self.name}>"
