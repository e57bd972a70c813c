"""A feature brought back as a new, recorded version: `lapis restore` and `POST …/items/{featureId}/restore`.

The work is one call of `history.restore` (migration 0014), which runs with the caller's own rights — an approver's
INSERT and UPDATE on the layer — so the database decides who may restore, and the history triggers record the
change like any other, with the caller's reason or "restored version N". Without an instant, a deleted feature
comes back as it was just before it was deleted; with one, the feature (deleted or not) becomes what it was then.
The same statement runs on asyncpg (the route) and psycopg (the CLI); the database's refusals become
`spatial.errors` here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import psycopg

from spatial.errors import Conflict, NotFound
from spatial.registry import Layer

RESTORE_SQL = "SELECT restored_from, action, version FROM history.restore($1::regclass, $2::bigint, $3::timestamptz)"
NO_VERSION = "P0002"  # no_data_found: no version to restore
EXISTS = "LH409"  # the feature exists and no instant says what to roll it back to
UNIQUE = "23505"  # another feature holds its code now


@dataclass(frozen=True)
class Restored:
    layer: str
    feature_id: int
    restored_from: int  # the version brought back
    action: str  # insert (it was deleted) | update (rolled back) | unchanged (it already was that)
    version: int  # the feature's version now

    def as_json(self) -> dict[str, Any]:
        return {"collection": self.layer, "id": self.feature_id, "restored_from": self.restored_from,
                "action": self.action, "version": self.version}


def _error(layer: Layer, feature_id: int, sqlstate: str | None, message: str) -> Exception | None:
    """The caller's mistake the database reported, as a `spatial.errors` error (None: not one of those)."""
    if sqlstate == NO_VERSION:
        return NotFound(message.replace(f"public.{layer.id}", layer.id), parameter="featureId")
    if sqlstate == EXISTS:
        return Conflict(message.replace(f"public.{layer.id}", layer.id) + " (asof)", parameter="asof")
    if sqlstate == UNIQUE:
        return Conflict(f"feature {feature_id} of {layer.id} cannot come back: another feature has its code now",
                        parameter="featureId")
    return None


async def restore(conn: asyncpg.Connection, layer: Layer, feature_id: int, asof: datetime | None = None) -> Restored:
    """Restore in the caller's transaction (`spatial.session.as_caller`: the role and reason are the caller's)."""
    try:
        row = await conn.fetchrow(RESTORE_SQL, layer.id, feature_id, asof)
    except asyncpg.PostgresError as exc:
        if (error := _error(layer, feature_id, exc.sqlstate, str(exc))) is not None:
            raise error from None
        raise
    return Restored(layer.id, feature_id, row["restored_from"], row["action"], row["version"])


def restore_sync(conn: psycopg.Connection, layer: Layer, feature_id: int, asof: datetime | None = None) -> Restored:
    """The same on a psycopg connection (the CLI), in its current transaction."""
    try:
        row = psycopg.RawCursor(conn).execute(RESTORE_SQL, (layer.id, feature_id, asof)).fetchone()
    except psycopg.Error as exc:
        message = exc.diag.message_primary or str(exc)
        if (error := _error(layer, feature_id, exc.sqlstate, message)) is not None:
            raise error from None
        raise
    assert row is not None
    return Restored(layer.id, feature_id, *row)
