"""Tiles of the plan as it stood at an instant: the layers' own tile SQL (`spatial.tiles.layers`) reading the
versions valid then instead of the tables.

Rendered from the history every time, never cached: the tile cache is keyed by the layers' current data
versions, and an instant's tile is not one of those (a transaction that began before the instant and commits after
it can still add versions valid then). The versions carry no stored Web-Mercator or tile-grid copy, so the
geometry is reprojected for the features of the tile only, found through the history's SP-GiST index on `geom` with
the tile's envelope (plus its buffer) in CRS84 — exactly the Web-Mercator box, which maps to a lon/lat box.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache

from spatial.history.asof import layer_at
from spatial.registry import Layer
from spatial.tiles.cache import RenderedTile
from spatial.tiles.grid import BUFFER, EXTENT, Tile
from spatial.tiles.layers import TileLayer, generalisation, tile_sql
from spatial.tiles.service import TileService

INSTANT = "$8::timestamptz"  # after the tile SQL's own $1–$7
ENVELOPE_CRS84 = f"ST_Transform(ST_TileEnvelope($1::int, $2::int, $3::int, margin => {BUFFER / EXTENT}), 4326)"


@cache
def asof_tile_sql(layer: Layer) -> str:
    """The layer's tile SQL over its versions valid at the instant bound to $8."""
    source = layer_at(layer, INSTANT, extra=", ST_Transform(h.geom, 3857) AS geom_3857",
                      where=f"h.geom && {ENVELOPE_CRS84}")
    return tile_sql(layer, stored_grid=False, table=source)


async def render_asof(service: TileService, layers: Sequence[TileLayer], tile: Tile, asof: datetime, *,
                      composite: bool = False) -> RenderedTile:
    """The MVT of `layers` at `tile` as the plan stood at `asof` (read on the primary: a replica could still lack
    the latest versions). A composite tile leaves out layers below their composite min zoom, as the present's."""
    if composite:
        layers = [layer for layer in layers if tile.z >= layer.composite_min_zoom]
    tolerance, min_size = generalisation(tile, service.min_feature_px)
    parts = []
    async with service.db.acquire() as conn:
        for layer in layers:
            parts.append(await conn.fetchval(asof_tile_sql(layer.layer), tile.z, tile.x, tile.y, tolerance, min_size,
                                             service.max_features, service.largest_first, asof) or b"")
    return RenderedTile.of(b"".join(parts))
