"""A layer as it would be after publishing a proposal: the published rows the proposal leaves alone, and the rows
its changes would write (deleted ones left out). Items, single features and tiles read this row source in place
of the layer's table, so a preview is the published view's own SQL over other rows.

The row source is read under the caller's role (`spatial.session.as_caller`): row-level security shows an editor
only their own proposals' changes, so a preview of someone else's proposal is simply the published layer. The
routes check who may preview what before they get here. Nothing read here is ever cached.
"""

from __future__ import annotations

import asyncpg

from spatial.registry import Layer
from spatial.tiles.cache import RenderedTile
from spatial.tiles.grid import Tile
from spatial.tiles.layers import generalisation, tile_sql
from spatial.tiles.service import TileService


def _changes(layer: Layer, proposal_id: int) -> str:
    """The WHERE condition of the proposal's changes `c` of this layer (the id is an int: inlined)."""
    return f"c.proposal_id = {int(proposal_id)} AND c.layer = '{layer.id}'"


def _untouched(layer: Layer, proposal_id: int, columns: str) -> str:
    return (f"SELECT {columns} FROM {layer.id} t WHERE NOT EXISTS (SELECT 1 FROM proposal_changes c "
            f"WHERE {_changes(layer, proposal_id)} AND c.feature_id = t.id)")


def _proposed_rows(layer: Layer, proposal_id: int) -> str:
    """FROM … WHERE of the rows the proposal would write, each `r` (a row of the layer's type) with its change `c`."""
    geometry = "'geom', encode(ST_AsEWKB(c.geom), 'hex'), " if layer.has_geometry else ""
    return (f"FROM proposal_changes c CROSS JOIN LATERAL jsonb_populate_record(NULL::{layer.id}, c.properties "
            f"|| jsonb_build_object('id', c.feature_id, {geometry}'created_at', c.created_at, "
            f"'updated_at', c.created_at)) r WHERE {_changes(layer, proposal_id)} AND c.op <> 'delete'")


def preview_source_sql(layer: Layer, proposal_id: int) -> str:
    """SQL of the layer's rows after publishing `proposal_id`: usable wherever the table's name is (`FROM … t`)."""
    return f"({_untouched(layer, proposal_id, 't.*')} UNION ALL SELECT r.* {_proposed_rows(layer, proposal_id)})"


def tile_source_sql(layer: Layer, proposal_id: int) -> str:
    """The same for tiles: id, the tile properties and `geom_3857` (the published rows' stored, indexed copy)."""
    names = ("id", *(layer.tiles.properties if layer.tiles is not None else ()))
    published = ", ".join(f"t.{n}" for n in names) + ", t.geom_3857"
    proposed = ", ".join(f"r.{n}" for n in names) + ", ST_Transform(c.geom, 3857) AS geom_3857"
    return (f"({_untouched(layer, proposal_id, published)} "
            f"UNION ALL SELECT {proposed} {_proposed_rows(layer, proposal_id)})")


async def preview_tile(conn: asyncpg.Connection, service: TileService, layers: list[Layer], tile: Tile,
                       proposal_id: int) -> RenderedTile:
    """The MVT of `layers` at `tile` as it would be after publishing the proposal: rendered with the tile
    service's settings (generalisation, feature cap), never cached. `conn` reads as the caller."""
    tolerance, min_size = generalisation(tile, service.min_feature_px)
    parts = []
    for layer in layers:
        sql = tile_sql(layer, table=tile_source_sql(layer, proposal_id))
        parts.append(await conn.fetchval(sql, tile.z, tile.x, tile.y, tolerance, min_size, service.max_features,
                                         service.largest_first) or b"")
    return RenderedTile.of(b"".join(parts))
