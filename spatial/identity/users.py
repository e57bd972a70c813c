"""LAPIS users: a name, a role, a display name, and whether they may still sign in."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

import psycopg

from spatial.errors import InvalidParameter, NotFound
from spatial.identity.model import USER_ROLES, Role


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    display_name: str | None
    disabled: bool
    created_at: datetime


def parse_user_role(text: str) -> Role:
    try:
        role = Role(text)
    except ValueError:
        role = None
    if role not in USER_ROLES:
        raise InvalidParameter(f"role: {text!r} is not one of {', '.join(USER_ROLES)}", parameter="role")
    return role


def add_user(conn: psycopg.Connection, name: str, role: Role, display_name: str | None = None) -> User:
    try:
        row = conn.execute(
            "INSERT INTO users (name, role, display_name) VALUES (%s, %s, %s) "
            "RETURNING name, role, display_name, disabled, created_at",
            (name, role.value, unicodedata.normalize("NFC", display_name) if display_name else None),
        ).fetchone()
    except psycopg.errors.UniqueViolation as exc:
        raise InvalidParameter(f"a user named {name!r} already exists", parameter="name") from exc
    except psycopg.errors.CheckViolation as exc:
        raise InvalidParameter(f"user name {name!r}: use lower-case letters, digits and . _ @ - (at most 63)",
                               parameter="name") from exc
    return _user(row)


def list_users(conn: psycopg.Connection) -> list[User]:
    rows = conn.execute("SELECT name, role, display_name, disabled, created_at FROM users ORDER BY name").fetchall()
    return [_user(row) for row in rows]


def set_role(conn: psycopg.Connection, name: str, role: Role) -> User:
    return _update(conn, name, "role = %s", role.value)


def set_disabled(conn: psycopg.Connection, name: str, disabled: bool = True) -> User:
    return _update(conn, name, "disabled = %s", disabled)


def _update(conn: psycopg.Connection, name: str, assignment: str, value: object) -> User:
    row = conn.execute(f"UPDATE users SET {assignment} WHERE name = %s "  # noqa: S608 - assignment is ours
                       "RETURNING name, role, display_name, disabled, created_at", (value, name)).fetchone()
    if row is None:
        raise NotFound(f"no user named {name!r}", parameter="name")
    return _user(row)


def _user(row: tuple) -> User:
    return User(row[0], Role(row[1]), row[2], row[3], row[4])
