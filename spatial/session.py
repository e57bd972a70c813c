"""A transaction that acts as the caller: their group role, and who they are for the triggers that record changes.

`SET LOCAL ROLE` makes the database's GRANTs decide what the transaction may do, so a route with a bug still
cannot write as an anonymous reader; `lapis.user`, `lapis.proposal` and `lapis.reason` (transaction-local
settings) tell the history triggers who made a change, in which proposal and why. Both end with the transaction,
so a pooled connection goes back clean.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import asyncpg
import psycopg
from psycopg import sql

from spatial.identity.model import Identity

_SETTINGS = "SELECT set_config('lapis.user', $1, true), set_config('lapis.proposal', $2, true), " \
            "set_config('lapis.reason', $3, true)"


def _values(identity: Identity) -> tuple[str, str, str]:
    return (identity.user or "", "" if identity.proposal is None else str(identity.proposal),
            identity.reason or "")


@asynccontextmanager
async def as_caller(conn: asyncpg.Connection, identity: Identity) -> AsyncIterator[asyncpg.Connection]:
    """`async with as_caller(conn, identity):` — a transaction under the identity's group role."""
    async with conn.transaction():
        # the role name comes from our own table (DB_ROLES), quoted all the same
        await conn.execute(f'SET LOCAL ROLE "{identity.db_role}"')
        await conn.execute(_SETTINGS, *_values(identity))
        yield conn


@contextmanager
def as_caller_sync(conn: psycopg.Connection, identity: Identity) -> Iterator[psycopg.Connection]:
    """The same for a psycopg connection (CLI, jobs): a transaction (or savepoint) under the identity's role."""
    with conn.transaction():
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(identity.db_role)))
        conn.execute(_SETTINGS.replace("$1", "%s").replace("$2", "%s").replace("$3", "%s"), _values(identity))
        yield conn
