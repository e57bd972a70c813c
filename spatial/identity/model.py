"""Roles and the identity a request acts with.

A LAPIS role decides what a caller may do; it reaches the database as one of the group roles of migration 0010
(`Identity.db_role`), so the database's GRANTs enforce the same rule as the routes do.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """The roles in increasing order of power: each can do everything the ones before it can."""

    anonymous = "anonymous"
    viewer = "viewer"
    editor = "editor"
    approver = "approver"
    admin = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


# what a user can be given (anonymous is nobody's role: it is the absence of a sign-in)
USER_ROLES = tuple(role for role in Role if role is not Role.anonymous)

DB_ROLES = {
    Role.anonymous: "lapis_reader",
    Role.viewer: "lapis_reader",
    Role.editor: "lapis_editor",
    Role.approver: "lapis_approver",
    Role.admin: "lapis_admin",
}


@dataclass(frozen=True)
class Identity:
    """A caller: a LAPIS user (None when anonymous) with a role, and what a change it makes is part of."""

    user: str | None
    role: Role
    proposal: int | None = None
    reason: str | None = None

    @property
    def db_role(self) -> str:
        return DB_ROLES[self.role]

    def at_least(self, role: Role) -> bool:
        return self.role.rank >= role.rank


ANONYMOUS = Identity(None, Role.anonymous)
