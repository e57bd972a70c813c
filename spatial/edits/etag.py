"""A feature's version, as a strong ETag: a hash of its stored values and its geometry.

The values are a row of the layer as jsonb without its managed columns (id, geometry and the columns generated from
it, timestamps): exactly what a proposal stores as a change's `properties`. So the version of a published row and
of the row a proposal would publish are computed alike (`lapis_feature_etag`, migration 0012), and publishing a
change gives the feature the version its preview showed. Any write changes it — through LAPIS or plain SQL —
because it is computed from the row itself, never stored beside it.

`If-Match` is evaluated as RFC 9110 §13.1.1 says: a list of entity tags compared strongly (a weak tag never
matches), or `*`, true when the feature exists.
"""

from __future__ import annotations

import asyncpg

from spatial.registry import Layer

MANAGED = ("id", "geom", "geom_3857", "created_at", "updated_at")


def managed_columns(layer: Layer) -> tuple[str, ...]:
    """The columns of the layer's table that are not its values: id, geometry, generated copies, timestamps."""
    grids = layer.tiles.stored_grid_zooms if layer.tiles is not None else ()
    return MANAGED + tuple(f"tile_z{z}" for z in grids)


def values_sql(layer: Layer, alias: str) -> str:
    """SQL: the stored values of the row `alias` (a row of the layer's table, or of the same shape) as jsonb."""
    managed = ", ".join(f"'{name}'" for name in managed_columns(layer))
    return f"(to_jsonb({alias}) - ARRAY[{managed}]::text[])"


def etag_sql(layer: Layer, alias: str) -> str:
    """SQL: the version (unquoted hex) of the row `alias`."""
    geometry = f"{alias}.geom" if layer.has_geometry else "NULL::geometry"
    return f"lapis_feature_etag({values_sql(layer, alias)}, {geometry})"


def quoted(etag: str) -> str:
    """The ETag header value of a version."""
    return f'"{etag}"'


def if_match_passes(header: str, current: str | None) -> bool:
    """Whether `If-Match: header` holds for a feature whose version is `current` (None: it does not exist)."""
    if current is None:
        return False
    if header.strip() == "*":
        return True
    wanted = quoted(current)
    return any(tag.strip() == wanted for tag in header.split(","))


def if_none_match_hits(header: str | None, current: str) -> bool:
    """Whether `If-None-Match: header` names version `current` (weak comparison, RFC 9110 §13.1.2): a 304."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    wanted = quoted(current)
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


async def feature_etag(conn: asyncpg.Connection, layer: Layer, feature_id: int,
                       source: str | None = None) -> str | None:
    """The version of feature `feature_id` (unquoted hex), None when there is none: published, or as a proposal
    would publish it when `source` is that proposal's preview of the layer (`spatial.edits.preview`)."""
    return await conn.fetchval(f"SELECT {etag_sql(layer, 't')} FROM {source or layer.id} t WHERE t.id = $1",
                               feature_id)
