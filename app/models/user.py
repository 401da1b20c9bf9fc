"""Accounts of the four roles."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Enum
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship
from sqlalchemy.orm import validates

from app.extensions import db
from app.models.base import UTCDateTime
from app.models.base import utcnow
from app.models.organisation import Authority
from app.models.organisation import Institution
from app.models.physician import Qualification


def canonical_username(name: str) -> str:
    """A user name as it is stored and compared: trimmed, lower case (用户名 are unique
    whatever their case, and signing in ignores the case)."""
    return (name or "").strip().lower()


class Role(enum.StrEnum):
    """A user's role; lane names in diagrams resolve to these."""

    PHYSICIAN = "physician"
    INSTITUTION = "institution"
    COMMISSION = "commission"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return {"physician": "医师", "institution": "医疗机构", "commission": "卫生健康委",
                "admin": "系统管理员"}[self.value]


class User(UserMixin, db.Model):  # type: ignore[name-defined]
    """A person who signs in. Institution and commission staff belong to one organisation."""

    __tablename__ = "user_account"
    __table_args__ = (
        Index("uq_user_account_id_number_activated", "id_number", unique=True,
              sqlite_where=text("activated"), postgresql_where=text("activated")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # stored lower case (canonical_username): "is it taken?" and sign-in are lookups in its
    # unique index (migration 0029 lower-cased the rows stored before)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(Enum(Role, name="role", native_enum=False,
                                            values_callable=lambda e: [r.value for r in e]))
    display_name: Mapped[str] = mapped_column(String(60))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"), index=True)
    authority_id: Mapped[int | None] = mapped_column(ForeignKey("authority.id"), index=True)
    qualification_id: Mapped[int | None] = mapped_column(ForeignKey("qualification.id"), index=True)
    # several unactivated accounts may name one ID number; only an activated one owns it
    id_number: Mapped[str | None] = mapped_column(String(18), index=True)
    mobile: Mapped[str | None] = mapped_column(String(11), index=True)  # sign-in by 手机号码
    email: Mapped[str | None] = mapped_column(String(120))
    mobile_verified: Mapped[bool] = mapped_column(default=False)
    email_verified: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    org_admin: Mapped[bool] = mapped_column(default=False)  # manages its organisation's staff
    activated: Mapped[bool] = mapped_column(default=True)  # physicians: after 激活我的账户
    activation_path: Mapped[str | None] = mapped_column(String(1))  # A: code / B: 资格证书编码
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    institution: Mapped[Institution | None] = relationship()
    authority: Mapped[Authority | None] = relationship()
    qualification: Mapped[Qualification | None] = relationship()

    @validates("username")
    def _canonical(self, _key: str, name: str) -> str:
        return canonical_username(name)

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def is_locked(self) -> bool:
        """Locked after failed sign-ins, until ``locked_until``."""
        return self.locked_until is not None and self.locked_until > utcnow()

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role.value}>"
