"""Exactly the affected tiles: where each write happened (`tile_changes`, migration 0016) and the tile cache keyed on
it (`spatial.tiles.changes`) — an edit re-renders the tiles where the feature was and is, and no other, and grows the
layer's extent by what it wrote instead of reading the whole layer again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np
import psycopg
import pytest

from spatial.pool import Database
from spatial.synthetic import load_parcels, synthetic_parcels
from spatial.tiles.changes import TILE_MARGIN, ChangeIndex, LayerChanges, tile_envelope
from spatial.tiles.grid import Tile, lonlat_to_tile
from spatial.tiles.layers import TILE_LAYERS
from spatial.tiles.limits import LayerExtent
from spatial.tiles.service import TileService, tile_layers

WHOLE = (None, None, None, None)
BOX_LIMIT = 1000  # migration 0016's
SPAN_LIMIT = 5000


# --- the index, alone ------------------------------------------------------------------------------------------

def rows(*changes: tuple) -> list[tuple]:
    """(id, txid, box) → the rows `LayerChanges.extended` takes."""
    return [(i, txid, *box) for i, txid, box in changes]


def test_a_tile_takes_the_latest_change_that_meets_it() -> None:
    tile = Tile(14, 13000, 7700)
    x0, y0, x1, y1 = tile.bounds
    inside = (x0 + 10, y0 + 10, x0 + 20, y0 + 20)
    elsewhere = (x1 + 5000, y1 + 5000, x1 + 6000, y1 + 6000)
    changes = LayerChanges.empty().extended(rows((1, 101, WHOLE), (2, 102, inside), (3, 103, elsewhere)))
    index = ChangeIndex({"zones": changes})
    assert index.tile_version("zones", tile) == 102  # the change inside, not the later one elsewhere
    assert index.tile_version("zones", Tile(14, 13010, 7700)) == 101  # untouched since the whole layer changed
    assert index.tile_version("parcels", tile) is None  # a layer that records nothing: keyed on its layer version
    later = index.extended([("zones", 4, 104, *inside)])
    assert later.tile_version("zones", tile) == 104 and index.tile_version("zones", tile) == 102  # immutable
    assert later.after() == {"zones": 4} and index.extended([]) is index
    # a later read adds to what the index held: the change inside still keys the tile, and a new layer starts
    more = index.extended([("zones", 5, 105, *elsewhere), ("parcels", 6, 106, *WHOLE)])
    assert more.tile_version("zones", tile) == 102 and more.tile_version("parcels", tile) == 106
    assert more.after() == {"zones": 5, "parcels": 6}


def test_a_whole_layer_change_meets_every_tile_and_drops_what_came_before() -> None:
    tile = Tile(10, 800, 480)
    x0, y0, _, _ = tile.bounds
    box = (x0 + 1, y0 + 1, x0 + 2, y0 + 2)
    changes = LayerChanges.empty().extended(rows((1, 11, box), (2, 12, box), (3, 13, WHOLE), (4, 14, box)))
    assert changes.ids.tolist() == [3, 4] and changes.last_id == 4
    assert changes.latest_meeting(tile_envelope(tile)) == 14
    assert changes.latest_meeting(tile_envelope(Tile(10, 0, 0))) == 13
    assert LayerChanges.empty().last_id == 0 and LayerChanges.empty().latest_meeting((0, 0, 1, 1)) == 0


@pytest.mark.parametrize("side", ["west", "south", "east", "north"])
def test_the_buffer_counts_and_no_more(side: str) -> None:
    """A change within the MVT buffer re-keys the tile (its features are drawn there); one just past it does not."""
    tile = Tile(12, 3250, 1925)
    x0, y0, x1, y1 = tile.bounds
    pad = TILE_MARGIN * tile.width
    inside, outside = pad * 0.98, pad * 1.02

    def box_at(distance: float) -> tuple[float, float, float, float]:
        return {"west": (x0 - distance - 5, y0 + 1, x0 - distance, y0 + 2),
                "south": (x0 + 1, y0 - distance - 5, x0 + 2, y0 - distance),
                "east": (x1 + distance, y0 + 1, x1 + distance + 5, y0 + 2),
                "north": (x0 + 1, y1 + distance, x0 + 2, y1 + distance + 5)}[side]

    for distance, expected in ((inside, 2), (pad, 2), (outside, 0)):  # touching the envelope's edge: it meets
        changes = LayerChanges.empty().extended(rows((2, 2, box_at(distance))))
        assert changes.latest_meeting(tile_envelope(tile)) == expected, (side, distance)


def test_the_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("spatial.tiles.changes.MEMO_SIZE", 3)
    index = ChangeIndex({"zones": LayerChanges.empty().extended(rows((1, 7, WHOLE)))})
    for x in range(10):
        assert index.tile_version("zones", Tile(5, x, 3)) == 7
    assert len(index._memo) <= 3


# --- what the database records -----------------------------------------------------------------------------------

@pytest.fixture(scope="module", name="changes_db")
def changes_db_fixture(make_database: Callable[[], str]) -> str:
    url = make_database()
    load_parcels(url, synthetic_parcels(3000, seed=16))
    return url


def recorded(conn: psycopg.Connection, layer: str, after: int = 0) -> list[tuple]:
    return conn.execute("SELECT id, txid, west, south, east, north FROM tile_changes WHERE layer = %s AND id > %s "
                        "ORDER BY id", (layer, after)).fetchall()


def last_id(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT coalesce(max(id), 0) FROM tile_changes").fetchone()[0]


def box_of(conn: psycopg.Connection, table: str, row_id: int) -> tuple[float, float, float, float]:
    return conn.execute(f"SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) "
                        f"FROM (SELECT geom_3857::box2d AS b FROM {table} WHERE id = %s) s", (row_id,)).fetchone()


def test_an_edit_records_where_the_feature_was_and_where_it_is(changes_db: str) -> None:
    with psycopg.connect(changes_db, autocommit=True) as conn:
        parcel = conn.execute("SELECT min(id) FROM parcels").fetchone()[0]
        before, old_box = last_id(conn), box_of(conn, "parcels", parcel)
        with conn.transaction():
            txid = conn.execute("SELECT pg_current_xact_id()::text::bigint").fetchone()[0]
            conn.execute("UPDATE parcels SET geom = ST_Translate(geom, 0.05, 0) WHERE id = %s", (parcel,))
        new_box = box_of(conn, "parcels", parcel)
        moved = recorded(conn, "parcels", before)
        assert [r[1] for r in moved] == [txid, txid]
        assert sorted(r[2:] for r in moved) == sorted([old_box, new_box])

        before = last_id(conn)
        conn.execute("UPDATE parcels SET land_use = land_use WHERE id = %s", (parcel,))  # attributes only: one box
        assert [r[2:] for r in recorded(conn, "parcels", before)] == [new_box]
        before = last_id(conn)
        conn.execute("DELETE FROM parcels WHERE id = %s", (parcel,))
        assert [r[2:] for r in recorded(conn, "parcels", before)] == [new_box]
        before = last_id(conn)
        conn.execute("UPDATE parcels SET land_use = land_use WHERE false")  # no row: nothing to record
        assert recorded(conn, "parcels", before) == []


def test_a_bulk_statement_records_one_box_round_what_it_changed(changes_db: str) -> None:
    """Up to BOX_LIMIT boxes a statement (an UPDATE counts where each feature was and is), then one, their extent."""
    with psycopg.connect(changes_db, autocommit=True) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM parcels ORDER BY id LIMIT %s", (BOX_LIMIT // 2 + 1,))]
        extent = conn.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                              "(SELECT ST_Extent(geom_3857) AS e FROM parcels WHERE id = ANY(%s)) s", (ids,)).fetchone()
        before = last_id(conn)
        conn.execute("UPDATE parcels SET land_use = land_use WHERE id = ANY(%s)", (ids[:-1],))
        assert len(recorded(conn, "parcels", before)) == len(ids) - 1  # a box per feature (old and new: the same)
        before = last_id(conn)
        conn.execute("UPDATE parcels SET land_use = land_use WHERE id = ANY(%s)", (ids,))
        [only] = recorded(conn, "parcels", before)
        assert only[2:] == pytest.approx(extent)


def test_the_whole_layer_after_a_truncate_or_a_load_built_aside(make_database: Callable[[], str]) -> None:
    url = make_database()
    load_parcels(url, synthetic_parcels(60_000, seed=17))  # a replace of ≥ 50,000 rows is built aside and switched in
    with psycopg.connect(url, autocommit=True) as conn:
        layer_rows = recorded(conn, "parcels")
        assert len(layer_rows) == 1 and layer_rows[0][2:] == WHOLE  # every earlier row of the layer is moot: gone
        assert conn.execute("SELECT count(*) FROM tile_changes WHERE layer = 'zones'").fetchone()[0] >= 1
        conn.execute("UPDATE parcels SET land_use = land_use WHERE id = (SELECT min(id) FROM parcels)")
        assert len(recorded(conn, "parcels")) == 2  # the load's triggers came back with the table
        conn.execute("TRUNCATE parcels")
        layer_rows = recorded(conn, "parcels")
        assert len(layer_rows) == 1 and layer_rows[0][2:] == WHOLE


def test_a_long_list_collapses_into_the_whole_layer(make_database: Callable[[], str]) -> None:
    url = make_database()
    with psycopg.connect(url, autocommit=True) as conn:
        zone = conn.execute("SELECT min(id) FROM zones").fetchone()[0]
        conn.execute(f"DO $$ BEGIN FOR i IN 1..{SPAN_LIMIT + 10} LOOP "
                     f"UPDATE zones SET name_vi = name_vi WHERE id = {zone}; END LOOP; END $$")
        layer_rows = recorded(conn, "zones")
        assert len(layer_rows) < SPAN_LIMIT
        assert WHOLE in [r[2:] for r in layer_rows]
        assert layer_rows[0][0] > SPAN_LIMIT - 100  # what came before the collapse is gone


def test_the_tile_triggers_number_their_rows_under_the_layers_version_lock(changes_db: str) -> None:
    """Triggers of one event fire in name order: the version trigger (which locks the layer's `layer_versions` row
    to commit) before the tile triggers, so one layer's rows are numbered in commit order."""
    with psycopg.connect(changes_db) as conn:
        for table in TILE_LAYERS:
            names = [r[0] for r in conn.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass "
                                                "AND tgname LIKE %s ORDER BY tgname", (table, f"{table}_version%"))]
            assert names[0] == f"{table}_version" and len(names) == 5, names


def test_only_the_owner_writes_tile_changes_and_every_role_records_them(changes_db: str) -> None:
    with psycopg.connect(changes_db) as conn:
        conn.execute("SET ROLE lapis_approver")
        assert conn.execute("SELECT count(*) FROM tile_changes").fetchone()[0] > 0
        before = last_id(conn)
        conn.execute("UPDATE zones SET name_vi = name_vi WHERE id = (SELECT min(id) FROM zones)")
        assert len(recorded(conn, "zones", before)) == 1  # recorded as the owner (SECURITY DEFINER)
        for statement in ("INSERT INTO tile_changes (layer) VALUES ('zones')", "DELETE FROM tile_changes",
                          "UPDATE tile_changes SET layer = 'x'", "TRUNCATE tile_changes"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(statement)
        conn.rollback()


# --- the tile cache keyed on it ----------------------------------------------------------------------------------

def test_an_edit_re_renders_exactly_the_tiles_it_touched(make_database: Callable[[], str]) -> None:
    url = make_database()
    with psycopg.connect(url, autocommit=True) as conn:
        zone, lon, lat = conn.execute("SELECT id, ST_X(p), ST_Y(p) FROM (SELECT id, ST_PointOnSurface(geom) AS p "
                                      "FROM zones ORDER BY ST_Area(geom) LIMIT 1) s").fetchone()
        far = conn.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM zones "
                           "ORDER BY geom <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326) DESC LIMIT 1) s",
                           (lon, lat)).fetchone()
    near_tile, far_tile = lonlat_to_tile(lon, lat, 14), lonlat_to_tile(*far, 14)
    moved_to = lonlat_to_tile(lon + 0.1, lat, 14)
    overview = Tile(6, near_tile.x >> 8, near_tile.y >> 8)
    layers = tile_layers(["zones"])

    async def run() -> tuple[list[Tile], list[Tile], dict[Tile, bytes], dict[Tile, bytes]]:
        db = Database(url, max_size=2)
        service = TileService(db, cache=True)
        rendered: list[Tile] = []
        original = service._render

        async def counting(layer_list, tile, versions):
            rendered.append(tile)
            return await original(layer_list, tile, versions)

        service._render = counting
        tiles = (near_tile, far_tile, moved_to, overview)
        first = {t: (await service.render(layers, t)).data for t in tiles}
        assert rendered == list(tiles)
        rendered.clear()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("UPDATE zones SET geom = ST_Translate(geom, 0.1, 0) WHERE id = %s", (zone,))
        second = {t: (await service.render(layers, t)).data for t in tiles}
        touched = list(rendered)
        rendered.clear()
        with psycopg.connect(url, autocommit=True) as conn:  # on its own: it stamps the layer's version too
            conn.execute("SELECT lapis_layer_rewritten('public.zones'::regclass)")
        for t in tiles:
            await service.render(layers, t)
        await db.close()
        return touched, rendered, first, second

    touched, after_rewrite, first, second = asyncio.run(run())
    assert set(touched) == {near_tile, moved_to, overview}  # where it was, where it is, and a tile holding both
    assert second[far_tile] == first[far_tile]
    assert second[near_tile] != first[near_tile] and second[moved_to] != first[moved_to]
    assert after_rewrite == [near_tile, far_tile, moved_to, overview]  # the whole layer: every tile


def test_a_layer_without_tile_changes_falls_back_to_its_version() -> None:
    from spatial.tiles.service import VersionsAt, tile_versions

    tile = Tile(3, 1, 1)
    layers = (TILE_LAYERS["zones"], TILE_LAYERS["parcels"])
    index = ChangeIndex({"zones": LayerChanges.empty().extended(rows((5, 55, WHOLE)))})
    assert tile_versions(VersionsAt({"zones": 1, "parcels": 2}, index), layers, tile) == (55, 2)
    assert tile_versions({"zones": 1, "parcels": 2}, layers, tile) == (1, 2)  # versions read without changes
    assert np.isinf(index.layers["zones"].boxes).all()


# --- the layer's extent, grown by what was written ----------------------------------------------------------------

def test_an_extent_grows_by_the_boxes_written_since() -> None:
    base = LayerExtent((0.0, 0.0, 10.0, 10.0), 5.0)
    assert base.grown(np.empty((0, 4))) is base
    grown = base.grown(np.array([[20.0, -5.0, 23.0, -1.0], [2.0, 2.0, 3.0, 3.0]]))
    assert grown.box == (0.0, -5.0, 23.0, 10.0) and grown.largest == 5.0  # the 3×4 box's diagonal is 5 too
    assert base.grown(np.array([[1.0, 1.0, 31.0, 41.0]])).largest == 50.0
    assert base.grown(np.array([[4.0, 4.0, 4.0, 4.0]])).largest == np.inf  # a point: never dropped
    assert LayerExtent(None, None).grown(np.array([[1.0, 2.0, 4.0, 6.0]])) == LayerExtent((1.0, 2.0, 4.0, 6.0), 5.0)


def test_the_boxes_after_a_change_and_none_past_a_whole_layer_change() -> None:
    box = (1.0, 2.0, 3.0, 4.0)
    changes = LayerChanges.empty().extended(rows((3, 30, box), (4, 40, (5.0, 6.0, 7.0, 8.0))))
    assert changes.boxes_after(3).tolist() == [[5.0, 6.0, 7.0, 8.0]] and len(changes.boxes_after(4)) == 0
    assert changes.boxes_after(0).tolist() == [list(box), [5.0, 6.0, 7.0, 8.0]]
    assert changes.extended(rows((5, 50, WHOLE))).boxes_after(4) is None


def test_an_edit_grows_the_extent_without_reading_the_whole_layer(make_database: Callable[[], str]) -> None:
    url = make_database()
    east = 107.2  # beyond every zone of Long An
    layers = tile_layers(["zones"])

    async def run() -> None:
        db = Database(url, max_size=2)
        service = TileService(db, cache=True)
        reads = 0
        original = service._read_extent

        async def counting(layer, versions):
            nonlocal reads
            reads += 1
            return await original(layer, versions)

        service._read_extent = counting
        before = await service.extent(layers[0])
        far = lonlat_to_tile(east + 0.01, 10.6, 12)
        assert reads == 1 and not (await service.limits(layers, composite=False)).contains(far)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("UPDATE zones SET geom = ST_Multi(ST_Buffer(ST_SetSRID(ST_Point(%s, 10.6), 4326), 0.02)) "
                         "WHERE id = (SELECT max(id) FROM zones)", (east,))
            exact = conn.execute("SELECT ST_XMax(ST_Extent(geom_3857)) FROM zones").fetchone()[0]
        after = await service.extent(layers[0])
        assert reads == 1 and after.box[2] > before.box[2] and after.box[2] == pytest.approx(exact, abs=1.0)
        assert (await service.limits(layers, composite=False)).contains(far)
        assert (await service.render(layers, far)).data  # the moved zone is drawn there
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SELECT lapis_layer_rewritten('public.zones'::regclass)")
        await service.extent(layers[0])
        assert reads == 2  # a whole-layer change: read again
        await db.close()

    asyncio.run(run())
