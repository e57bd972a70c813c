"""Tile throughput: LAPIS vs tipg on the same database in the same run, and the raw database time as the limit.

    python -m bench tiles            (env: BENCH_PARCELS=200000, BENCH_SECONDS=10, BENCH_CONNECTIONS=8,
                                      BENCH_ROUNDS=2)

A throwaway PostGIS cluster gets the plan plus synthetic parcels. A fixed list of ~200 tiles at z8–z14 over the
province (seeded, parcel-weighted) is requested with wrk (the slowest allowed answer is 30 s, so a slow tile is
latency, not an error):
  * per-collection `parcels` tiles, tipg (its defaults: at most 10,000 features a tile, every feature, asked for
    the four attributes LAPIS serves: code, name_vi, land_use, area_m2) against LAPIS uncached configured to serve
    the same — every feature (LAPIS_TILE_MIN_FEATURE_PX=0), the same cap keeping the same features
    (LAPIS_TILE_MAX_FEATURES=10000, LAPIS_TILE_CAP_ORDER=id: the first by id, as tipg), the same attributes: the
    headline comparison;
  * LAPIS uncached with its default generalisation (features under 2 display pixels dropped below z13), and cached;
  * what each server actually sends: the densest listed tile of each zoom, decoded (features, size, attributes);
  * the composite plan tile (LAPIS only; tipg has none), uncached and cached;
  * the raw database: LAPIS's tile SQL for the same tiles with pgbench (a C client; random listed tile per
    transaction, bound parameters, the tile's length returned so no hex-encoding of bytea skews it) on 2 and on 8
    connections — in both configurations, the limit the server's overhead is measured against — and tipg's SQL
    shape for reference;
  * the CPU (cores) the server, PostgreSQL and wrk each used during every measurement: all share the 2 cores.
Each line prints tiles/s, p50/p99 and the ratio to tipg measured in this run.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import mapbox_vector_tile
import numpy as np
import psycopg

from bench.cpu import CpuUse, cpu_use
from bench.http_load import LoadResult, measure, ratio
from bench.lapis_ref import lapis_server
from bench.tipg_ref import tipg_server, tipg_version
from spatial import migrate
from spatial.embedded import EmbeddedCluster, find_bindir
from spatial.seed import seed
from spatial.settings import PROJECT_ROOT
from spatial.synthetic import load_parcels, synthetic_parcels
from spatial.tiles.grid import Tile, lonlat_to_tile
from spatial.tiles.layers import TILE_LAYERS, generalisation

PARCELS = int(os.environ.get("BENCH_PARCELS", "200000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
PROPERTIES = "code,name_vi,land_use,area_m2"
MAX_FEATURES = 10_000  # tipg's TIPG_MAX_FEATURES_PER_TILE default, and LAPIS_TILE_MAX_FEATURES's

# tipg's tile query (tipg/collections.py, 1.x): reproject every row, no generalisation, intersect the tile itself
# (no margin) in the table's CRS, first 10,000 features by id, MVT buffer 256.
TIPG_SHAPE_SQL = """
WITH b AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS env)
SELECT ST_AsMVT(t, 'default', 4096, 'geom') FROM (
    SELECT code, name_vi, land_use, area_m2,
           ST_AsMVTGeom(ST_Transform(geom, 3857), b.env, 4096, 256, true) AS geom
    FROM parcels, b
    WHERE ST_Intersects(geom, ST_Transform(b.env, 4326))
    ORDER BY id
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


def pgbench_time(url: str, sql: str, params: list[dict], connections: int) -> tuple[float, float]:
    """(tiles/s, mean ms per tile) from pgbench — a C client, so the reference is the database, not a Python
    client: each transaction picks a listed tile at random and runs `sql` for it with bound parameters
    (-M prepared), on `connections` connections for SECONDS, after a short warm-up."""
    names = list(params[0])
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_tile_params")
        conn.execute(f"CREATE TABLE bench_tile_params (i int PRIMARY KEY, {', '.join(f'{n} float8' for n in names)})")
        with conn.cursor().copy(f"COPY bench_tile_params (i, {', '.join(names)}) FROM STDIN") as copy:
            for i, p in enumerate(params):
                copy.write_row([i, *(p[n] for n in names)])
    body = sql
    for n in names:
        body = body.replace(f"%({n})s", f":{n}")
    script = (f"\\set i random(0, {len(params) - 1})\n"
              f"SELECT {', '.join(names)} FROM bench_tile_params WHERE i = :i \\gset\n"
              f"SELECT length(({' '.join(body.split())}))::int;\n")
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as f:
        f.write(script)
        f.flush()
        parts = urlsplit(url)
        env = {**os.environ, "PGOPTIONS": "-c jit=off -c plan_cache_mode=force_custom_plan "
                                          "-c max_parallel_workers_per_gather=0"}
        base = [str(find_bindir() / "pgbench"), "-n", "-M", "prepared", "-h", parts.hostname, "-p", str(parts.port),
                "-U", parts.username, "-c", str(connections), "-j", str(min(connections, 2)), "-f", f.name,
                parts.path.lstrip("/")]
        subprocess.run([*base, "-T", "2"], env=env, capture_output=True, text=True, check=True)
        out = subprocess.run([*base, "-T", str(SECONDS)], env=env, capture_output=True, text=True, check=True).stdout
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
    latency = float(re.search(r"latency average = ([\d.]+) ms", out).group(1))
    return tps, latency


def lapis_params(tiles: list[Tile], min_px: float = 2.0, cap: int = MAX_FEATURES, largest_first: bool = True
                 ) -> list[dict]:
    out = []
    for t in tiles:
        tol, size = generalisation(t, min_px)
        out.append({"z": t.z, "x": t.x, "y": t.y, "tol": tol, "size": size, "cap": cap,
                    "largest_first": int(largest_first)})  # 1/0: pgbench's parameter table is float8
    return out


def lapis_sql(layer: str) -> str:
    sql = TILE_LAYERS[layer].sql
    for i, name in enumerate(("z", "x", "y", "tol", "size", "cap", "largest_first"), start=1):
        sql = sql.replace(f"${i}", f"%({name})s")
    return sql


def line(label: str, result: LoadResult, reference: float | None, cpu: CpuUse | None = None) -> None:
    suffix = f"  {ratio(result.requests_per_s, reference)} tipg" if reference else ""
    print(f"  {label:<40} {result.row()}{suffix}", flush=True)
    if cpu is not None:
        print(f"  {'':<40} {cpu.row(SECONDS)}", flush=True)


def load(base: str, paths: list[str], db_port: int, *, headers: dict[str, str] | None = None,
         warm: int = 2) -> tuple[LoadResult, CpuUse]:
    """Warm up, then measure with wrk, recording the CPU each side used during the measurement."""
    measure(base, paths, seconds=warm, connections=CONNECTIONS, headers=headers)
    with cpu_use(db_port, urlsplit(base).port) as cpu:
        result = measure(base, paths, seconds=SECONDS, connections=CONNECTIONS, headers=headers)
    return result, cpu


def fetch(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"Accept-Encoding": "identity"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()


def content(body: bytes) -> tuple[int, tuple[str, ...]]:
    """(feature count, attribute names) of a one-layer MVT."""
    layers = mapbox_vector_tile.decode(body) if body else {}
    features = [f for layer in layers.values() for f in layer["features"]]
    return len(features), tuple(sorted({k for f in features for k in f["properties"]}))


def compare_content(tiles: list[Tile], sources: dict[str, tuple[str, Callable[[Tile], str]]]) -> None:
    """Decode the densest listed tile of each zoom from every server: features sent and attributes."""
    print("\nwhat each server sends (densest listed tile per zoom; features / KiB):", flush=True)
    names = list(sources)
    print(f"  {'tile':<16}" + "".join(f"{name:>24}" for name in names))
    attributes: dict[str, set[tuple[str, ...]]] = {name: set() for name in names}
    for z in sorted({t.z for t in tiles}):
        tile = max((t for t in tiles if t.z == z), key=lambda t: DENSITY.get(t, 0))
        cells = []
        for name in names:
            base, path = sources[name]
            body = fetch(base + path(tile))
            count, keys = content(body)
            if count:
                attributes[name].add(keys)
            cells.append(f"{count:>7} / {len(body) / 1024:7.1f}")
        print(f"  {f'{tile.z}/{tile.x}/{tile.y}':<16}" + "".join(f"{c:>24}" for c in cells), flush=True)
    for name in names:
        print(f"  attributes, {name}: {' | '.join(', '.join(k) for k in sorted(attributes[name]))}")


DENSITY: dict[Tile, int] = {}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="lapis-bench-") as tmp:
        cluster = EmbeddedCluster(Path(tmp) / ".data", "lapis_bench", throwaway=True)
        cluster.start()
        try:
            run(cluster.status().url)
        finally:
            cluster.destroy()


def run(url: str) -> None:
    print(f"tiles benchmark: {PARCELS} synthetic parcels, wrk {SECONDS}s × {CONNECTIONS} connections (1 thread), "
          f"tipg {tipg_version()}; {os.cpu_count()} cores shared, unpinned, by PostgreSQL, the server and wrk",
          flush=True)
    migrate.upgrade(url)
    seed(url, PROJECT_ROOT / "data" / "geojson")
    parcels = synthetic_parcels(PARCELS)
    load_parcels(url, parcels)
    db_port = urlsplit(url).port
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        tiles = tile_list(parcels)
        for t in tiles:
            DENSITY[t] = conn.execute("SELECT count(*) FROM parcels WHERE geom_3857 && ST_TileEnvelope(%s, %s, %s)",
                                      (t.z, t.x, t.y)).fetchone()[0]
    print(f"{len(tiles)} tiles at z8–z14; parcels per tile envelope (median by zoom): "
          + ", ".join(f"z{z} {statistics.median(DENSITY[t] for t in tiles if t.z == z):.0f}"
                      for z in sorted({t.z for t in tiles})), flush=True)
    ours = [f"/collections/parcels/tiles/WebMercatorQuad/{t.z}/{t.y}/{t.x}" for t in tiles]
    composite = [f"/tiles/WebMercatorQuad/{t.z}/{t.y}/{t.x}" for t in tiles]
    theirs = [f"/collections/public.parcels/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}?properties={PROPERTIES}"
              for t in tiles]
    gz = {"Accept-Encoding": "gzip"}
    fair_env = {"LAPIS_TILE_CACHE": "off", "LAPIS_TILE_MIN_FEATURE_PX": "0",
                "LAPIS_TILE_MAX_FEATURES": str(MAX_FEATURES), "LAPIS_TILE_CAP_ORDER": "id"}
    default_env = {"LAPIS_TILE_CACHE": "off"}

    print(f"\nraw database (no HTTP; pgbench, a C client): the same tiles and SQL, bound parameters, {SECONDS} s on 2 "
          f"and on {CONNECTIONS} connections (as the servers' pools run them):", flush=True)
    tipg_params = [{"z": t.z, "x": t.x, "y": t.y} for t in tiles]
    queries = {"fair": ("LAPIS SQL, like tipg (every feature, cap)", lapis_sql("parcels"),
                        lapis_params(tiles, 0.0, largest_first=False)),
               "default": ("LAPIS SQL, default (< 2 px dropped < z13)", lapis_sql("parcels"), lapis_params(tiles)),
               "tipg": ("tipg's SQL shape (per-row ST_Transform)", TIPG_SHAPE_SQL, tipg_params)}
    for label, sql, params in queries.values():
        two, two_ms = pgbench_time(url, sql, params, 2)
        many, many_ms = pgbench_time(url, sql, params, CONNECTIONS)
        print(f"  {label:<42} {two:8.1f} tiles/s (mean {two_ms:6.2f} ms) on 2, {many:8.1f} on {CONNECTIONS}",
              flush=True)

    with tipg_server(url) as tipg_base, lapis_server(url, extra_env=fair_env) as fair_base, \
            lapis_server(url, extra_env=default_env) as default_base:
        compare_content(tiles, {
            "tipg": (tipg_base, lambda t: theirs[tiles.index(t)]),
            "LAPIS like tipg": (fair_base, lambda t: ours[tiles.index(t)]),
            "LAPIS default": (default_base, lambda t: ours[tiles.index(t)]),
        })

    print(f"\nper-collection parcels tiles over HTTP (1 server process each; {ROUNDS} rounds, taken in turn so "
          "load from anything else on the machine falls on every server alike):", flush=True)
    runs: dict[str, list[LoadResult]] = {"tipg": [], "fair": [], "default": []}
    raw: dict[str, list[float]] = {"tipg": [], "fair": [], "default": []}
    with tipg_server(url) as tipg_base, lapis_server(url, extra_env=fair_env) as fair_base, \
            lapis_server(url, extra_env=default_env) as default_base:
        for n in range(1, ROUNDS + 1):
            for key, label, base, paths in (("tipg", "tipg (reference)", tipg_base, theirs),
                                             ("fair", "LAPIS uncached, like tipg", fair_base, ours),
                                             ("default", "LAPIS uncached, default generalisation", default_base,
                                              ours)):
                result, cpu = load(base, paths, db_port)
                runs[key].append(result)
                line(f"{label} #{n}", result, None if key == "tipg" else runs["tipg"][-1].requests_per_s, cpu)
                _label, sql, params = queries[key]  # the same SQL straight after, so both meet the same load
                raw[key].append(pgbench_time(url, sql, params, CONNECTIONS)[0])
                adds = (raw[key][-1] / result.requests_per_s - 1) * 100
                print(f"  {'':<40} its SQL in the database right after: {raw[key][-1]:7.1f} tiles/s on "
                      f"{CONNECTIONS} connections (server adds {adds:.0f} %)", flush=True)
        composite_uncached, _ = load(default_base, composite, db_port)
    tipg, fair, default = (statistics.mean(r.requests_per_s for r in runs[k]) for k in ("tipg", "fair", "default"))
    tipg_db, db_fair, db_default = (statistics.mean(raw[k]) for k in ("tipg", "fair", "default"))
    ref = tipg
    print(f"  mean of the rounds: tipg {tipg:.1f}, LAPIS like tipg {fair:.1f} ({ratio(fair, ref)}), "
          f"LAPIS default {default:.1f} ({ratio(default, ref)}) tiles/s; in the database: tipg's SQL {tipg_db:.1f}, "
          f"LAPIS like tipg {db_fair:.1f}, LAPIS default {db_default:.1f}")
    with lapis_server(url, extra_env={"LAPIS_TILE_CACHE": "on"}) as base:
        measure(base, ours + composite, seconds=3, connections=CONNECTIONS, headers=gz)  # fill the cache
        cached, cached_cpu = load(base, ours, db_port, headers=gz, warm=1)
        composite_cached, _ = load(base, composite, db_port, headers=gz, warm=1)
    line("LAPIS cached (gzip)", cached, ref, cached_cpu)

    print("\ncomposite plan tile (every layer; tipg has no equivalent):", flush=True)
    line("LAPIS composite uncached", composite_uncached, None)
    line("LAPIS composite cached (gzip)", composite_cached, None)

    print("\nsummary:")
    print(f"  uncached, like tipg: {ratio(fair, ref)} tipg (target ≥ 1.5×); server adds "
          f"{(db_fair / fair - 1) * 100:.0f} % over the same SQL in the database (target ≤ 30 %)")
    print(f"  uncached, default generalisation: {ratio(default, ref)} tipg; server adds "
          f"{(db_default / default - 1) * 100:.0f} % over the same SQL in the database")
    print(f"  cached: {ratio(cached.requests_per_s, ref)} tipg (target ≥ 20×)")
    print(f"  tipg adds {(tipg_db / ref - 1) * 100:.0f} % over its SQL shape in the database")
    print(f"  (server overhead: the same SQL's rate in the database on {CONNECTIONS} connections, measured right after "
          "each HTTP run, over the server's; means of the rounds)")
