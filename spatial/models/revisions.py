"""Plan revisions (migration 0015) as a model: named, published states of the plan with their legal basis."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, DateTime, Identity, Index, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from spatial.models.base import Base


class Revision(Base):
    __tablename__ = "revisions"
    __table_args__ = (
        UniqueConstraint("name", name="revisions_name_key"),
        CheckConstraint("name <> '' AND name IS NFC NORMALIZED", name="revisions_name_check"),
        CheckConstraint("legal_basis <> '' AND legal_basis IS NFC NORMALIZED", name="revisions_legal_basis_check"),
        CheckConstraint("note IS NFC NORMALIZED", name="revisions_note_check"),
        Index("revisions_published_at_idx", "published_at"),
        {"comment": "Named, published states of the plan: the plan as the history had it at published_at"},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    decided_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str] = mapped_column(Text)
