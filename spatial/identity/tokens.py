"""Personal API tokens: created at random, shown once, stored only as their SHA-256, revocable, expiring.

A token reads `lapis_<43 url-safe characters>` (256 random bits); the first characters after the prefix are kept
as `prefix` so that a list of tokens can tell them apart without revealing them.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import psycopg

from spatial.errors import InvalidParameter, NotFound
from spatial.identity.model import Identity, Role

TOKEN_PREFIX = "lapis_"
_TOKEN = re.compile(r"^lapis_[A-Za-z0-9_-]{43}$")
_DURATION = re.compile(r"^(\d{1,5})([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


@dataclass(frozen=True)
class TokenInfo:
    id: int
    user: str
    prefix: str
    note: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def looks_like_token(token: str) -> bool:
    return bool(_TOKEN.match(token))


def parse_lifetime(text: str) -> timedelta:
    """`90d`, `12h` or `30m` as a timedelta (what `lapis tokens create --expires` takes)."""
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise InvalidParameter(f"expires: {text!r} is not a lifetime such as 90d, 12h or 30m", parameter="expires")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def create_token(conn: psycopg.Connection, user: str, *, lifetime: timedelta | None,
                 note: str | None = None) -> tuple[str, TokenInfo]:
    """A new token for `user`: the token itself (to show once) and what is stored of it."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = conn.execute(
        "INSERT INTO api_tokens (user_id, token_hash, prefix, note, expires_at) "
        "SELECT id, %s, %s, %s, now() + %s::interval FROM users WHERE name = %s "
        "RETURNING id, prefix, note, created_at, expires_at, revoked_at",
        (token_hash(token), token[:len(TOKEN_PREFIX) + 6], note, lifetime, user),
    ).fetchone()
    if row is None:
        raise NotFound(f"no user named {user!r}", parameter="user")
    return token, TokenInfo(row[0], user, *row[1:])


def list_tokens(conn: psycopg.Connection, user: str | None = None) -> list[TokenInfo]:
    rows = conn.execute(
        "SELECT t.id, u.name, t.prefix, t.note, t.created_at, t.expires_at, t.revoked_at "
        "FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE %(user)s::text IS NULL OR u.name = %(user)s "
        "ORDER BY t.id", {"user": user}).fetchall()
    return [TokenInfo(*row) for row in rows]


def revoke_token(conn: psycopg.Connection, token_id: int) -> None:
    row = conn.execute("UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = %s RETURNING id",
                       (token_id,)).fetchone()
    if row is None:
        raise NotFound(f"no token with id {token_id}", parameter="id")


async def identity_of_token(conn: asyncpg.Connection, token: str) -> Identity | None:
    """The identity a live token of an enabled user gives; None for any other string (unknown, revoked, expired,
    disabled user, malformed) — the caller answers all of them alike, so a guesser learns nothing."""
    if not looks_like_token(token):
        return None
    row = await conn.fetchrow("SELECT name, role FROM lapis_token_identity($1)", token_hash(token))
    return Identity(row["name"], Role(row["role"])) if row else None
