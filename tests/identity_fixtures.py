"""Real users and API tokens in a test database, made with the same functions as `lapis users` / `lapis tokens`."""

from __future__ import annotations

import itertools

import psycopg

from spatial.identity.model import Role
from spatial.identity.tokens import create_token
from spatial.identity.users import add_user

_names = itertools.count(1)


def token_for(db_url: str, role: Role, *, name: str | None = None) -> str:
    """A live Bearer token of a new user with `role` in the database at `db_url`."""
    name = name or f"{role.value}{next(_names)}"
    with psycopg.connect(db_url) as conn:
        add_user(conn, name, role)
        token, _ = create_token(conn, name, lifetime=None)
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
