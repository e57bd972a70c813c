"""What is in the database: server versions, and each layer's feature count and extent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from spatial.layers import LAYERS
from spatial.queryables import temporal_extent
from spatial.registry import Layer, Registry

# Above this many rows the landing page uses the planner's estimates instead of scanning.
EXACT_COUNT_LIMIT = 200_000


@dataclass(frozen=True)
class LayerSummary:
    layer: Layer
    count: int
    count_is_estimate: bool
    bbox: tuple[float, float, float, float] | None
    # the time its features cover (RFC 3339, None = open), for a layer with its own time (registry `Temporal`)
    # and at least one feature that has one; None otherwise
    interval: tuple[str | None, str | None] | None = None


# A feature whose start (end) is unknown but whose other end is known is open that way, and so is the extent.
INTERVAL_SQL = """
SELECT CASE WHEN bool_or(s IS NULL) THEN NULL ELSE min(s) END, CASE WHEN bool_or(e IS NULL) THEN NULL ELSE max(e) END
FROM (SELECT {start} AS s, {end} AS e FROM {table} t) AS f
WHERE s IS NOT NULL OR e IS NOT NULL
HAVING count(*) > 0
"""


async def server_versions(conn: asyncpg.Connection) -> dict[str, str]:
    row = await conn.fetchrow(
        "SELECT current_setting('server_version') AS postgresql, postgis_lib_version() AS postgis, "
        "postgis_proj_version() AS proj, postgis_geos_version() AS geos"
    )
    return dict(row)


async def layer_summary(conn: asyncpg.Connection, layer: Layer) -> LayerSummary:
    estimate = await conn.fetchval("SELECT reltuples::bigint FROM pg_class WHERE oid = $1::regclass", layer.id)
    use_estimate = estimate is not None and estimate > EXACT_COUNT_LIMIT
    # the table name comes from the registry, never from a request
    count = int(estimate) if use_estimate else int(await conn.fetchval(f"SELECT count(*) FROM {layer.id}"))
    bbox = None
    if layer.has_geometry and count:
        extent_sql = (f"SELECT ST_EstimatedExtent('{layer.id}', 'geom') AS b" if use_estimate
                      else f"SELECT ST_Extent(geom) AS b FROM {layer.id}")
        box = await conn.fetchval(
            f"WITH e AS ({extent_sql}) SELECT ARRAY[ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b)] FROM e"
        )
        if box and box[0] is not None:
            bbox = tuple(float(v) for v in box)
    return LayerSummary(layer, count, use_estimate, bbox, await _interval(conn, layer) if count else None)


async def _interval(conn: asyncpg.Connection, layer: Layer) -> tuple[str | None, str | None] | None:
    extent = temporal_extent(layer)
    if extent is None:
        return None
    row = await conn.fetchrow(INTERVAL_SQL.format(start=extent[0], end=extent[1], table=layer.id))
    return None if row is None else (_rfc3339(row[0]), _rfc3339(row[1]))


def _rfc3339(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


async def layer_summaries(conn: asyncpg.Connection, registry: Registry = LAYERS) -> list[LayerSummary]:
    return [await layer_summary(conn, layer) for layer in registry.values()]


async def layer_versions(conn: asyncpg.Connection) -> dict[str, int]:
    """Each layer's data version (the id of the last transaction that changed it; see migration 0001)."""
    return {r["layer"]: int(r["version"]) for r in await conn.fetch("SELECT layer, version FROM layer_versions")}
