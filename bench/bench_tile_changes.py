"""Exactly the affected tiles (migration 0016): what recording where each write happened costs, and what it saves.

    python -m bench tile_changes     (env: BENCH_PARCELS=200000, BENCH_EDITS=300, BENCH_GRID=20)

A throwaway cluster gets the plan and BENCH_PARCELS synthetic parcels. In one run:
  * writes: BENCH_EDITS one-parcel UPDATE transactions, in blocks of 50, and whole-layer UPDATE statements (every
    parcel, in place), with the parcels' tile triggers (`parcels_version_tiles_*`) enabled and disabled, interleaved;
  * the cache: a TileService with its cache on serves a BENCH_GRID × BENCH_GRID block of z14 parcels tiles and the
    z12 and z10 tiles above them. Then one parcel is moved and every tile is asked for again: how many are rendered
    and how long serving them all takes — against the same after a whole-layer change (`lapis_layer_rewritten`),
    which is what any write did to a layer's tiles while the cache keyed them on the layer's data version.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time

import psycopg

from bench.cluster import seeded_cluster
from bench.toggles import alternating_edits, load_avg, set_triggers
from spatial.pool import Database
from spatial.synthetic import load_parcels, synthetic_parcels
from spatial.tiles.grid import Tile, lonlat_to_tile
from spatial.tiles.service import TileService, tile_layers

PARCELS = int(os.environ.get("BENCH_PARCELS", "200000"))
EDITS = int(os.environ.get("BENCH_EDITS", "300"))
GRID = int(os.environ.get("BENCH_GRID", "20"))


def set_tile_triggers(url: str, state: str) -> None:
    set_triggers(url, "parcels", "parcels_version_tiles", state)


def bench_edits(url: str) -> dict[str, list[float]]:
    with psycopg.connect(url) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM parcels TABLESAMPLE SYSTEM (5) LIMIT %s", (EDITS,))]
    return alternating_edits(url, ids, lambda fid: ("UPDATE parcels SET geom = ST_Translate(geom, 0.00001, 0) "
                                                    "WHERE id = %s", (fid,)),
                             lambda state: set_tile_triggers(url, state))


def bench_bulk(url: str) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {"off": [], "on": []}
    for i, state in enumerate(("off", "on", "on", "off")):
        set_tile_triggers(url, state)
        with psycopg.connect(url) as conn:
            started = time.perf_counter()
            conn.execute("UPDATE parcels SET land_use = %s", (f"B{i}",))
            conn.commit()
            seconds = time.perf_counter() - started
        timings[state].append(seconds)
        print(f"  UPDATE of every parcel {i + 1}: tile triggers {state:<3} {seconds:7.2f} s   (load avg {load_avg()})",
              flush=True)
    set_tile_triggers(url, "on")
    return timings


def grid_tiles(url: str) -> tuple[int, list[Tile]]:
    """A parcel near the middle of the parcels, and the tiles to serve: a GRID × GRID block of z14 tiles round it,
    and the z12 and z10 tiles above them."""
    with psycopg.connect(url) as conn:
        parcel, lon, lat = conn.execute(
            "SELECT id, ST_X(c), ST_Y(c) FROM (SELECT id, ST_Centroid(geom) AS c FROM parcels) s "
            "ORDER BY c <-> (SELECT ST_SetSRID(ST_Centroid(ST_Extent(geom)::geometry), 4326) FROM parcels) "
            "LIMIT 1").fetchone()
    centre = lonlat_to_tile(lon, lat, 14)
    half = GRID // 2
    steps = range(-half, GRID - half)
    z14 = [Tile(14, centre.x + dx, centre.y + dy) for dx in steps for dy in steps]
    above = {Tile(z, t.x >> (14 - z), t.y >> (14 - z)) for t in z14 for z in (12, 10)}
    return parcel, z14 + sorted(above, key=lambda t: (t.z, t.x, t.y))


async def serve_all(service: TileService, tiles: list[Tile]) -> float:
    layers = tile_layers(["parcels"])
    started = time.perf_counter()
    for tile in tiles:
        await service.render(layers, tile)
    return time.perf_counter() - started


def bench_cache(url: str) -> None:
    parcel, tiles = grid_tiles(url)

    async def run() -> None:
        db = Database(url, max_size=2)
        service = TileService(db, cache=True, cache_size=100_000)
        rendered = 0
        original = service._render

        async def counting(*args):  # noqa: ANN002, ANN202 - the service's own signature
            nonlocal rendered
            rendered += 1
            return await original(*args)

        service._render = counting  # type: ignore[method-assign]
        cold = await serve_all(service, tiles)
        warm = await serve_all(service, tiles)
        print(f"  {len(tiles)} tiles: all rendered {cold:6.2f} s; from the cache {warm * 1000:6.1f} ms", flush=True)
        results = {}
        for label, change in (
                ("one parcel moved", "UPDATE parcels SET geom = ST_Translate(geom, 0.0001, 0) WHERE id = %s"),
                ("whole layer changed (the old keys)", "SELECT lapis_layer_rewritten('public.parcels'::regclass)")):
            await serve_all(service, tiles)  # everything cached again
            with psycopg.connect(url) as conn:
                conn.execute(change, (parcel,) if "%s" in change else ())
                conn.commit()
            rendered = 0
            seconds = await serve_all(service, tiles)
            results[label] = (rendered, seconds)
            print(f"  after {label:<36} {rendered:5d} of {len(tiles)} tiles rendered again, all served in "
                  f"{seconds * 1000:8.1f} ms", flush=True)
        one, whole = results["one parcel moved"], results["whole layer changed (the old keys)"]
        print(f"  an edit now re-renders {one[0]} tiles instead of {whole[0]}; serving the block after it takes "
              f"{one[1] / whole[1]:.3f}× the time it took when every tile of the layer was re-keyed")
        await db.close()

    asyncio.run(run())


def main() -> None:
    with seeded_cluster("lapis-bench-tile-changes-") as (_, url, _):
        load_parcels(url, synthetic_parcels(PARCELS, seed=686))
        print(f"{PARCELS:,} parcels; machine: {os.cpu_count()} cores, load avg {load_avg()}", flush=True)

        print(f"\nsingle edits ({EDITS} one-parcel UPDATE transactions moving it, blocks of 50 alternating):",
              flush=True)
        edits = bench_edits(url)
        for state in ("off", "on"):
            print(f"  tile triggers {state:<3} median {statistics.median(edits[state]):6.2f} ms, "
                  f"mean {statistics.fmean(edits[state]):6.2f} ms ({len(edits[state])} edits)")
        on, off = statistics.median(edits["on"]), statistics.median(edits["off"])
        print(f"  on/off (median): {on / off:.2f}× ({on - off:+.2f} ms)")

        print("\nbulk (one UPDATE of every parcel, in place; off, on, on, off):", flush=True)
        bulk = bench_bulk(url)
        on, off = statistics.median(bulk["on"]), statistics.median(bulk["off"])
        print(f"  median: tile triggers on {on:.2f} s, off {off:.2f} s: {on / off:.2f}×")
        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT count(*) FROM tile_changes WHERE layer = 'parcels'").fetchone()[0]
        print(f"  tile_changes holds {rows:,} rows for parcels (a bulk statement records one box)")

        print(f"\nthe tile cache ({GRID}×{GRID} z14 parcels tiles and the z12, z10 tiles above them):", flush=True)
        bench_cache(url)


if __name__ == "__main__":
    main()
