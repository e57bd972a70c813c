"""Where is this point / this parcel in the plan?

`locate_point`: the admin units, regions, centre, other zones and corridors containing a point, the
nearest development axis (distance in metres on the ellipsoid) and the projects within a radius —
one statement, JSON built by PostgreSQL.

`locate_geometry`: every zone / admin unit / corridor a parcel overlaps, with the overlap area (m² on
the ellipsoid) and its share of the parcel; the primary region and admin unit are the largest shares.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import shapely

from spatial.crs import DEFAULT, SupportedCrs, check_in_range
from spatial.errors import InvalidGeometry
from spatial.geometry import check_geodesic_edges, parse_geojson_geometry, to_storage_sql
from spatial.history.asof import layer_at

POINT_LAYERS = ("admin_units", "zones", "corridors", "axes", "projects")
AREA_LAYERS = ("admin_units", "zones", "corridors")
DEFAULT_RADIUS_M = 2_000.0
MIN_RADIUS_M = 0.001
MAX_RADIUS_M = 50_000.0

# $1 x, $2 y (in the request CRS, turned into the storage CRS by the caller's SQL), $3 radius (m).
# Metres → degrees for the index pre-filter: 1° of latitude ≥ 110,574 m; of longitude 111,320·cos(lat) m.
LOCATE_POINT_SQL = """
WITH p AS (SELECT {point} AS g),
q AS (SELECT g, g::geography AS gg, ST_Expand(g, $3 / (111320.0 * cos(radians(ST_Y(g)))) * 1.01,
                                               $3 / 110574.0 * 1.01) AS near FROM p)
SELECT json_build_object(
  'point', json_build_object('lon', ST_X(q.g), 'lat', ST_Y(q.g)),
  'admin_units', (SELECT coalesce(json_agg(json_build_object(
        'id', a.id, 'code', a.code, 'name_vi', a.name_vi, 'name_en', a.name_en, 'level', a.level,
        'gso_code', a.gso_code) ORDER BY a.level = 'province', a.code), '[]'::json)
      FROM {admin_units} a WHERE ST_Intersects(a.geom, q.g)),
  'zones', (SELECT coalesce(json_agg(json_build_object(
        'id', z.id, 'code', z.code, 'name_vi', z.name_vi, 'name_en', z.name_en, 'kind', z.kind)
        ORDER BY z.kind <> 'region', z.kind <> 'centre', z.code), '[]'::json)
      FROM {zones} z WHERE ST_Intersects(z.geom, q.g)),
  'corridors', (SELECT coalesce(json_agg(json_build_object(
        'id', c.id, 'code', c.code, 'name_vi', c.name_vi, 'name_en', c.name_en) ORDER BY c.code), '[]'::json)
      FROM {corridors} c WHERE ST_Intersects(c.geom, q.g)),
  'nearest_axis', (SELECT json_build_object('id', n.id, 'code', n.code, 'name_vi', n.name_vi,
        'name_en', n.name_en, 'distance_m', round(n.d::numeric, 1))
      FROM (SELECT x.id, x.code, x.name_vi, x.name_en, ST_Distance(x.geom::geography, q.gg) AS d
            FROM (SELECT * FROM {axes} ax ORDER BY ax.geom <-> q.g LIMIT 6) x ORDER BY 5 LIMIT 1) n),
  'projects', (SELECT coalesce(json_agg(json_build_object(
        'id', pr.id, 'code', pr.code, 'name_vi', pr.name_vi, 'name_en', pr.name_en, 'category', pr.category,
        'status', pr.status, 'distance_m', round(pr.d::numeric, 1)) ORDER BY pr.d, pr.code), '[]'::json)
      FROM (SELECT x.*, ST_Distance(x.geom::geography, q.gg) AS d FROM {projects} x
            WHERE x.geom && q.near AND ST_DWithin(x.geom::geography, q.gg, $3)) pr),
  'radius_m', $3::float8
)::text
FROM q
"""


def point_sql(crs: SupportedCrs) -> str:
    return to_storage_sql("ST_MakePoint($1::float8, $2::float8)", crs)


def _layers(names: tuple[str, ...], asof_parameter: str | None) -> dict[str, str]:
    """The FROM item of each layer a statement reads: the table, or the layer as it stood at the instant bound to
    `asof_parameter` (spatial.history.asof)."""
    return {name: name if asof_parameter is None else layer_at(name, f"{asof_parameter}::timestamptz")
            for name in names}


def locate_point_sql(crs: SupportedCrs = DEFAULT, *, asof: bool = False) -> str:
    """The statement `locate_point` runs ($1 x, $2 y, $3 radius in metres; $4 the instant with `asof`), for
    benchmarks and EXPLAIN. Built per call (microseconds; asyncpg keeps the prepared statement by its text), not at
    import, so what builds it runs under test."""
    return LOCATE_POINT_SQL.format(point=point_sql(crs), **_layers(POINT_LAYERS, "$4" if asof else None))


async def locate_point(conn: asyncpg.Connection, x: float, y: float, crs: SupportedCrs = DEFAULT,
                       radius_m: float = DEFAULT_RADIUS_M, asof: datetime | None = None) -> str:
    """JSON text: what contains the point (x, y in the CRS's axis order) and what is near it — in the plan as it
    is, or as it stood at `asof`."""
    check_in_range(crs, [x], [y], "lon" if not crs.projected else "x")
    if asof is None:
        return await conn.fetchval(locate_point_sql(crs), x, y, radius_m)
    return await conn.fetchval(locate_point_sql(crs, asof=True), x, y, radius_m, asof)


# $1 geometry WKB in the request CRS
LOCATE_GEOMETRY_SQL = """
WITH p AS (SELECT {geom} AS g),
q AS (SELECT g, ST_Area(g::geography) AS area FROM p),
hits AS (
  SELECT 'admin_units' AS layer, a.id, a.code, a.name_vi, a.name_en, a.level AS kind, a.geom
    FROM {admin_units} a, q WHERE ST_Intersects(a.geom, q.g)
  UNION ALL
  SELECT 'zones', z.id, z.code, z.name_vi, z.name_en, z.kind, z.geom FROM {zones} z, q WHERE ST_Intersects(z.geom, q.g)
  UNION ALL
  SELECT 'corridors', c.id, c.code, c.name_vi, c.name_en, 'corridor', c.geom
    FROM {corridors} c, q WHERE ST_Intersects(c.geom, q.g)
),
shares AS (
  SELECT h.layer, h.id, h.code, h.name_vi, h.name_en, h.kind,
         CASE WHEN ST_Covers(h.geom, q.g) THEN q.area
              ELSE ST_Area(ST_Intersection(h.geom, q.g)::geography) END AS area_m2, q.area AS total
  FROM hits h, q
),
ranked AS (
  SELECT s.*, CASE WHEN s.total > 0 THEN 100.0 * s.area_m2 / s.total END AS share FROM shares s
  WHERE s.area_m2 > 0
)
SELECT json_build_object(
  'area_m2', round((SELECT area FROM q)::numeric, 2),
  'overlaps', (SELECT coalesce(json_agg(json_build_object(
      'layer', r.layer, 'id', r.id, 'code', r.code, 'name_vi', r.name_vi, 'name_en', r.name_en, 'kind', r.kind,
      'area_m2', round(r.area_m2::numeric, 2), 'share_pct', round(r.share::numeric, 4))
      ORDER BY r.share DESC, r.layer, r.code), '[]'::json) FROM ranked r),
  'primary_region', (SELECT json_build_object('id', r.id, 'code', r.code, 'name_vi', r.name_vi,
      'name_en', r.name_en, 'share_pct', round(r.share::numeric, 4))
      FROM ranked r WHERE r.layer = 'zones' AND r.kind = 'region' ORDER BY r.share DESC, r.code LIMIT 1),
  'primary_admin_unit', (SELECT json_build_object('id', r.id, 'code', r.code, 'name_vi', r.name_vi,
      'name_en', r.name_en, 'share_pct', round(r.share::numeric, 4))
      FROM ranked r WHERE r.layer = 'admin_units' AND r.kind = 'district' ORDER BY r.share DESC, r.code LIMIT 1)
)::text
"""


def locate_geometry_sql(crs: SupportedCrs = DEFAULT, *, asof: bool = False) -> str:
    """The statement `locate_geometry` runs ($1 the parcel as WKB in `crs`; $2 the instant with `asof`)."""
    return LOCATE_GEOMETRY_SQL.format(geom=to_storage_sql("ST_GeomFromWKB($1::bytea)", crs),
                                      **_layers(AREA_LAYERS, "$2" if asof else None))


def parcel_geometry(obj: Any, crs: SupportedCrs, parameter: str = "body") -> shapely.Geometry:
    """A GeoJSON polygon geometry or Feature, validated (shape, range, validity)."""
    geom = parse_geojson_geometry(obj, crs, parameter)
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InvalidGeometry(f"{parameter}: a Polygon or MultiPolygon is needed to compute overlap shares "
                              f"(got {geom.geom_type}); use GET /locate for a point", parameter=parameter)
    check_geodesic_edges(geom, crs, parameter)  # its area is measured on the ellipsoid
    return geom


async def locate_geometry(conn: asyncpg.Connection, geom: shapely.Geometry, crs: SupportedCrs = DEFAULT,
                          asof: datetime | None = None) -> str:
    """JSON text: overlaps of a (validated) parcel with admin units, zones and corridors (as they stood at `asof`)."""
    if asof is None:
        return await conn.fetchval(locate_geometry_sql(crs), shapely.to_wkb(geom))
    return await conn.fetchval(locate_geometry_sql(crs, asof=True), shapely.to_wkb(geom), asof)

