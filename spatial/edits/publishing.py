"""Applying a proposal to the plan tables, in the caller's transaction (an approver's: `proposals.publish`).

Layer by layer in registry order (plans first, which the others refer to): the proposal's features are locked,
each changed or deleted one's current version compared with the version it was proposed against (`base_etag`) —
one that moved, or vanished, makes the whole publish a Conflict —, then deletes, updates and inserts run as one
statement each, so every layer's triggers stamp one new data version, record where the statement wrote (the tile
caches key each tile on that: the tiles a changed feature was or is in change at once, every other tile stays
cached; migration 0016) and history sees each row change. A rule of the table
that refuses a row now (a code another feature took meanwhile) is a Conflict too; the caller's transaction then
rolls back everything, so a proposal is published whole or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from spatial.edits.etag import etag_sql
from spatial.errors import Conflict
from spatial.registry import Layer, Registry

MANAGED_ON_WRITE = ("id", "geom", "created_at", "updated_at")
VALUE_COLUMNS = """
SELECT array_agg(quote_ident(attname::text) ORDER BY attnum) FROM pg_attribute
WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' AND attname <> ALL($2::text[])
"""


@dataclass(frozen=True)
class Applied:
    created: int = 0
    changed: int = 0
    deleted: int = 0


async def _moved(conn: asyncpg.Connection, layer: Layer, proposal_id: int) -> list[int]:
    """Lock the published features the proposal changes; those whose version is not the proposed-against one."""
    changes = "FROM proposal_changes c WHERE c.proposal_id = $1 AND c.layer = $2"
    await conn.execute(f"SELECT t.id FROM {layer.id} t WHERE t.id IN (SELECT c.feature_id {changes}) "
                       "ORDER BY t.id FOR UPDATE", proposal_id, layer.id)
    rows = await conn.fetch(f"SELECT c.feature_id {changes} AND c.op <> 'create' AND c.base_etag IS DISTINCT FROM "
                            f"(SELECT {etag_sql(layer, 't')} FROM {layer.id} t WHERE t.id = c.feature_id) "
                            "ORDER BY c.feature_id", proposal_id, layer.id)
    return [r["feature_id"] for r in rows]


async def _apply_layer(conn: asyncpg.Connection, layer: Layer, proposal_id: int) -> Applied:
    moved = await _moved(conn, layer, proposal_id)
    if moved:
        shown = ", ".join(map(str, moved[:20])) + (" …" if len(moved) > 20 else "")
        raise Conflict(f"{layer.id}: feature(s) {shown} changed or were deleted since they were proposed; nothing "
                       "was published (reject the proposal, or let its author redo those changes)",
                       parameter="proposalId")
    columns: list[str] = await conn.fetchval(VALUE_COLUMNS, layer.id, list(MANAGED_ON_WRITE))
    geometry = ["geom"] if layer.has_geometry else []
    targets = ", ".join([*columns, *geometry])
    sources = ", ".join([*(f"r.{c}" for c in columns), *(["c.geom"] if geometry else [])])
    changes = (f"proposal_changes c CROSS JOIN LATERAL jsonb_populate_record(NULL::{layer.id}, c.properties) r "
               f"WHERE c.proposal_id = $1 AND c.layer = $2")
    deleted = await conn.execute(f"DELETE FROM {layer.id} t USING proposal_changes c WHERE c.proposal_id = $1 "
                                 "AND c.layer = $2 AND c.op = 'delete' AND t.id = c.feature_id", proposal_id, layer.id)
    changed = await conn.execute(f"UPDATE {layer.id} t SET ({targets}) = ({sources}) FROM {changes} "
                                 "AND c.op IN ('replace', 'update') AND t.id = c.feature_id", proposal_id, layer.id)
    created = await conn.execute(f"INSERT INTO {layer.id} (id, {targets}) SELECT c.feature_id, {sources} "
                                 f"FROM {changes} AND c.op = 'create' ORDER BY c.id", proposal_id, layer.id)
    return Applied(_count(created), _count(changed), _count(deleted))


def _count(status: str) -> int:
    """The row count of a command status ('INSERT 0 3', 'UPDATE 2', 'DELETE 1')."""
    return int(status.rsplit(" ", 1)[-1])


async def apply_proposal(conn: asyncpg.Connection, registry: Registry, proposal_id: int) -> dict[str, Applied]:
    """Apply the proposal's changes (see the module's docstring); per layer, what was done."""
    layers = [r["layer"] for r in await conn.fetch(
        "SELECT DISTINCT layer FROM proposal_changes WHERE proposal_id = $1", proposal_id)]
    unknown = [name for name in layers if name not in registry]
    if unknown:
        raise Conflict(f"proposal {proposal_id} changes {', '.join(unknown)}, which this server does not serve",
                       parameter="proposalId")
    applied: dict[str, Applied] = {}
    for layer in registry.values():
        if layer.id not in layers:
            continue
        try:
            applied[layer.id] = await _apply_layer(conn, layer, proposal_id)
        except (asyncpg.IntegrityConstraintViolationError, asyncpg.CheckViolationError) as exc:
            raise Conflict(f"{layer.id}: a change breaks {exc.constraint_name or 'a rule of the layer'} now "
                           f"({exc.detail or exc}); nothing was published", parameter="proposalId") from None
    return applied
