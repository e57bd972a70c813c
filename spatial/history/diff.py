"""What changed in the plan between two points of its history (two revisions, or any two instants): per layer, the
features added, removed and changed — each changed one with the attributes that differ (old → new) and its
geometry change measured.

State against state, not change by change: a feature is compared as it stood at the start with how it stood at the
end, so a feature edited and edited back is unchanged, and one added and removed again in between is not there.
One set-based statement per layer over its history table (`history.<layer>`, migration 0014):

  1. the features touched in between: ids with a version written after the start and by the end (a BRIN index on
     `valid_from` finds them: versions are written in time order);
  2. their versions valid at each end: DISTINCT ON (id) … ORDER BY id, version DESC among `valid_from <= t`
     (a `delete` version there means the feature did not exist);
  3. classified: only at the end → added, only at the start → removed, at both but different → changed; counted;
  4. a page of them (by id) described: code and names, the versions compared, the attributes that differ and the
     geometry's measures — area (polygons) and length (lines) on the ellipsoid, and the Hausdorff distance between
     old and new in metres, measured in VN-2000 / TM-3 105-45 (Long An's own metric grid, EPSG:9210).

Paged across layers in registry order, then by id: `after` is the last entry of the previous page as "layer:id".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from spatial.errors import InvalidParameter
from spatial.history.asof import history_table
from spatial.history.columns import attribute_changes_sql, geometry_changed_sql, history_columns
from spatial.history.revisions import Instant
from spatial.registry import Layer

METRIC_SRID = 909210  # VN-2000 / TM-3 105-45 with the pinned EPSG:6960 transformation (migration 0004)
CURSOR = re.compile(r"^([a-z_][a-z0-9_]{0,62}):([0-9]{1,18})$")
DIFF_SQL = """
WITH touched AS (
    SELECT DISTINCT id FROM {h} WHERE valid_from > $1 AND valid_from <= $2
), at_start AS (
    SELECT DISTINCT ON (x.id) x.id, x.version, x.operation FROM {h} x JOIN touched t ON t.id = x.id
    WHERE x.valid_from <= $1 ORDER BY x.id, x.version DESC
), at_end AS (
    SELECT DISTINCT ON (x.id) x.id, x.version, x.operation FROM {h} x JOIN touched t ON t.id = x.id
    WHERE x.valid_from <= $2 ORDER BY x.id, x.version DESC
), pairs AS (
    SELECT t.id, CASE WHEN s.operation <> 'delete' THEN s.version END AS va,
           CASE WHEN e.operation <> 'delete' THEN e.version END AS vb
    FROM touched t LEFT JOIN at_start s ON s.id = t.id LEFT JOIN at_end e ON e.id = t.id
), classified AS MATERIALIZED (
    SELECT p.id, p.va, p.vb, d.attributes, coalesce(d.geometry_changed, true) AS geometry_changed,
           CASE WHEN p.va IS NULL THEN 'added' WHEN p.vb IS NULL THEN 'removed' ELSE 'changed' END AS change
    FROM pairs p
    LEFT JOIN LATERAL (  -- compared only where the feature is at both ends
        SELECT {attributes} AS attributes, {geometry_changed} AS geometry_changed
        FROM {h} a, {h} b WHERE p.va IS NOT NULL AND p.vb IS NOT NULL AND a.version = p.va AND b.version = p.vb
    ) d ON true
    WHERE (p.va IS NOT NULL OR p.vb IS NOT NULL)
      AND (p.va IS NULL OR p.vb IS NULL OR d.attributes <> '{{}}'::jsonb OR d.geometry_changed)
)
SELECT NULL::bigint AS id, jsonb_build_object(
           'added', count(*) FILTER (WHERE change = 'added'), 'removed', count(*) FILTER (WHERE change = 'removed'),
           'changed', count(*) FILTER (WHERE change = 'changed'))::text AS entry,
       NULL::text AS geometry, NULL::text AS old_geometry
FROM classified
UNION ALL
(SELECT c.id, jsonb_build_object(
            'id', c.id, 'change', c.change, 'code', coalesce(b.code, a.code), 'name_vi', coalesce(b.name_vi, a.name_vi),
            'name_en', coalesce(b.name_en, a.name_en), 'from_version', c.va, 'to_version', c.vb,
            'attributes', c.attributes, 'geometry_change', {measures})::text,
        {geometry}, {old_geometry}
 FROM (SELECT * FROM classified WHERE $3::bigint IS NULL OR id > $3::bigint ORDER BY id LIMIT $4) c
 LEFT JOIN {h} a ON a.version = c.va
 LEFT JOIN {h} b ON b.version = c.vb{measured}
 ORDER BY c.id)
"""
# the geometry's measures: area (polygons) or length (lines) at each end and their difference, on the ellipsoid;
# the Hausdorff distance between old and new in metres (Long An's metric grid)
MEASURES = """CASE WHEN c.change = 'changed' AND NOT c.geometry_changed THEN jsonb_build_object('changed', false)
ELSE jsonb_build_object('changed', true)
    || CASE WHEN m.area_a IS NOT NULL OR m.area_b IS NOT NULL THEN jsonb_build_object('area_m2', jsonb_build_object(
        'old', round(m.area_a, 2), 'new', round(m.area_b, 2),
        'difference', round(coalesce(m.area_b, 0) - coalesce(m.area_a, 0), 2))) ELSE '{{}}' END
    || CASE WHEN m.length_a IS NOT NULL OR m.length_b IS NOT NULL THEN jsonb_build_object('length_m',
        jsonb_build_object(
        'old', round(m.length_a, 2), 'new', round(m.length_b, 2),
        'difference', round(coalesce(m.length_b, 0) - coalesce(m.length_a, 0), 2))) ELSE '{{}}' END
    || CASE WHEN a.geom IS NOT NULL AND b.geom IS NOT NULL THEN jsonb_build_object('hausdorff_m', round(
        ST_HausdorffDistance(ST_Transform(a.geom, {srid}), ST_Transform(b.geom, {srid}))::numeric, 3)) ELSE '{{}}' END
END"""
MEASURED = """(SELECT CASE WHEN ST_Dimension(a.geom) = 2 THEN ST_Area(a.geom::geography)::numeric END AS area_a,
    CASE WHEN ST_Dimension(b.geom) = 2 THEN ST_Area(b.geom::geography)::numeric END AS area_b,
    CASE WHEN ST_Dimension(a.geom) = 1 THEN ST_Length(a.geom::geography)::numeric END AS length_a,
    CASE WHEN ST_Dimension(b.geom) = 1 THEN ST_Length(b.geom::geography)::numeric END AS length_b) m"""
GEOJSON_DIGITS = 7


@dataclass(frozen=True)
class Entry:
    """One feature that changed: its description (JSON text), and with geometries asked for, its geometry (GeoJSON
    text: at the end, or at the start for a removed one) and, for a changed geometry, the one it had before."""

    entry: str
    geometry: str | None
    old_geometry: str | None

    def data(self) -> dict[str, Any]:
        return orjson.loads(self.entry)


@dataclass
class LayerDiff:
    layer: Layer
    added: int
    removed: int
    changed: int
    entries: list[Entry]

    def counts(self) -> dict[str, int]:
        return {"added": self.added, "removed": self.removed, "changed": self.changed}


@dataclass
class Diff:
    start: Instant
    end: Instant
    layers: list[LayerDiff]
    next_after: str | None  # the `after` of the next page; None on the last one

    @property
    def returned(self) -> int:
        return sum(len(d.entries) for d in self.layers)


def parse_after(text: str | None, layers: list[Layer]) -> tuple[str, int] | None:
    """`after=layer:id` (from a `next` link): the last entry of the previous page."""
    if text is None:
        return None
    match = CURSOR.match(text)
    if match is None or match.group(1) not in {layer.id for layer in layers}:
        raise InvalidParameter(f"after: {text!r} is not the end of a page of this diff; follow the links as given",
                               parameter="after")
    return match.group(1), int(match.group(2))


def diff_sql(layer: Layer, columns: tuple[str, ...], geometries: bool) -> str:
    """The layer's statement: $1 start, $2 end, $3 after id (or NULL), $4 page size. Its first row (id NULL) holds
    the counts; the others the page's entries."""
    spatial = "geom" in columns
    measures = MEASURES.format(srid=METRIC_SRID) if spatial else "NULL::jsonb"
    geometry = old_geometry = "NULL::text"
    if spatial and geometries:
        geometry = f"ST_AsGeoJSON(coalesce(b.geom, a.geom), {GEOJSON_DIGITS})"
        old_geometry = (f"CASE WHEN c.change = 'changed' AND c.geometry_changed "
                        f"THEN ST_AsGeoJSON(a.geom, {GEOJSON_DIGITS}) END")
    return DIFF_SQL.format(h=history_table(layer), attributes=attribute_changes_sql("a", "b", columns),
                           geometry_changed=geometry_changed_sql("a", "b", columns), measures=measures,
                           measured=f"\n CROSS JOIN LATERAL {MEASURED}" if spatial else "", geometry=geometry,
                           old_geometry=old_geometry)


async def layer_diff(conn: asyncpg.Connection, layer: Layer, columns: tuple[str, ...], start: Instant,
                     end: Instant, *, after: int | None, limit: int, geometries: bool) -> LayerDiff:
    rows = await conn.fetch(diff_sql(layer, columns, geometries), start.at, end.at, after, limit)
    counts = orjson.loads(next(r["entry"] for r in rows if r["id"] is None))
    entries = sorted((r for r in rows if r["id"] is not None), key=lambda r: r["id"])
    return LayerDiff(layer, counts["added"], counts["removed"], counts["changed"],
                     [Entry(r["entry"], r["geometry"], r["old_geometry"]) for r in entries])


async def diff(conn: asyncpg.Connection, layers: list[Layer], start: Instant, end: Instant, *, limit: int,
               after: tuple[str, int] | None = None, geometries: bool = False) -> Diff:
    """The plan's changes from `start` to `end` in `layers` (every layer counted; at most `limit` entries listed,
    from `after` on)."""
    columns = await history_columns(conn)
    layers = [layer for layer in layers if layer.id in columns]  # (a layer without a history table has no past)
    order = [layer.id for layer in layers]
    remaining, last, more = limit, None, False
    result = []
    for layer in layers:
        position = order.index(layer.id) - (order.index(after[0]) if after and after[0] in order else 0)
        take = 0 if position < 0 or more else remaining + 1
        found = await layer_diff(conn, layer, columns[layer.id], start, end, geometries=geometries,
                                 after=after[1] if after and position == 0 else None, limit=take)
        if len(found.entries) > remaining:
            found.entries, more = found.entries[:remaining], True
        remaining -= len(found.entries)
        if found.entries:
            last = f"{layer.id}:{found.entries[-1].data()['id']}"
        result.append(found)
    return Diff(start, end, result, last if more else None)
