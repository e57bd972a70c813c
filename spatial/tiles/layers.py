"""The one SQL text per tiled layer that renders a tile (what is tiled, with which attributes and zooms, is each
registry entry's `TileSpec`).

Each SQL reads the indexed, stored `geom_3857` (no per-row reprojection), filters with `&&` on the tile envelope
plus the MVT buffer (ST_AsMVTGeom clips anyway), generalises with a tolerance derived from the tile resolution
(Douglas–Peucker, which also removes repeated points; ST_AsMVTGeom then snaps to the tile grid and removes the
points that snapping repeats) while keeping what it collapses (`preserveCollapsed`: whether a small feature
survives is ST_AsMVTGeom's call, as in any ST_AsMVT server), and, below z13, drops lines and polygons under 2
display pixels across, which would draw a speck at most — through the `lapis_feature_size` index (migration
0003), so a low-zoom tile never reads the many small features it leaves out. A tile holds at most `max_features`
features (as tipg's TIPG_MAX_FEATURES_PER_TILE): the largest first ($7 true), so a capped tile is still a good
map — on a dense low-zoom tile the planner reads them straight off the size index — or the first by id ($7
false, what tipg keeps). Planned per call, the ORDER BY folds to the one key in use. Rows whose geometry clips away are
skipped by ST_AsMVT itself: no outer `WHERE geom IS NOT NULL`, which PostgreSQL would push down and so run
ST_AsMVTGeom twice. At the zooms where a layer's tiles are heaviest (parcels, z10–z13) each feature is stored
already rendered on that zoom's world grid (migration 0007), and a tile shifts it into place instead of
rendering it again; only features crossing the buffered tile edge are rendered (and clipped) per tile.
Statements are planned per call (the pool sets `plan_cache_mode = force_custom_plan`): the best index depends on
the zoom's size threshold and on how many features the envelope holds. Table and column names come from the layer
registry only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from spatial.layers import LAYERS
from spatial.registry import Layer, Registry, TileSpec
from spatial.tiles.grid import BUFFER, EXTENT, TILE_SIZE, Tile

DROP_BELOW_ZOOM = 13  # tiny features are dropped below this zoom only; from here on every feature is kept

TILE_SQL = """
WITH env AS (
    SELECT ST_TileEnvelope($1::int, $2::int, $3::int) AS tile,
           ST_TileEnvelope($1::int, $2::int, $3::int, margin => {margin}) AS box
)
SELECT ST_AsMVT(t, '{layer}', {extent}, 'geom', 'id')
FROM (
    SELECT f.id, {columns},
           {geometry} AS geom
    FROM {table} AS f, env
    WHERE f.geom_3857 && env.box
      AND ($5::float8 <= 0 OR lapis_feature_size(f.geom_3857) >= $5::float8)
    ORDER BY CASE WHEN $7::boolean THEN lapis_feature_size(f.geom_3857) END DESC,
             CASE WHEN NOT $7::boolean THEN f.id END
    LIMIT $6::int
) AS t
"""

RENDERED_GEOMETRY = "ST_AsMVTGeom(ST_Simplify(f.geom_3857, $4::float8, true), env.tile, {extent}, {buffer}, true)"
# a parcel already rendered on the zoom's world grid (migration 0007), shifted by the tile's offset — when it lies
# wholly inside the buffered tile, so there is nothing to clip; otherwise rendered as above
STORED_GEOMETRY = """CASE WHEN $1::int IN ({zooms}) AND f.geom_3857 @ env.box
                THEN ST_Translate(CASE $1::int {columns} END, -{extent}.0 * $2::int, -{extent}.0 * $3::int)
                ELSE {rendered} END"""
# the layer's extent, and its largest feature's size (where its tiles start: spatial.tiles.limits)
EXTENT_SQL = """
SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), largest
FROM (SELECT ST_Extent(geom_3857) AS e, max(lapis_feature_size(geom_3857)) AS largest FROM {table}) AS s
"""


@dataclass(frozen=True)
class TileLayer:
    """A tiled layer with its SQL texts; what it is tiled with is its registry entry's `TileSpec`."""

    layer: Layer
    spec: TileSpec
    sql: str
    extent_sql: str

    @property
    def id(self) -> str:
        return self.layer.id

    @property
    def properties(self) -> tuple[str, ...]:
        return self.spec.properties

    @property
    def max_zoom(self) -> int:
        return self.spec.max_zoom

    @property
    def composite_min_zoom(self) -> int:
        return self.spec.composite_min_zoom

    def fields(self) -> dict[str, str]:
        """TileJSON `vector_layers[].fields`: attribute name -> Number | String."""
        out = {}
        for name in self.properties:
            column = self.layer.column(name)
            out[name] = "Number" if column is not None and column.json_type in ("integer", "number") else "String"
        return out


def generalisation(tile: Tile, min_feature_px: float = 2.0) -> tuple[float, float]:
    """(simplification tolerance, minimum feature size) in metres for a tile.

    The tolerance is one MVT extent unit (finer than ST_AsMVTGeom's own grid snap, so nothing visible
    moves). Below DROP_BELOW_ZOOM a line or polygon whose bounding-box diagonal is under `min_feature_px`
    256-pixel display pixels is dropped; 0 means keep everything (and, planned per call, costs nothing).
    """
    drop = tile.z < DROP_BELOW_ZOOM and min_feature_px > 0
    return tile.width / EXTENT, tile.width / TILE_SIZE * min_feature_px if drop else 0.0


def _tile_column(layer: Layer, name: str) -> str:
    """The select-list entry for one attribute. ST_AsMVT writes `numeric` values as strings, so those
    become float8: a style or a popup then gets the Number that TileJSON promises."""
    column = layer.column(name)
    return f"f.{name}::float8 AS {name}" if column is not None and column.sql_type == "numeric" else f"f.{name}"


def _geometry(spec: TileSpec, stored_grid: bool) -> str:
    rendered = RENDERED_GEOMETRY.format(extent=EXTENT, buffer=BUFFER)
    zooms = spec.stored_grid_zooms
    if not zooms or not stored_grid:
        return rendered
    return STORED_GEOMETRY.format(zooms=", ".join(map(str, zooms)), extent=EXTENT, rendered=rendered,
                                  columns=" ".join(f"WHEN {z} THEN f.tile_z{z}" for z in zooms))


def _spec(layer: Layer) -> TileSpec:
    if layer.tiles is None:
        raise ValueError(f"layer {layer.id!r} is not tiled")
    return layer.tiles


def tile_sql(layer: Layer, *, stored_grid: bool = True, table: str | None = None) -> str:
    """The layer's tile SQL; `stored_grid=False` renders every feature with ST_AsMVTGeom even at the zooms with
    a stored grid geometry (the reference the stored path is tested against). `table`: SQL of another row source
    with the layer's id, tile properties and `geom_3857` to read instead of the layer's table (a proposal's preview,
    `spatial.edits.preview`; the plan at an instant, `spatial.history.tiles`)."""
    spec = _spec(layer)
    columns = ", ".join(_tile_column(layer, name) for name in spec.properties)
    return TILE_SQL.format(margin=BUFFER / EXTENT, layer=layer.id, extent=EXTENT, columns=columns,
                           geometry=_geometry(spec, stored_grid and table is None), table=table or layer.id)


@cache
def tile_layer(layer: Layer) -> TileLayer:
    """The tiled layer of a registry entry (made once per entry)."""
    return TileLayer(layer, _spec(layer), tile_sql(layer), EXTENT_SQL.format(table=layer.id))


@cache
def tile_layers_of(registry: Registry) -> dict[str, TileLayer]:
    """A registry's tiled layers by id, in composite drawing order (bottom to top)."""
    return {layer.id: tile_layer(layer) for layer in registry.tiled}


TILE_LAYERS = tile_layers_of(LAYERS)  # the default registry's
