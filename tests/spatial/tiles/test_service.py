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
    assert [layer.id for layer in tile_layers(["projects", "zones"])] == ["zones", "projects"]
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
