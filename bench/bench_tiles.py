"""Tile throughput: LAPIS vs tipg on the same database in the same run, and the raw database time as the limit.

    python -m bench tiles            (env: BENCH_PARCELS=200000, BENCH_SECONDS=10, BENCH_CONNECTIONS=8)

A throwaway PostGIS cluster gets the plan plus synthetic parcels. A fixed list of ~200 tiles at z8–z14 over the
province (seeded, parcel-weighted) is requested with wrk:
  * per-collection `parcels` tiles — LAPIS uncached (LAPIS_TILE_CACHE=off) and cached, tipg (its defaults,
    asked for the same four attributes LAPIS serves: code, name_vi, land_use, area_m2);
  * LAPIS keeping every feature (LAPIS_TILE_MIN_FEATURE_PX=0: no sub-pixel drop), for a like-for-like look,
    and dropping features under 1 display pixel instead of 2 (the generalisation lever);
  * the composite plan tile (LAPIS only; tipg has none), uncached and cached;
  * the raw database: LAPIS's tile SQL for the same tiles on 2 connections, no HTTP (the limit), and tipg's SQL
    shape (per-row ST_Transform, no generalisation) for reference.
Each line prints tiles/s, p50/p99 and the ratio to tipg measured in this run.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psycopg

from bench.lapis_ref import lapis_server
from bench.load import LoadResult, measure, ratio
from bench.synthetic import load_parcels, synthetic_parcels
from bench.tipg_ref import tipg_server, tipg_version
from spatial import migrate
from spatial.embedded import EmbeddedCluster
from spatial.seed import seed
from spatial.settings import PROJECT_ROOT
from spatial.tiles.grid import Tile, lonlat_to_tile
from spatial.tiles.layers import TILE_LAYERS, generalisation

PARCELS = int(os.environ.get("BENCH_PARCELS", "200000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
PROPERTIES = "code,name_vi,land_use,area_m2"
MAX_FEATURES = 10_000  # tipg's TIPG_MAX_FEATURES_PER_TILE default, and LAPIS_TILE_MAX_FEATURES's

# tipg's tile query shape: reproject every row, no generalisation, clip in ST_AsMVTGeom (tipg/collections.py).
TIPG_SHAPE_SQL = """
WITH b AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS env)
SELECT ST_AsMVT(t, 'default', 4096, 'geom') FROM (
    SELECT code, name_vi, land_use, area_m2,
           ST_AsMVTGeom(ST_Transform(geom, 3857), b.env, 4096, 256, true) AS geom
    FROM parcels, b
    WHERE ST_Intersects(geom, ST_Transform(b.env, 4326))
    LIMIT 10000
) AS t
"""


def tile_list(parcels, n: int = 203, seed: int = 4) -> list[Tile]:
    """~200 distinct tiles, z8–z14 (up to 29 a zoom), each holding parcels; seeded, so the list is fixed."""
    rng = np.random.default_rng(seed)
    bounds = parcels.geometry.bounds
    lon = ((bounds.minx + bounds.maxx) / 2).to_numpy()
    lat = ((bounds.miny + bounds.maxy) / 2).to_numpy()
    by_zoom = {z: sorted({lonlat_to_tile(lon[i], lat[i], z) for i in rng.choice(len(lon), 4000, replace=False)})
               for z in range(8, 15)}
    quota = {z: min(n // 7, len(c)) for z, c in by_zoom.items()}
    while sum(quota.values()) < n:  # z8–z11 hold few tiles over one province: top up the high zooms
        for z in (12, 13, 14):
            quota[z] = min(quota[z] + 1, len(by_zoom[z]))
    tiles: list[Tile] = []
    for z, candidates in by_zoom.items():
        picks = rng.choice(len(candidates), quota[z], replace=False)
        tiles += [candidates[i] for i in sorted(picks)]
    return tiles


def db_time(url: str, sql: str, params: list[dict], connections: int = 2) -> tuple[float, float]:
    """(tiles/s on `connections` connections, median ms per tile) running `sql` once per tile."""
    timings: list[float] = []
    lock = threading.Lock()
    work = list(params)

    def worker() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET jit = off")
            conn.execute("SET plan_cache_mode = force_custom_plan")  # as LAPIS's tile pool
            conn.execute("SET max_parallel_workers_per_gather = 0")
            conn.execute(sql, work[0], prepare=True)  # plan once, as a server's prepared statement
            while True:
                with lock:
                    if not work:
                        return
                    p = work.pop()
                started = time.perf_counter()
                conn.execute(sql, p, prepare=True).fetchone()
                with lock:
                    timings.append(time.perf_counter() - started)

    for _ in range(2):  # warm the buffer cache, then measure
        work = list(params)
        timings.clear()
        threads = [threading.Thread(target=worker) for _ in range(connections)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
    return len(params) / elapsed, statistics.median(timings) * 1000


def lapis_params(tiles: list[Tile], min_px: float = 2.0, cap: int = MAX_FEATURES) -> list[dict]:
    out = []
    for t in tiles:
        tol, size = generalisation(t, min_px)
        out.append({"z": t.z, "x": t.x, "y": t.y, "tol": tol, "size": size, "cap": cap})
    return out


def lapis_sql(layer: str) -> str:
    sql = TILE_LAYERS[layer].sql
    for i, name in enumerate(("z", "x", "y", "tol", "size", "cap"), start=1):
        sql = sql.replace(f"${i}", f"%({name})s")
    return sql


def line(label: str, result: LoadResult, reference: float | None) -> None:
    suffix = f"  {ratio(result.requests_per_s, reference)} tipg" if reference else ""
    print(f"  {label:<44} {result.row()}{suffix}", flush=True)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="lapis-bench-") as tmp:
        cluster = EmbeddedCluster(Path(tmp) / ".data", "lapis_bench", throwaway=True)
        cluster.start()
        try:
            run(cluster.status().url)
        finally:
            cluster.destroy()


def run(url: str) -> None:
    print(f"tiles benchmark: {PARCELS} synthetic parcels, wrk {SECONDS}s × {CONNECTIONS} connections, "
          f"tipg {tipg_version()}", flush=True)
    migrate.upgrade(url)
    seed(url, PROJECT_ROOT / "data" / "geojson")
    parcels = synthetic_parcels(PARCELS)
    load_parcels(url, parcels)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    tiles = tile_list(parcels)
    print(f"{len(tiles)} tiles at z8–z14", flush=True)
    ours = [f"/collections/parcels/tiles/WebMercatorQuad/{t.z}/{t.y}/{t.x}" for t in tiles]
    composite = [f"/tiles/WebMercatorQuad/{t.z}/{t.y}/{t.x}" for t in tiles]
    theirs = [f"/collections/public.parcels/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}?properties={PROPERTIES}"
              for t in tiles]
    gz = {"Accept-Encoding": "gzip"}

    print("\nraw database (no HTTP), 2 connections:", flush=True)
    db_rate, db_ms = db_time(url, lapis_sql("parcels"), lapis_params(tiles))
    print(f"  LAPIS tile SQL (stored 3857, generalised)    {db_rate:9.1f} tiles/s  median {db_ms:6.2f} ms")
    db_all_rate, db_all_ms = db_time(url, lapis_sql("parcels"), lapis_params(tiles, 0.0))
    print(f"  LAPIS tile SQL, every feature kept          {db_all_rate:9.1f} tiles/s  median {db_all_ms:6.2f} ms")
    tipg_db_rate, tipg_db_ms = db_time(url, TIPG_SHAPE_SQL, [{"z": t.z, "x": t.x, "y": t.y} for t in tiles])
    print(f"  tipg's SQL shape (per-row ST_Transform)     {tipg_db_rate:9.1f} tiles/s  median {tipg_db_ms:6.2f} ms")

    with tipg_server(url) as base:
        measure(base, theirs, seconds=2, connections=CONNECTIONS)
        tipg = measure(base, theirs, seconds=SECONDS, connections=CONNECTIONS)
    print("\nper-collection parcels tiles over HTTP:", flush=True)
    line("tipg (reference)", tipg, None)
    ref = tipg.requests_per_s

    with lapis_server(url, extra_env={"LAPIS_TILE_CACHE": "off"}) as base:
        measure(base, ours, seconds=2, connections=CONNECTIONS)
        uncached = measure(base, ours, seconds=SECONDS, connections=CONNECTIONS)
        composite_uncached = measure(base, composite, seconds=SECONDS, connections=CONNECTIONS)
    line("LAPIS uncached", uncached, ref)
    with lapis_server(url, extra_env={"LAPIS_TILE_CACHE": "off", "LAPIS_TILE_MIN_FEATURE_PX": "0"}) as base:
        measure(base, ours, seconds=2, connections=CONNECTIONS)
        keep_all = measure(base, ours, seconds=SECONDS, connections=CONNECTIONS)
    line("LAPIS uncached, every feature kept", keep_all, ref)
    with lapis_server(url, extra_env={"LAPIS_TILE_CACHE": "off", "LAPIS_TILE_MIN_FEATURE_PX": "1"}) as base:
        measure(base, ours, seconds=2, connections=CONNECTIONS)
        coarser = measure(base, ours, seconds=SECONDS, connections=CONNECTIONS)
    line("LAPIS uncached, drop under 1 px (finer)", coarser, ref)
    with lapis_server(url, extra_env={"LAPIS_TILE_CACHE": "on"}) as base:
        measure(base, ours + composite, seconds=3, connections=CONNECTIONS, headers=gz)  # fill the cache
        cached = measure(base, ours, seconds=SECONDS, connections=CONNECTIONS, headers=gz)
        composite_cached = measure(base, composite, seconds=SECONDS, connections=CONNECTIONS, headers=gz)
    line("LAPIS cached (gzip)", cached, ref)

    overhead = db_rate / uncached.requests_per_s - 1
    print(f"\n  LAPIS uncached vs its own SQL in the database: server adds {overhead * 100:.0f} % "
          f"(target ≤ 30 %); uncached {ratio(uncached.requests_per_s, ref)} tipg (target ≥ 1.5×); "
          f"cached {ratio(cached.requests_per_s, ref)} tipg (target ≥ 20×)")
    print("\ncomposite plan tile (every layer; tipg has no equivalent):", flush=True)
    line("LAPIS composite uncached", composite_uncached, None)
    line("LAPIS composite cached (gzip)", composite_cached, None)
