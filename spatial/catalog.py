"""What is in the database: server versions, and each layer's feature count and extent."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from spatial.layers import LAYERS
from spatial.registry import Layer, Registry

# Above this many rows the landing page uses the planner's estimates instead of scanning.
EXACT_COUNT_LIMIT = 200_000


@dataclass(frozen=True)
class LayerSummary:
    layer: Layer
    count: int
    count_is_estimate: bool
    bbox: tuple[float, float, float, float] | None


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
    return LayerSummary(layer, count, use_estimate, bbox)


async def layer_summaries(conn: asyncpg.Connection, registry: Registry = LAYERS) -> list[LayerSummary]:
    return [await layer_summary(conn, layer) for layer in registry.values()]


async def layer_versions(conn: asyncpg.Connection) -> dict[str, int]:
    """Each layer's data version (the id of the last transaction that changed it; see migration 0001)."""
    return {r["layer"]: int(r["version"]) for r in await conn.fetch("SELECT layer, version FROM layer_versions")}
