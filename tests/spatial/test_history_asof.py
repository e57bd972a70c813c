"""The plan at an instant (`spatial.history.asof`): exact geometries before and after each kind of change (compared
as WKB), the same tiles as the present when nothing changed, and what `asof` accepts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import psycopg
import pytest
import shapely

from spatial.errors import InvalidParameter
from spatial.history.asof import parse_asof, source_sql
from spatial.history.tiles import asof_tile_sql
from spatial.layers import LAYERS, get_layer
from spatial.sqlbuild import Params
from spatial.tiles.grid import lonlat_to_tile
from spatial.tiles.layers import TILE_LAYERS, generalisation, tile_sql
from tests.helpers import committed_instant, run

MOVED = shapely.MultiPolygon([shapely.box(106.5, 10.7, 106.52, 10.72)])


def geometry_at(url: str, layer: str, feature_id: int, at: datetime | None) -> bytes | None:
    async def work(conn: asyncpg.Connection) -> bytes | None:
        params = Params()
        params.add(feature_id, "bigint")
        source = source_sql(get_layer(layer), at, params)
        return await conn.fetchval(f"SELECT ST_AsBinary(t.geom) FROM {source} t WHERE t.id = $1", *params.values)
    return run(url, work)


def test_asof_before_and_after_each_change_gives_the_old_and_new_geometry_exactly(fresh_db_url: str) -> None:
    with psycopg.connect(fresh_db_url) as conn:
        zone, original = conn.execute("SELECT id, ST_AsBinary(geom) FROM zones WHERE code = 'R3'").fetchone()
        t0 = committed_instant(conn)
        conn.execute("UPDATE zones SET geom = ST_GeomFromWKB(%s, 4326) WHERE id = %s", (shapely.to_wkb(MOVED), zone))
        t1 = committed_instant(conn)
        conn.execute("UPDATE zones SET name_en = 'attributes only' WHERE id = %s", (zone,))
        t2 = committed_instant(conn)
        conn.execute("DELETE FROM zones WHERE id = %s", (zone,))
        t3 = committed_instant(conn)
        new = conn.execute("INSERT INTO zones (code, name_vi, kind, geom) VALUES ('R9', 'Vùng mới', 'other', "
                           "ST_GeomFromWKB(%s, 4326)) RETURNING id", (shapely.to_wkb(MOVED),)).fetchone()[0]
        t4 = committed_instant(conn)
    assert geometry_at(fresh_db_url, "zones", zone, t0) == bytes(original)
    assert geometry_at(fresh_db_url, "zones", zone, t1) == shapely.to_wkb(MOVED)
    assert geometry_at(fresh_db_url, "zones", zone, t2) == shapely.to_wkb(MOVED)  # an attribute change keeps it
    assert geometry_at(fresh_db_url, "zones", zone, t3) is None
    assert geometry_at(fresh_db_url, "zones", new, t3) is None
    assert geometry_at(fresh_db_url, "zones", new, t4) == shapely.to_wkb(MOVED)
    assert geometry_at(fresh_db_url, "zones", new, None) == shapely.to_wkb(MOVED)
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    assert geometry_at(fresh_db_url, "zones", new, long_ago) is None


def test_every_layer_now_is_its_table(db_url: str) -> None:
    """Read at the present instant, every layer's history gives exactly its table's rows."""
    async def work(conn: asyncpg.Connection) -> int:
        now = await conn.fetchval("SELECT clock_timestamp()")
        compared = 0
        for layer in LAYERS.values():
            columns = ", ".join([*(f"t.{c}" for c in ("id", *layer.column_names, "props", "created_at")),
                                 *(("ST_AsBinary(t.geom)",) if layer.has_geometry else ())])
            params = Params()
            asof = source_sql(layer, now, params)
            past = await conn.fetch(f"SELECT {columns} FROM {asof} t ORDER BY t.id", *params.values)
            present = await conn.fetch(f"SELECT {columns} FROM {layer.id} t ORDER BY t.id")
            assert [tuple(r) for r in past] == [tuple(r) for r in present], layer.id
            compared += len(present)
        return compared
    assert run(db_url, work) > 50  # every bundled feature (the seed loads no parcels)


@pytest.mark.parametrize("z", [8, 10, 12])
def test_asof_tiles_of_an_unchanged_plan_are_the_present_tiles(db_url: str, z: int) -> None:
    """Over Tân An (106.41 E, 10.53 N), where every layer has features."""
    tile = lonlat_to_tile(106.41, 10.53, z)
    tolerance, min_size = generalisation(tile)

    async def work(conn: asyncpg.Connection) -> int:
        now = await conn.fetchval("SELECT clock_timestamp()")
        drawn = 0
        for layer in TILE_LAYERS.values():
            args = (z, tile.x, tile.y, tolerance, min_size, 10_000, True)
            present = await conn.fetchval(tile_sql(layer.layer, stored_grid=False), *args)
            past = await conn.fetchval(asof_tile_sql(layer.layer), *args, now)
            assert past == present, layer.id
            drawn += bool(present)
        return drawn

    assert run(db_url, work) >= 3


def test_parse_asof() -> None:
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert parse_asof(None) is None
    assert parse_asof("2026-11-27T10:00:00+07:00", now=now) == datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    assert parse_asof("2026-11-27t03:00:00.123456789z", now=now) == datetime(2026, 11, 27, 3, 0, 0, 123456,
                                                                             tzinfo=UTC)
    assert parse_asof("2026-11-27T12:00:00.5Z", now=now) == now + timedelta(milliseconds=500)  # within the skew
    for bad in ("2026-11-27", "2026-11-27T10:00:00", "2026-13-01T00:00:00Z", "now", "", "2026-11-27T12:00:02Z"):
        with pytest.raises(InvalidParameter) as caught:
            parse_asof(bad, now=now)
        assert caught.value.parameter == "asof"
