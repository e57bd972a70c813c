"""LAPIS's users and API tokens (migration 0010) as models: who may sign in, and the hashes of their tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    LargeBinary,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from spatial.models.base import Base, sql_list

USER_ROLE_NAMES = ("viewer", "editor", "approver", "admin")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("name", name="users_name_key"),
        CheckConstraint("name ~ '^[a-z0-9][a-z0-9._@-]{0,62}$'", name="users_name_check"),
        CheckConstraint(f"role IN ({sql_list(USER_ROLE_NAMES)})", name="users_role_check"),
        CheckConstraint("display_name IS NFC NORMALIZED", name="users_display_name_check"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    display_name: Mapped[str | None] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ApiToken(Base):
    __tablename__ = "api_tokens"
    __table_args__ = (
        UniqueConstraint("token_hash", name="api_tokens_token_hash_key"),
        CheckConstraint("length(token_hash) = 32", name="api_tokens_token_hash_check"),
        Index("api_tokens_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary)
    prefix: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
