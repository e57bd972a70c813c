"""Features API and planner queries: LAPIS vs tipg on the same database in the same run.

    python -m bench features      (env: BENCH_PARCELS=200000, BENCH_SECONDS=10, BENCH_CONNECTIONS=8,
                                        BENCH_CLASSIFY=100000, BENCH_PARTS=items,classify)

A throwaway PostGIS cluster gets the plan plus synthetic parcels. Measured with wrk:
  * items: 100-feature bbox pages of `parcels` (~200 boxes around random parcels) — LAPIS vs tipg;
  * /locate: ~200 points in the province, unloaded (1 connection: p50) and loaded — LAPIS's full /locate
    (admin unit, regions, centre, corridors, nearest axis, projects nearby) vs tipg answering only
    "which zones contain the point" with a CQL2 S_INTERSECTS filter, and the raw database time of LAPIS's SQL;
  * /classify of BENCH_CLASSIFY synthetic parcels uploaded as a GeoPackage, end to end over HTTP, with its time
    split into reading, loading and joining (the same code in-process), against `ogr2ogr` loading the same file
    into PostGIS plus the raw SQL join giving the same answer.
Each line prints the figure and the ratio to the reference measured in this run.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
import numpy as np
import psycopg
import shapely

from bench.http_load import LoadResult, measure, ratio
from bench.lapis_ref import lapis_server
from bench.tipg_ref import tipg_server, tipg_version
from spatial import migrate
from spatial.embedded import EmbeddedCluster
from spatial.queries.classify import Timings, classify_stream
from spatial.queries.classify_input import from_file
from spatial.queries.locate import locate_point_sql
from spatial.seed import seed
from spatial.settings import PROJECT_ROOT
from spatial.synthetic import load_parcels, province_outline, random_points_inside, synthetic_parcels

PARCELS = int(os.environ.get("BENCH_PARCELS", "200000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
CLASSIFY = int(os.environ.get("BENCH_CLASSIFY", "100000"))
PARTS = set(os.environ.get("BENCH_PARTS", "items,classify").split(","))
BOX_DEGREES = 0.03  # ~3.3 km: a few hundred parcels at 200,000 over the province, so pages are full

# The "raw SQL" reference for classify: the textbook join on the table ogr2ogr loaded, same answer as LAPIS.
RAW_JOIN_SQL = """
CREATE TEMP TABLE raw_result AS
WITH zl AS (
  SELECT 'admin_units'::text AS layer, code, name_vi, level AS kind, geom FROM admin_units WHERE level = 'district'
  UNION ALL SELECT 'zones', code, name_vi, kind, geom FROM zones
  UNION ALL SELECT 'corridors', code, name_vi, 'corridor', geom FROM corridors
),
hits AS MATERIALIZED (
  SELECT p.fid, zl.layer, zl.code, zl.name_vi, zl.kind,
         ST_Area(ST_Intersection(zl.geom, p.geom)::geography) / ST_Area(p.geom::geography) AS share
  FROM ref_parcels p JOIN zl ON ST_Intersects(zl.geom, p.geom)
)
SELECT fid,
  (array_agg(code ORDER BY share DESC) FILTER (WHERE layer = 'admin_units'))[1] AS admin_code,
  (array_agg(code ORDER BY share DESC) FILTER (WHERE kind = 'region'))[1] AS region_code,
  json_object_agg(code, round((100 * share)::numeric, 2)) AS shares
FROM hits WHERE share > 0 GROUP BY fid
"""


def setup(tmp: Path) -> tuple[EmbeddedCluster, str, object]:
    cluster = EmbeddedCluster(tmp / ".data", "lapis_bench", throwaway=True)
    url = cluster.start().url
    migrate.upgrade(url)
    seed(url, PROJECT_ROOT / "data" / "geojson")
    parcels = synthetic_parcels(PARCELS)
    load_parcels(url, parcels)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return cluster, url, parcels


def bbox_paths(parcels, collection: str, n: int = 200, seed: int = 3) -> list[str]:
    rng = np.random.default_rng(seed)
    centroids = shapely.get_coordinates(shapely.centroid(parcels.geometry.values))
    paths = []
    for i in rng.integers(0, len(parcels), n):
        x, y = centroids[int(i)]
        h = BOX_DEGREES / 2
        paths.append(f"/collections/{collection}/items?bbox={x - h:.6f},{y - h:.6f},{x + h:.6f},{y + h:.6f}"
                     "&limit=100")
    return paths


def points(n: int = 200, seed: int = 5) -> np.ndarray:
    return random_points_inside(province_outline(), n, np.random.default_rng(seed))


def line(label: str, result: LoadResult, reference: LoadResult | None = None) -> None:
    extra = ""
    if reference is not None:
        extra = (f"   rps {ratio(result.requests_per_s, reference.requests_per_s)} tipg's, "
                 f"p50 {ratio(result.p50_ms, reference.p50_ms)} of tipg's")
    print(f"  {label:<44} {result.row()}{extra}", flush=True)


def check_full_pages(base: str, paths: list[str]) -> None:
    """Make sure the pages measured are really 100 features (else the figure would flatter us)."""
    sizes = [len(httpx.get(base + p, timeout=30).json()["features"]) for p in paths[:20]]
    print(f"  (features per page, first 20 boxes: min {min(sizes)}, median {statistics.median(sizes)})")


async def locate_db_time(url: str, pts: np.ndarray, repeat: int = 3) -> float:
    conn = await asyncpg.connect(url)
    sql = locate_point_sql()
    for x, y in pts[:20]:
        await conn.fetchval(sql, float(x), float(y), 2000.0)
    timings = []
    for _ in range(repeat):
        for x, y in pts:
            started = time.perf_counter()
            await conn.fetchval(sql, float(x), float(y), 2000.0)
            timings.append(time.perf_counter() - started)
    await conn.close()
    return statistics.median(timings) * 1000


def bench_items_and_locate(url: str, parcels) -> None:
    lapis_items = bbox_paths(parcels, "parcels")
    tipg_items = bbox_paths(parcels, "public.parcels")
    pts = points()
    lapis_locate = [f"/locate?lon={x:.6f}&lat={y:.6f}" for x, y in pts]
    tipg_locate = [f"/collections/public.zones/items?filter-lang=cql2-text"
                   f"&filter=S_INTERSECTS(geom,POINT({x:.6f}%20{y:.6f}))" for x, y in pts]
    with lapis_server(url) as lapis, tipg_server(url) as tipg:
        check_full_pages(lapis, lapis_items)
        for base, paths in ((lapis, lapis_items), (tipg, tipg_items), (lapis, lapis_locate), (tipg, tipg_locate)):
            measure(base, paths, seconds=2, connections=2)  # warm up: pools, statement caches, page cache
        print(f"\nitems: 100-feature bbox pages on {PARCELS:,} parcels ({SECONDS} s, {CONNECTIONS} connections)")
        t_items = measure(tipg, tipg_items, seconds=SECONDS, connections=CONNECTIONS)
        l_items = measure(lapis, lapis_items, seconds=SECONDS, connections=CONNECTIONS)
        line("tipg", t_items)
        line("LAPIS", l_items, t_items)

        print("\n/locate: unloaded (1 connection)")
        t_one = measure(tipg, tipg_locate, seconds=SECONDS, connections=1)
        l_one = measure(lapis, lapis_locate, seconds=SECONDS, connections=1)
        line("tipg zones?filter=S_INTERSECTS(point)", t_one)
        line("LAPIS /locate", l_one, t_one)
        print(f"\n/locate: loaded ({CONNECTIONS} connections)")
        t_many = measure(tipg, tipg_locate, seconds=SECONDS, connections=CONNECTIONS)
        l_many = measure(lapis, lapis_locate, seconds=SECONDS, connections=CONNECTIONS)
        line("tipg zones?filter=S_INTERSECTS(point)", t_many)
        line("LAPIS /locate", l_many, t_many)
    db_ms = asyncio.run(locate_db_time(url, pts))
    print(f"  LAPIS /locate SQL alone (asyncpg, 1 connection): median {db_ms:.2f} ms per point")
    print("\ntargets: items ≥ 2× tipg rps; /locate p50 ≤ 5 ms unloaded and ≥ 2× tipg rps")
    print(f"  items {ratio(l_items.requests_per_s, t_items.requests_per_s)}; /locate p50 {l_one.p50_ms:.2f} ms, "
          f"loaded rps {ratio(l_many.requests_per_s, t_many.requests_per_s)}")


async def classify_split(url: str, path: Path) -> Timings:
    """The same classify code in-process, timing reading, loading and joining apart."""
    timings = Timings()
    data = from_file(path, CLASSIFY + 1)
    conn = await asyncpg.connect(url)
    size = 0
    async for chunk in classify_stream(conn, data, "geojson", timings):
        size += len(chunk)
    await conn.close()
    timings.extra["bytes"] = size
    return timings


def classify_http(base: str, path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    with path.open("rb") as upload, httpx.stream("POST", f"{base}/classify", files={"file": (path.name, upload)},
                                                 timeout=600) as response:
        received = sum(len(chunk) for chunk in response.iter_bytes())
        assert response.status_code == 200, response.read()
    return time.perf_counter() - started, received


def ogr2ogr_and_join(url: str, path: Path) -> tuple[float, float, int]:
    started = time.perf_counter()
    subprocess.run(["ogr2ogr", "-f", "PostgreSQL", f"PG:{pg_conninfo(url)}", str(path), "-nln", "ref_parcels",
                    "-lco", "GEOMETRY_NAME=geom", "-lco", "FID=fid", "-nlt", "PROMOTE_TO_MULTI", "-overwrite"],
                   check=True, capture_output=True)
    ogr_seconds = time.perf_counter() - started
    with psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute(RAW_JOIN_SQL)
        join_seconds = time.perf_counter() - started
        classified = conn.execute("SELECT count(*) FROM raw_result").fetchone()[0]
        conn.execute("DROP TABLE ref_parcels")
    return ogr_seconds, join_seconds, classified


def bench_classify(url: str, tmp: Path, rounds: int = 3) -> None:
    path = tmp / "parcels.gpkg"
    synthetic_parcels(CLASSIFY, seed=99)[["code", "land_use", "geometry"]].to_file(path, driver="GPKG")
    print(f"\n/classify: {CLASSIFY:,} parcels as a GeoPackage ({path.stat().st_size / 1e6:.1f} MB); "
          f"median of {rounds} alternating rounds")
    lapis_times, ogr_times, join_times = [], [], []
    with lapis_server(url) as lapis:
        # warm up like the other servers here: first GDAL use, statement caches (a 10-parcel upload)
        small = tmp / "warm.gpkg"
        synthetic_parcels(10, seed=1)[["code", "geometry"]].to_file(small, driver="GPKG")
        classify_http(lapis, small)
        for _ in range(rounds):
            seconds, received = classify_http(lapis, path)
            lapis_times.append(seconds)
            ogr_seconds, join_seconds, classified = ogr2ogr_and_join(url, path)
            ogr_times.append(ogr_seconds)
            join_times.append(join_seconds)
    split = asyncio.run(classify_split(url, path))
    http_seconds = statistics.median(lapis_times)
    ogr_seconds, join_seconds = statistics.median(ogr_times), statistics.median(join_times)
    reference = ogr_seconds + join_seconds
    print(f"  LAPIS POST /classify end to end (HTTP, GeoJSON out, {received / 1e6:.1f} MB): {http_seconds:6.2f} s"
          f"   {ratio(http_seconds, reference)} of ogr2ogr + SQL (target ≤ 1.5×)"
          f"   [rounds: {', '.join(f'{t:.2f}' for t in lapis_times)} s]")
    print(f"    in-process split: read {split.read:.2f} s, load (COPY + index) {split.load:.2f} s, "
          f"join (first rows) {split.join:.2f} s, stream the rest {split.stream:.2f} s, {split.rows:,} features")
    print(f"  reference: ogr2ogr load {ogr_seconds:6.2f} s + raw SQL join {join_seconds:6.2f} s = {reference:6.2f} s"
          f"  ({classified:,} parcels classified)"
          f"   [rounds: {', '.join(f'{a:.2f}+{b:.2f}' for a, b in zip(ogr_times, join_times, strict=True))} s]")


def pg_conninfo(url: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    parts = conninfo_to_dict(url)
    return " ".join(f"{k}={v}" for k, v in parts.items() if k in ("host", "port", "dbname", "user", "password"))


def main() -> None:
    print(f"tipg {tipg_version()}; LAPIS and tipg each 1 uvicorn worker; PostgreSQL on the same 2-core machine")
    with tempfile.TemporaryDirectory(prefix="lapis-bench-") as tmp_name:
        tmp = Path(tmp_name)
        cluster, url, parcels = setup(tmp)
        try:
            if "items" in PARTS:
                bench_items_and_locate(url, parcels)
            if "classify" in PARTS:
                bench_classify(url, tmp)
        finally:
            cluster.destroy()


if __name__ == "__main__":
    main()
