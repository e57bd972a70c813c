"""The feature history's cost (migration 0014), against the same work with history off, in the same run.

    python -m bench history          (env: BENCH_PARCELS=200000, BENCH_SECONDS=8, BENCH_EDITS=300,
                                      BENCH_PARTS=loads,edits,asof)

A throwaway cluster gets the plan and BENCH_PARCELS synthetic parcels; "off" disables the parcels' history triggers
(`ALTER TABLE parcels DISABLE TRIGGER parcels_history_*`: the built-aside load follows them), "on" enables them.
  * loads: `lapis load --mode replace` of the whole layer (built aside: every old parcel recorded deleted, every new
    one inserted), off and on interleaved (off, on, on, off, off, on), and an in-place `--mode upsert` that changes
    every parcel (the statement triggers' UPDATE path: off, on, on, off); the load's own `elapsed_s` from --report;
  * single edits: BENCH_EDITS one-parcel UPDATE transactions, in blocks of 50 alternating off and on;
  * storage and asof, in a copy of the seeded database where history stays on throughout (two replaces, then an
    upsert changing every parcel): bytes per version in `history.parcels` (heap, TOAST and indexes), full versions
    and deletions apart; items (100-feature bbox pages) and parcels tiles (z14, rendered: the tile cache off) over
    HTTP with wrk, the present against `asof=` the instant before the upsert (the history then holds 4 versions
    per parcel, and a bbox finds 3 candidates per feature).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psycopg

from bench.cluster import seeded_cluster
from bench.http_load import LoadResult, measure, ratio
from bench.lapis_ref import lapis_server
from bench.toggles import alternating_edits, load_avg, set_triggers
from spatial.embedded import EmbeddedCluster
from spatial.synthetic import synthetic_parcels
from spatial.tiles.grid import lonlat_to_tile

PARCELS = int(os.environ.get("BENCH_PARCELS", "200000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
EDITS = int(os.environ.get("BENCH_EDITS", "300"))
PARTS = os.environ.get("BENCH_PARTS", "loads,edits,asof").split(",")  # run only some (the asof part on its own)
LOAD_ORDER = ("off", "on", "on", "off", "off", "on")
BOX_DEGREES = 0.03


def set_history(url: str, state: str) -> None:
    set_triggers(url, "parcels", "parcels_history", state)


def lapis_load(url: str, path: Path, work: Path, *extra: str) -> float:
    """`lapis load` as a user runs it; the load's own seconds (its report's elapsed_s: no Python start-up)."""
    report = work / "report.json"
    lapis = [str(Path(sys.executable).with_name("lapis")), "load", str(path), "--layer", "parcels",
             "--report", str(report), *extra]
    subprocess.run(lapis, env={**os.environ, "DATABASE_URL": url}, check=True, capture_output=True)
    return float(json.loads(report.read_text())["elapsed_s"])


def bench_loads(url: str, files: list[Path], work: Path) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"off": [], "on": []}
    for i, state in enumerate(LOAD_ORDER):
        set_history(url, state)
        seconds = lapis_load(url, files[i % 2], work, "--mode", "replace")
        times[state].append(seconds)
        print(f"  replace {i + 1}: history {state:<3} {seconds:7.2f} s   (load avg {load_avg()})", flush=True)
    return times


def bench_upserts(url: str, path: Path, work: Path) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"off": [], "on": []}
    for i, state in enumerate(("off", "on", "on", "off")):
        set_history(url, state)
        seconds = lapis_load(url, path, work, "--mode", "upsert", "--set", f"land_use=UPS{i}")  # every parcel
        times[state].append(seconds)
        print(f"  upsert {i + 1} changing every parcel, in place: history {state:<3} {seconds:7.2f} s   "
              f"(load avg {load_avg()})", flush=True)
    return times


def bench_edits(url: str) -> dict[str, list[float]]:
    rng = np.random.default_rng(7)
    with psycopg.connect(url) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM parcels TABLESAMPLE SYSTEM (5) LIMIT %s", (EDITS,))]
    return alternating_edits(url, ids, lambda fid: ("UPDATE parcels SET name_vi = %s WHERE id = %s",
                                                    (f"Thửa sửa {rng.integers(1e9)}", fid)),
                             lambda state: set_history(url, state))


def storage(url: str) -> None:
    with psycopg.connect(url) as conn:
        kinds = conn.execute("SELECT operation, count(*), avg(pg_column_size(h.*)) FROM history.parcels h "
                             "GROUP BY 1 ORDER BY 1").fetchall()
        heap, toast_and_heap, indexes, total = conn.execute(
            "SELECT pg_relation_size('history.parcels'), pg_table_size('history.parcels'), "
            "pg_indexes_size('history.parcels'), pg_total_relation_size('history.parcels')").fetchone()
        rows, layer = conn.execute("SELECT count(*), pg_total_relation_size('parcels') FROM parcels").fetchone()
    versions = sum(n for _, n, _ in kinds)
    print(f"  history.parcels: {versions:,} versions, {total / 2**20:,.1f} MiB in all (heap {heap / 2**20:,.1f}, "
          f"TOAST {(toast_and_heap - heap) / 2**20:,.1f}, indexes {indexes / 2**20:,.1f})")
    print(f"  {total / versions:,.0f} bytes per version, indexes included; the parcels table itself: "
          f"{layer / rows:,.0f} bytes per parcel ({rows:,} parcels, {layer / 2**20:,.1f} MiB, with its generated "
          "Web-Mercator and tile-grid copies and 8 indexes)")
    for operation, n, size in kinds:
        print(f"    {operation:<7} {n:>10,} rows, {size:6.0f} bytes per row (tuple, before indexes)")


def paths(url: str, asof: str | None) -> tuple[list[str], list[str]]:
    """200 items pages (bbox around random parcels) and 200 z14 parcels tiles, the same ones for every run."""
    with psycopg.connect(url) as conn:
        points = conn.execute("SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) AS c FROM parcels "
                              "ORDER BY hashint8(id) LIMIT 200) s").fetchall()
    suffix = f"&asof={asof}" if asof else ""
    h = BOX_DEGREES / 2
    items = [f"/collections/parcels/items?bbox={x - h:.6f},{y - h:.6f},{x + h:.6f},{y + h:.6f}&limit=100{suffix}"
             for x, y in points]
    tiles = []
    for x, y in points:
        tile = lonlat_to_tile(x, y, 14)
        tiles.append(f"/collections/parcels/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}"
                     + (f"?asof={asof}" if asof else ""))
    return items, tiles


def first_answer(base: str, path: str) -> None:
    """Wait for a new server's first tile: it reads each layer's extent once (a scan of the whole layer, seconds at
    1,000,000 parcels), which is start-up, not what the runs after it measure."""
    started = time.perf_counter()
    with urllib.request.urlopen(base.rstrip("/") + path, timeout=600) as answer:
        answer.read()
    print(f"  (a new server's first tile: {time.perf_counter() - started:.1f} s)", flush=True)


def bench_asof(url: str, instant: str) -> None:
    now_items, now_tiles = paths(url, None)
    then_items, then_tiles = paths(url, instant)
    with psycopg.connect(url) as conn:
        versions = conn.execute("SELECT count(*) FROM history.parcels").fetchone()[0]
    print(f"  asof = {instant} (before the upsert); history.parcels holds {versions:,} versions for "
          f"{PARCELS:,} parcels", flush=True)
    results: dict[str, LoadResult] = {}
    with lapis_server(url, extra_env={"LAPIS_TILE_CACHE": "off"}) as base:
        first_answer(base, now_tiles[0])
        for label, urls in (("items, present", now_items), ("items, asof", then_items),
                            ("tiles z14 rendered, present", now_tiles), ("tiles z14, asof", then_tiles)):
            measure(base, urls, seconds=2, connections=2)  # warm up
            results[label] = measure(base, urls, seconds=SECONDS, connections=4)
            reference = results.get(label.split(",")[0] + ", present")
            extra = "" if reference is None or reference is results[label] else (
                f"   rps {ratio(results[label].requests_per_s, reference.requests_per_s)} the present's, "
                f"p50 {ratio(results[label].p50_ms, reference.p50_ms)}")
            print(f"  {label:<30} {results[label].row()}{extra}", flush=True)
    with lapis_server(url) as base:
        first_answer(base, now_tiles[0])
        measure(base, now_tiles, seconds=2, connections=2)
        cached = measure(base, now_tiles, seconds=SECONDS, connections=4)
        print(f"  {'tiles z14, present, cached':<30} {cached.row()}", flush=True)


def check_asof(url: str, instant: str, expected: list[tuple[str, bytes]]) -> None:
    """The asof instant really shows the layer as it was then: the same codes and geometries (the first few)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT h.code, ST_AsBinary(h.geom) FROM history.parcels h WHERE h.valid_from <= %(t)s "
            "AND h.operation <> 'delete' AND NOT EXISTS (SELECT 1 FROM history.parcels l WHERE l.id = h.id "
            "AND l.version > h.version AND l.valid_from <= %(t)s) ORDER BY h.code LIMIT 5", {"t": instant}).fetchall()
    assert [(c, bytes(g)) for c, g in rows] == expected, "asof does not give the layer as it was"


def asof_database(cluster: EmbeddedCluster, url: str) -> str:
    """A copy of the freshly seeded database for the asof part, where history stays on throughout: in the database
    the on/off loads ran in, an "off" load leaves the features an "on" load inserted undeleted in the history."""
    admin = cluster.url(cluster.status().port, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("CREATE DATABASE lapis_bench_asof TEMPLATE lapis_bench")
    return cluster.url(cluster.status().port, "lapis_bench_asof")


def history_then_changed(url: str, files: list[Path], work: Path) -> tuple[str, list[tuple[str, bytes]]]:
    """Two replaces and an upsert with history on; the instant between the last replace and the upsert, and the
    first parcels as they were then."""
    for path in files:
        lapis_load(url, path, work, "--mode", "replace")
    with psycopg.connect(url) as conn:
        then = [(c, bytes(g)) for c, g in conn.execute(
            "SELECT code, ST_AsBinary(geom) FROM parcels ORDER BY code LIMIT 5").fetchall()]
    instant = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    time.sleep(0.1)
    lapis_load(url, files[0], work, "--mode", "upsert", "--set", "land_use=NEW")  # every parcel changes
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE history.parcels")
        conn.execute("VACUUM ANALYZE parcels")
    return instant, then


def report_loads(url: str, files: list[Path], work: Path) -> None:
    print("\nloads (lapis load --mode replace, the whole layer; built aside):", flush=True)
    lapis_load(url, files[1], work, "--mode", "replace")  # warm-up: the layer full
    times = bench_loads(url, files, work)
    off, on = statistics.median(times["off"]), statistics.median(times["on"])
    print(f"  median: history off {off:.2f} s, on {on:.2f} s: {on / off:.2f}× (best of each "
          f"{min(times['on']) / min(times['off']):.2f}×)")
    upserts = bench_upserts(url, files[1], work)
    print(f"  in place, median: history on {statistics.median(upserts['on']):.2f} s, off "
          f"{statistics.median(upserts['off']):.2f} s: "
          f"{statistics.median(upserts['on']) / statistics.median(upserts['off']):.2f}×")


def report_edits(url: str) -> None:
    print(f"\nsingle edits ({EDITS} one-parcel UPDATE transactions, blocks of 50 alternating):", flush=True)
    edits = bench_edits(url)
    for state in ("off", "on"):
        print(f"  history {state:<3} median {statistics.median(edits[state]):6.2f} ms, "
              f"mean {statistics.fmean(edits[state]):6.2f} ms ({len(edits[state])} edits)")
    print(f"  on/off (median): {statistics.median(edits['on']) / statistics.median(edits['off']):.2f}×")


def report_asof(url: str, files: list[Path], work: Path) -> None:
    print("\nstorage (another database, history on throughout: two replaces and an upsert of every parcel):",
          flush=True)
    instant, then = history_then_changed(url, files, work)
    storage(url)
    print("\nasof against the present (HTTP, `lapis serve`, wrk 4 connections):", flush=True)
    check_asof(url, instant, then)
    bench_asof(url, instant)


def main() -> None:
    unknown = set(PARTS) - {"loads", "edits", "asof"}
    assert not unknown, f"BENCH_PARTS: unknown {', '.join(sorted(unknown))} (loads, edits, asof)"
    with seeded_cluster("lapis-bench-history-") as (cluster, url, work):
        asof_url = asof_database(cluster, url)
        files = []
        for i, seed_value in enumerate((686, 687)):
            files.append(work / f"parcels{i}.shp")
            synthetic_parcels(PARCELS, seed=seed_value).to_file(files[-1], engine="pyogrio", use_arrow=True)
        print(f"{PARCELS:,} parcels per load; machine: {os.cpu_count()} cores, load avg {load_avg()}; "
              f"parts: {', '.join(PARTS)}", flush=True)
        if "loads" in PARTS:
            report_loads(url, files, work)
        if "edits" in PARTS:
            report_edits(url)
        if "asof" in PARTS:
            report_asof(asof_url, files, work)


if __name__ == "__main__":
    main()
