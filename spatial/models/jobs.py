"""Import jobs (migration 0013) as a model: an uploaded file's load in the background, its progress, report and
the proposal it made. Row-level security and `lapis_reap_import_jobs()` are the migration's alone (autogenerate
compares neither)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from spatial.models.base import Base, sql_list

JOB_STATES = ("queued", "running", "succeeded", "failed", "cancelled")
UNFINISHED = ("queued", "running")


class ImportJob(Base):
    __tablename__ = "import_jobs"
    __table_args__ = (
        CheckConstraint(f"state IN ({sql_list(JOB_STATES)})", name="import_jobs_state_check"),
        CheckConstraint("runner > 0", name="import_jobs_runner_check"),
        Index("import_jobs_author", "author"),
        Index("import_jobs_unfinished", "runner", postgresql_where=text(f"state IN ({sql_list(UNFINISHED)})")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    layer: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, server_default=text("'queued'::text"))
    filename: Mapped[str] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    progress: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    report: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    proposal_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("proposals.id", ondelete="SET NULL"))
    runner: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
