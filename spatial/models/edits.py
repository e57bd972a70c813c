"""Proposals and their changes (migration 0012) as models: editors' edits waiting for an approver.

Row-level security (who sees which proposal) and the helper functions of the migration are not part of a model;
`metadata.create_all()` builds the tables only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from spatial.models.base import STORAGE_SRID, Base, sql_list

PROPOSAL_STATES = ("open", "published", "rejected")
CHANGE_OPS = ("create", "replace", "update", "delete")


class Proposal(Base):
    __tablename__ = "proposals"
    __table_args__ = (
        CheckConstraint(f"state IN ({sql_list(PROPOSAL_STATES)})", name="proposals_state_check"),
        Index("proposals_author_state_idx", "author", "state"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    title: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, server_default=text("'open'::text"))
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), server_default=func.now())
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)


class ProposalChange(Base):
    __tablename__ = "proposal_changes"
    __table_args__ = (
        UniqueConstraint("proposal_id", "layer", "feature_id",
                         name="proposal_changes_proposal_id_layer_feature_id_key"),
        CheckConstraint(f"op IN ({sql_list(CHANGE_OPS)})", name="proposal_changes_op_check"),
        Index("proposal_changes_feature_idx", "layer", "feature_id"),
        Index("proposal_changes_code_idx", "layer", text("(properties ->> 'code')")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    proposal_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("proposals.id", ondelete="CASCADE"))
    layer: Mapped[str] = mapped_column(Text)
    feature_id: Mapped[int] = mapped_column(BigInteger)
    op: Mapped[str] = mapped_column(Text)
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    geom: Mapped[Any] = mapped_column(Geometry("GEOMETRY", STORAGE_SRID, spatial_index=False), nullable=True)
    base_etag: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), server_default=func.now())
