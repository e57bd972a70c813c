"""TileService and its parts against the real seeded database: coalesced misses, batched versions."""

from __future__ import annotations

import asyncio

import mapbox_vector_tile
import psycopg
import pytest

from spatial.pool import Database
from spatial.tiles.grid import Tile, TileOutOfRange, lonlat_to_tile, tiles_covering
from spatial.tiles.layers import TILE_LAYERS, generalisation
from spatial.tiles.service import TileService, UnknownTileLayer, tile_layers
from spatial.tiles.versions import VersionReader


def test_grid() -> None:
    t = lonlat_to_tile(106.413, 10.535, 10)
    xmin, ymin, xmax, ymax = t.bounds
    assert xmax - xmin == pytest.approx(t.width) and ymax - ymin == pytest.approx(t.width)
    assert tiles_covering(t.bounds, 10)[0] == t or t in tiles_covering(t.bounds, 10)
    with pytest.raises(TileOutOfRange) as err:
        Tile(2, 4, 0)
    assert err.value.parameter == "tileCol"
    tol, size = generalisation(Tile(5, 0, 0))
    assert tol < size and generalisation(Tile(6, 0, 0))[0] == pytest.approx(tol / 2)


def test_tile_layers_order_and_unknown() -> None:
    assert [layer.id for layer in tile_layers(["projects", "zones"])] == ["projects", "zones"]  # as named
    with pytest.raises(UnknownTileLayer):
        tile_layers(["plans"])


def test_concurrent_misses_render_once(db_url: str) -> None:
    async def run() -> tuple[int, list[bytes]]:
        db = Database(db_url, max_size=4)
        service = TileService(db, cache=True)
        calls = 0
        original = service._render

        async def counting(*args):
            nonlocal calls
            calls += 1
            return await original(*args)

        service._render = counting  # count real renders, still against PostGIS
        tile = lonlat_to_tile(106.413, 10.535, 9)
        layers = tile_layers(None)
        results = await asyncio.gather(*(service.render(layers, tile, composite=True) for _ in range(8)))
        await db.close()
        return calls, [r.data for r in results]

    calls, bodies = asyncio.run(run())
    assert calls == 1 and len(set(bodies)) == 1 and bodies[0]


def test_version_reader_never_returns_a_read_started_before_the_call() -> None:
    async def run() -> list[int]:
        counter = 0

        async def fetch():
            nonlocal counter
            counter += 1
            mine = counter
            await asyncio.sleep(0.01)
            return {"x": mine}

        reader = VersionReader(fetch)
        first = asyncio.create_task(reader.get())
        await asyncio.sleep(0.001)  # the first read is in flight
        later = [asyncio.create_task(reader.get()) for _ in range(5)]
        return [(await first)["x"], *[(await t)["x"] for t in later], counter]

    first, *later, reads = asyncio.run(run())
    assert first == 1 and set(later) == {2} and reads == 2  # 5 late callers share one fresh read


def test_generalisation_drops_subpixel_features(fresh_db_url: str) -> None:
    """A 5 m parcel is in its z16 tile but not in the z8 tile over it."""
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        conn.execute("""INSERT INTO parcels (code, name_vi, geom) VALUES ('P1', 'Thửa 1',
            ST_Multi(ST_MakeEnvelope(106.41300, 10.53500, 106.41305, 10.53505, 4326)))""")

    async def run(z: int) -> dict:
        db = Database(fresh_db_url)
        service = TileService(db, cache=False)
        rendered = await service.render((TILE_LAYERS["parcels"],), lonlat_to_tile(106.41302, 10.53502, z))
        await db.close()
        return mapbox_vector_tile.decode(rendered.data) if rendered.data else {}

    assert [f["properties"]["code"] for f in asyncio.run(run(16))["parcels"]["features"]] == ["P1"]
    assert asyncio.run(run(8)) == {}


def test_feature_cap_keeps_the_largest(fresh_db_url: str) -> None:
    """With max_features=2 a tile over five parcels of growing size holds the two largest, and only those (or,
    with cap_order="id", the first two by id)."""
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        for i in range(1, 6):
            d = 0.0002 * i
            conn.execute("""INSERT INTO parcels (code, name_vi, geom) VALUES (%s, %s,
                ST_Multi(ST_MakeEnvelope(106.413 + %s, 10.535, 106.413 + %s + %s, 10.535 + %s, 4326)))""",
                         (f"S{i}", f"Thửa {i}", 0.001 * i, 0.001 * i, d, d))

    async def run(max_features: int, cap_order: str = "size") -> list[str]:
        db = Database(fresh_db_url)
        service = TileService(db, cache=False, min_feature_px=0, max_features=max_features, cap_order=cap_order)
        rendered = await service.render((TILE_LAYERS["parcels"],), lonlat_to_tile(106.4155, 10.5355, 14))
        await db.close()
        return sorted(f["properties"]["code"] for f in mapbox_vector_tile.decode(rendered.data)["parcels"]["features"])

    assert asyncio.run(run(10_000)) == ["S1", "S2", "S3", "S4", "S5"]
    assert asyncio.run(run(2)) == ["S4", "S5"]
    assert asyncio.run(run(2, cap_order="id")) == ["S1", "S2"]  # the first by id, as tipg keeps


def test_feature_size_is_inlined_and_indexed(db_url: str) -> None:
    """lapis_feature_size() is inlined into queries (no per-row SQL-function call) and still matches its index."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in conn.execute(
            "EXPLAIN (VERBOSE) SELECT id FROM parcels WHERE lapis_feature_size(geom_3857) > 1e9"))
        size = conn.execute("SELECT lapis_feature_size(ST_MakeEnvelope(0, 0, 3, 4, 3857)), "
                            "lapis_feature_size(ST_MakePoint(1, 2))").fetchone()
    assert "lapis_feature_size(" not in plan and "parcels_feature_size_idx" in plan
    assert size == (5.0, float("inf"))


def test_stored_grid_tiles_equal_rendered_ones(fresh_db_url: str) -> None:
    """At the zooms where parcels keep their geometry on the tile grid, a tile holds exactly what rendering
    every parcel with ST_AsMVTGeom gives — the same features, attributes and coordinates — including parcels
    that cross the tile's edge (rendered and clipped) and those that collapse at the zoom (left out)."""
    import geopandas as gpd
    import numpy as np
    import shapely

    from spatial.io.frames import apply_frame
    from spatial.layers import get_layer
    from spatial.tiles.layers import tile_sql

    rng = np.random.default_rng(7)
    n = 3000
    x, y = rng.uniform(106.30, 106.52, n), rng.uniform(10.45, 10.62, n)  # across several z10–z13 tile edges
    half = rng.uniform(0.00003, 0.004, n)  # 7 m to 900 m across: some collapse at z10, some span tile edges
    squares = shapely.box(x - half, y - half * rng.uniform(0.3, 1.5, n), x + half, y + half)
    rotated = [shapely.affinity.rotate(g, a) for g, a in zip(squares, rng.uniform(0, 90, n), strict=True)]
    frame = gpd.GeoDataFrame({"code": [f"G{i}" for i in range(n)], "name_vi": [f"Thửa {i}" for i in range(n)],
                              "area_m2": rng.uniform(10, 1e5, n).round(1)}, geometry=rotated, crs="EPSG:4326")
    layer = get_layer("parcels")
    with psycopg.connect(fresh_db_url) as conn, conn.transaction():
        apply_frame(conn, layer, frame, mode="replace")
    rendered_sql = tile_sql(layer, stored_grid=False)
    compared = crossing = 0
    with psycopg.connect(fresh_db_url) as conn:
        for z in TILE_LAYERS["parcels"].spec.stored_grid_zooms:
            for tile in tiles_covering((11_833_000, 1_175_000, 11_857_000, 1_195_000), z):
                tol, _ = generalisation(tile, 0)
                args = {f"p{i}": v for i, v in enumerate((tile.z, tile.x, tile.y, tol, 0.0, 100_000, True), 1)}
                stored, plain = (conn.execute(_positional(sql), args).fetchone()[0]
                                 for sql in (TILE_LAYERS["parcels"].sql, rendered_sql))
                ours = mapbox_vector_tile.decode(bytes(stored)) if stored else {}
                theirs = mapbox_vector_tile.decode(bytes(plain)) if plain else {}
                assert ours == theirs, tile
                features = theirs.get("parcels", {}).get("features", [])
                compared += len(features)
                crossing += sum(1 for f in features if _leaves_tile(f["geometry"]))
    assert compared > 3000 and crossing > 20  # many features compared, edge-crossing ones among them


def _positional(sql: str) -> str:
    """$1…$6 → psycopg's %(p1)s… (the tile SQL is written for asyncpg)."""
    import re

    return re.sub(r"\$(\d)", r"%(p\1)s", sql)


def _leaves_tile(geometry: dict) -> bool:
    def points(c):
        return [c] if isinstance(c[0], (int, float)) else [p for part in c for p in points(part)]

    return any(not (0 <= px <= 4096 and 0 <= py <= 4096) for px, py in points(geometry["coordinates"]))
