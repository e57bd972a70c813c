"""Classify many parcels at once: COPY them into a temporary table, index it, then ONE set-based join
against admin units, zones and corridors; results stream out of a server-side cursor as GeoJSON or CSV.

Each parcel gets its district (largest share), its primary region (largest share), the centre and
corridors it touches, and every overlap share (% of the parcel's ellipsoidal area).
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg
import shapely

from spatial.crs import STORAGE_SRID
from spatial.queries.classify_input import OUTPUT_FIELDS, ClassifyInput

TABLE = "lapis_classify"
CHUNK = 5_000

CREATE_SQL = f"CREATE TEMP TABLE {TABLE} (idx integer, g geometry, props text) ON COMMIT DROP"
TRANSFORM_SQL = f"UPDATE {TABLE} SET g = ST_Transform(g, {STORAGE_SRID})"
INDEX_SQL = [f"CREATE INDEX ON {TABLE} USING gist (g)", f"ANALYZE {TABLE}"]

# What a parcel is classified against: districts, zones (regions, the centre …) and corridors. The analysis engines
# (`spatial.analysis`) fetch the same rows once and join them outside the database.
PLAN_LAYERS_SQL = """
  SELECT 'admin_units'::text AS layer, code, name_vi, level AS kind, geom FROM admin_units WHERE level = 'district'
  UNION ALL SELECT 'zones', code, name_vi, kind, geom FROM zones
  UNION ALL SELECT 'corridors', code, name_vi, 'corridor', geom FROM corridors
"""

# The set-based join. The plan layers drive a nested loop over the indexed parcels, so each zone is the
# repeated argument of ST_Covers/ST_Intersects and PostGIS reuses its prepared geometry.
RESULT_CTE = f"""
WITH zl AS ({PLAN_LAYERS_SQL}),
hits AS MATERIALIZED (  -- each share computed once, not once per aggregate that reads it
  SELECT i.idx, zl.layer, zl.code, zl.name_vi, zl.kind,
         CASE WHEN ST_Covers(zl.geom, i.g) THEN 1.0
              ELSE ST_Area(ST_Intersection(zl.geom, i.g)::geography) / nullif(ST_Area(i.g::geography), 0)
         END AS share
  FROM zl JOIN {TABLE} i ON ST_Intersects(zl.geom, i.g)
),
agg AS (
  -- the hits arrive sorted (idx, share DESC, code), so each plain aggregate sees a parcel's largest share first:
  -- one sort for all, instead of one per ordered aggregate per parcel
  SELECT idx,
    (array_agg(code) FILTER (WHERE layer = 'admin_units'))[1] AS admin_code,
    (array_agg(name_vi) FILTER (WHERE layer = 'admin_units'))[1] AS admin_name,
    (array_agg(code) FILTER (WHERE kind = 'region'))[1] AS region_code,
    (array_agg(name_vi) FILTER (WHERE kind = 'region'))[1] AS region_name,
    round((100 * max(share) FILTER (WHERE kind = 'region'))::numeric, 2) AS region_share,
    string_agg(code, ';') FILTER (WHERE kind = 'centre') AS centre_codes,
    string_agg(code, ';') FILTER (WHERE layer = 'corridors') AS corridor_codes,
    json_object_agg(code, round((100 * share)::numeric, 2)) AS shares
  FROM (SELECT * FROM hits WHERE share > 0 ORDER BY idx, share DESC, code) sorted GROUP BY idx
)
"""

# Properties are spliced as text (the input's JSON object, then LAPIS's keys): no jsonb round trip per row.
GEOJSON_SQL = RESULT_CTE + f"""
SELECT '{{"type":"Feature","id":' || i.idx || ',"geometry":' || ST_AsGeoJSON(i.g, 7, 0) || ',"properties":'
  || CASE WHEN i.props = '{{}}' THEN '{{' ELSE left(i.props, -1) || ',' END
  || substr(json_build_object(
    'lapis_admin_code', a.admin_code, 'lapis_admin_name', a.admin_name,
    'lapis_region_code', a.region_code, 'lapis_region_name', a.region_name, 'lapis_region_share_pct', a.region_share,
    'lapis_centre', a.centre_codes, 'lapis_corridors', a.corridor_codes,
    'lapis_shares', coalesce(a.shares, '{{}}'::json))::text, 2) || '}}'
FROM {TABLE} i LEFT JOIN agg a USING (idx) ORDER BY i.idx
"""

CSV_COLUMNS = list(OUTPUT_FIELDS)
CSV_SQL = RESULT_CTE + f"""
SELECT i.idx, i.props, a.admin_code, a.admin_name, a.region_code, a.region_name, a.region_share::text,
       a.centre_codes, a.corridor_codes, a.shares::text
FROM {TABLE} i LEFT JOIN agg a USING (idx) ORDER BY i.idx
"""


@dataclass
class Timings:
    read: float = 0.0
    load: float = 0.0
    join: float = 0.0  # until the first row is ready
    stream: float = 0.0  # the rest of the rows
    rows: int = 0
    extra: dict[str, float] = field(default_factory=dict)


async def load(conn: asyncpg.Connection, data: ClassifyInput) -> None:
    """COPY the parcels into the temp table (in the caller's transaction) and index them."""
    await conn.execute(CREATE_SQL)
    srid = data.crs.srid
    ewkb = shapely.to_wkb(shapely.set_srid(data.geoms, srid), include_srid=True)
    await conn.copy_records_to_table(
        TABLE, records=zip(range(len(ewkb)), ewkb, (p.decode() for p in data.props), strict=True),
        columns=["idx", "g", "props"])
    if srid != STORAGE_SRID:
        await conn.execute(TRANSFORM_SQL)
    for sql in INDEX_SQL:
        await conn.execute(sql)


async def geometry_codec(conn: asyncpg.Connection) -> None:
    """Binary COPY of geometry: PostGIS's binary input takes EWKB as it is."""
    await conn.set_type_codec("geometry", schema="public", format="binary",
                              encoder=lambda value: value, decoder=lambda value: value)


async def classify_stream(conn: asyncpg.Connection, data: ClassifyInput, fmt: str = "geojson",
                          timings: Timings | None = None) -> AsyncIterator[bytes]:
    """Yield the classified features as GeoJSON FeatureCollection or CSV bytes, in input order."""
    timings = timings or Timings()
    timings.read = data.read_seconds
    started = time.perf_counter()
    await geometry_codec(conn)
    async with conn.transaction():
        # the server's pool turns JIT off (it slows short queries); this big join gains from it
        await conn.execute("SET LOCAL jit = on")
        await load(conn, data)
        timings.load = time.perf_counter() - started
        started = time.perf_counter()
        cursor = await conn.cursor(GEOJSON_SQL if fmt == "geojson" else CSV_SQL)
        rows = await cursor.fetch(CHUNK)
        timings.join = time.perf_counter() - started
        started = time.perf_counter()
        first = True
        while rows:
            timings.rows += len(rows)
            if fmt == "geojson":
                prefix = b'{"type":"FeatureCollection","features":[' if first else b","
                yield prefix + ",".join(r[0] for r in rows).encode()
            else:
                yield _csv_chunk(rows, data.columns, header=first)
            first = False
            rows = await cursor.fetch(CHUNK)
        if fmt == "geojson":
            yield b'{"type":"FeatureCollection","features":[]}' if first else b"]}"
        timings.stream = time.perf_counter() - started


def _csv_chunk(rows: list[asyncpg.Record], columns: list[str], header: bool) -> bytes:
    import orjson

    out = io.StringIO()
    writer = csv.writer(out)
    if header:
        writer.writerow(["feature", *columns, *CSV_COLUMNS])
    for r in rows:
        props = orjson.loads(r[1]) if columns else {}
        writer.writerow([r[0], *(_cell(props.get(c)) for c in columns), *r[2:]])
    return out.getvalue().encode()


def _cell(value: object) -> object:
    if isinstance(value, dict | list):
        import orjson

        return orjson.dumps(value).decode()
    return value
