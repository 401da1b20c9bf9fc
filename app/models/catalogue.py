"""Catalogues of DOMAIN.md §3: categories, scopes, clinical subjects, levels, statuses."""

from __future__ import annotations

from sqlalchemy import BigInteger
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db


class CatalogueItem(db.Model):  # type: ignore[name-defined]
    """One entry of a catalogue (``kind``), e.g. 执业范围 11 内科专业 under category 1."""

    __tablename__ = "catalogue_item"
    __table_args__ = (UniqueConstraint("kind", "code", name="uq_catalogue_item_kind_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    parent_code: Mapped[str | None] = mapped_column(String(20))
    scope_level: Mapped[str] = mapped_column(String(20), default="national")
    sort_order: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    def __repr__(self) -> str:
        return f"<CatalogueItem {self.kind}:{self.code} {self.name}>"


class ReferenceStamp(db.Model):  # type: ignore[name-defined]
    """A counter that changes with every change of a reference table (``name``: "catalogue"
    for ``catalogue_item``, "configured_type", "department"), whoever makes it: database
    triggers move it on every insert, update and delete (migration 0035_reference_stamp) to a
    value it never had. A process keeps such data in memory for as long as the stamp it reads
    with a request's query is the one it read the data at."""

    __tablename__ = "reference_stamp"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
