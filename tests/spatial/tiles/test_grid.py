"""The WebMercatorQuad grid at its edges: the top zoom, the poles, the antimeridian, the world's border,
and the margin `Tile.intersects` adds around a tile. No database."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from spatial.tiles.grid import (
    MAX_ZOOM,
    ORIGIN,
    Tile,
    TileOutOfRange,
    lonlat_to_tile,
    mercator_to_lonlat,
    tile_matrix_set,
    tiles_covering,
)

WORLD = (-ORIGIN, -ORIGIN, ORIGIN, ORIGIN)


def tile_box(z: int, x: int, y: int, inset: float = 1.0) -> tuple[float, float, float, float]:
    """A box `inset` metres inside tile (z, x, y), so it touches that tile only."""
    xmin, ymin, xmax, ymax = Tile(z, x, y).bounds
    return (xmin + inset, ymin + inset, xmax - inset, ymax - inset)


# -- addresses ------------------------------------------------------------------------------------------------
def test_top_zoom_is_a_valid_tile_matrix_and_the_next_is_not() -> None:
    last = (1 << MAX_ZOOM) - 1
    corner = Tile(MAX_ZOOM, last, last)
    assert corner.bounds[2] == pytest.approx(ORIGIN) and corner.bounds[1] == pytest.approx(-ORIGIN)
    with pytest.raises(TileOutOfRange) as error:
        Tile(MAX_ZOOM + 1, 0, 0)
    assert error.value.parameter == "tileMatrix" and str(error.value) == "tileMatrix 25 is outside 0–24"
    with pytest.raises(TileOutOfRange):
        Tile(-1, 0, 0)


@pytest.mark.parametrize(("z", "x", "y", "parameter", "message"), [
    (2, 0, 4, "tileRow", "tileRow 4 is outside 0–3 at tileMatrix 2"),
    (2, 0, -1, "tileRow", "tileRow -1 is outside 0–3 at tileMatrix 2"),
    (2, 4, 0, "tileCol", "tileCol 4 is outside 0–3 at tileMatrix 2"),
    (0, -1, 0, "tileCol", "tileCol -1 is outside 0–0 at tileMatrix 0"),
])
def test_a_tile_outside_the_matrix_names_the_parameter_and_the_valid_range(
        z: int, x: int, y: int, parameter: str, message: str) -> None:
    with pytest.raises(TileOutOfRange) as error:
        Tile(z, x, y)
    assert error.value.parameter == parameter and str(error.value) == message


def test_last_row_and_column_are_inside() -> None:
    assert Tile(2, 3, 3).bounds == pytest.approx((ORIGIN / 2, -ORIGIN, ORIGIN, -ORIGIN / 2))
    assert Tile(0, 0, 0).bounds == pytest.approx(WORLD)


# -- lon/lat → tile: clamped at the poles and the antimeridian -------------------------------------------------
@pytest.mark.parametrize(("lon", "lat", "z", "expected"), [
    (-180.0, 0.0, 3, (0, 4)),  # the west antimeridian is column 0
    (180.0, 0.0, 3, (7, 4)),  # the east antimeridian is the last column, not one beyond
    (179.99, 0.0, 3, (7, 4)),
    (-179.99, 0.0, 3, (0, 4)),
    (0.0, 89.9, 3, (4, 0)),  # beyond the Mercator limit (85.05°) the top row
    (0.0, 90.0, 3, (4, 0)),
    (0.0, 85.0511287798, 3, (4, 0)),
    (0.0, -85.0511287798, 3, (4, 7)),  # the south limit is the last row, not one beyond
    (0.0, -89.9, 3, (4, 7)),
    (0.0, -90.0, 3, (4, 7)),
    (0.0, -84.0, 3, (4, 7)),
    (0.0, 84.0, 3, (4, 0)),
    (106.413, 10.535, 10, (814, 481)),  # Tân An
    (180.0, -90.0, MAX_ZOOM, ((1 << MAX_ZOOM) - 1, (1 << MAX_ZOOM) - 1)),
])
def test_lonlat_to_tile_clamps_to_the_world(lon: float, lat: float, z: int, expected: tuple[int, int]) -> None:
    assert lonlat_to_tile(lon, lat, z) == Tile(z, *expected)


def test_mercator_to_lonlat_at_the_corners() -> None:
    assert mercator_to_lonlat(ORIGIN, ORIGIN) == pytest.approx((180.0, 85.0511287798))
    assert mercator_to_lonlat(-ORIGIN / 2, 0.0) == pytest.approx((-90.0, 0.0))
    assert mercator_to_lonlat(0.0, -ORIGIN) == pytest.approx((0.0, -85.0511287798))


# -- tiles covering a box --------------------------------------------------------------------------------------
def test_tiles_covering_the_world_and_more() -> None:
    assert tiles_covering(WORLD, 0) == [Tile(0, 0, 0)]
    assert tiles_covering(WORLD, 1) == [Tile(1, 0, 0), Tile(1, 1, 0), Tile(1, 0, 1), Tile(1, 1, 1)]
    beyond = (-3 * ORIGIN, -2 * ORIGIN, 2 * ORIGIN, 3 * ORIGIN)
    assert tiles_covering(beyond, 2) == [Tile(2, x, y) for y in range(4) for x in range(4)]


@pytest.mark.parametrize(("box", "z", "expected"), [
    # the north-west corner tile only
    (tile_box(3, 0, 0), 3, [(0, 0)]),
    # the south-east corner tile only: the last column and row
    (tile_box(3, 7, 7), 3, [(7, 7)]),
    (tile_box(3, 6, 6), 3, [(6, 6)]),
    # a box over the eastern edge of the world keeps the last column; over the south edge the last row
    ((ORIGIN - 10, -ORIGIN - 500, ORIGIN + 500, -ORIGIN + 10), 3, [(7, 7)]),
    # a wide, flat box in one row away from the edges: columns 1–5 of row 2, row by row, west to east
    ((tile_box(3, 1, 2)[0], tile_box(3, 1, 2)[1], tile_box(3, 5, 2)[2], tile_box(3, 5, 2)[3]), 3,
     [(x, 2) for x in range(1, 6)]),
    # a tall, narrow box in one column: rows 1–3 of column 5
    ((tile_box(3, 5, 1)[0], tile_box(3, 5, 3)[1], tile_box(3, 5, 1)[2], tile_box(3, 5, 1)[3]), 3,
     [(5, y) for y in range(1, 4)]),
    # a box wholly west, east, north or south of the world covers nothing
    ((-ORIGIN - 900, 0.0, -ORIGIN - 100, 100.0), 3, []),
    ((ORIGIN + 100, 0.0, ORIGIN + 900, 100.0), 3, []),
    ((0.0, ORIGIN + 100, 100.0, ORIGIN + 900), 3, []),
    ((0.0, -ORIGIN - 900, 100.0, -ORIGIN - 100), 3, []),
])
def test_tiles_covering_exact_lists(box: tuple[float, float, float, float], z: int,
                                    expected: list[tuple[int, int]]) -> None:
    assert tiles_covering(box, z) == [Tile(z, x, y) for x, y in expected]


def test_tiles_covering_a_box_on_a_tile_border_takes_both_sides() -> None:
    xmin, _, xmax, _ = Tile(2, 1, 1).bounds
    assert tiles_covering((xmax, -100.0, xmax + 100.0, 100.0), 2) == [Tile(2, 2, 1), Tile(2, 2, 2)]
    assert [t.x for t in tiles_covering((xmin + 100.0, 100.0, xmin + 200.0, 200.0), 2)] == [1]


def test_tiles_covering_at_the_top_zoom() -> None:
    box = tile_box(MAX_ZOOM, 13_000_000, 7_500_000, inset=0.001)
    assert tiles_covering(box, MAX_ZOOM) == [Tile(MAX_ZOOM, 13_000_000, 7_500_000)]


# -- Tile.intersects and its margin ----------------------------------------------------------------------------
TILE = Tile(4, 9, 6)


def around(dx0: float, dy0: float, dx1: float, dy1: float) -> tuple[float, float, float, float]:
    """A box given by offsets, in tile widths, from TILE's (xmin, ymin, xmax, ymax)."""
    xmin, ymin, xmax, ymax = TILE.bounds
    w = TILE.width
    return (xmin + dx0 * w, ymin + dy0 * w, xmax + dx1 * w, ymax + dy1 * w)


@pytest.mark.parametrize(("box", "inside"), [
    (around(0.25, 0.25, -0.25, -0.25), True),  # within
    (around(-1, -1, 1, 1), True),  # around it
    (around(1.0, 0, 1.5, 0), True),  # touching the east edge
    (around(-1.5, 0, -1.0, 0), True),  # touching the west edge
    (around(0, 1.0, 0, 1.5), True),  # touching the north edge
    (around(0, -1.5, 0, -1.0), True),  # touching the south edge
    (around(1.01, 0, 1.5, 0), False),  # east of it
    (around(-1.5, 0, -1.01, 0), False),  # west
    (around(0, 1.01, 0, 1.5), False),  # north
    (around(0, -1.5, 0, -1.01), False),  # south
    (around(1.01, 1.01, 1.5, 1.5), False),  # north-east, diagonally
    (around(-1.5, -1.5, -1.01, -1.01), False),  # south-west
])
def test_intersects_without_a_margin(box: tuple[float, float, float, float], inside: bool) -> None:
    assert TILE.intersects(box) is inside
    assert TILE.intersects(box, 0.0) is inside


def test_a_box_sharing_only_an_edge_or_a_corner_intersects() -> None:
    xmin, ymin, xmax, ymax = TILE.bounds
    assert TILE.intersects((xmin - 100.0, ymin, xmin, ymax))  # west
    assert TILE.intersects((xmax, ymin, xmax + 100.0, ymax))  # east
    assert TILE.intersects((xmin, ymin - 100.0, xmax, ymin))  # south
    assert TILE.intersects((xmin, ymax, xmax, ymax + 100.0))  # north
    assert TILE.intersects((xmax, ymax, xmax + 100.0, ymax + 100.0))  # the north-east corner
    assert not TILE.intersects((xmin - 100.0, ymin, xmin - 0.01, ymax))


def test_intersects_is_not_fooled_by_an_axis_swap() -> None:
    # a box east of the tile but at the tile's own height band in y: its ymin lies within the tile's x range
    xmin, ymin, xmax, ymax = TILE.bounds
    box = (xmax + 10, ymin + 10, xmax + 20, ymax - 10)
    assert not TILE.intersects(box)
    assert Tile(1, 0, 0).intersects((-ORIGIN + 10, 10.0, -10.0, ORIGIN - 10))
    assert not Tile(1, 0, 1).intersects((10.0, 10.0, ORIGIN - 10, ORIGIN - 10))


@pytest.mark.parametrize("margin", [0.25, 64 / 4096])
@pytest.mark.parametrize(("side", "offsets"), [
    ("east", lambda d: (1 + d, 0, 1.5 + d, 0)),
    ("west", lambda d: (-1.5 - d, 0, -1 - d, 0)),
    ("north", lambda d: (0, 1 + d, 0, 1.5 + d)),
    ("south", lambda d: (0, -1.5 - d, 0, -1 - d)),
])
def test_intersects_widens_each_side_by_margin_tile_widths(
        margin: float, side: str, offsets: Callable[[float], tuple[float, float, float, float]]) -> None:
    assert TILE.intersects(around(*offsets(margin * 0.5)), margin), f"{side}: within the margin"
    assert TILE.intersects(around(*offsets(margin * 0.999)), margin), f"{side}: at the margin"
    assert not TILE.intersects(around(*offsets(margin * 1.01)), margin), f"{side}: beyond the margin"
    assert not TILE.intersects(around(*offsets(margin * 0.5))), f"{side}: no margin asked for"


def test_margin_scales_with_the_tile() -> None:
    # at z0 a quarter-tile margin is ~10,000 km; at z10 ~10 km
    big, small = Tile(0, 0, 0), Tile(10, 512, 512)
    assert big.intersects((ORIGIN + 9_000_000, 0, ORIGIN + 9_500_000, 10), 0.25)
    assert not big.intersects((ORIGIN + 11_000_000, 0, ORIGIN + 11_500_000, 10), 0.25)
    east = small.bounds[2]
    assert small.intersects((east + 9_000, small.bounds[1], east + 9_500, small.bounds[3]), 0.25)
    assert not small.intersects((east + 11_000, small.bounds[1], east + 11_500, small.bounds[3]), 0.25)


# -- the tile matrix set document ------------------------------------------------------------------------------
def test_tile_matrix_set_matches_the_ogc_definition() -> None:
    tms = tile_matrix_set()
    assert tms["id"] == "WebMercatorQuad"
    assert tms["uri"] == "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
    assert tms["crs"] == "http://www.opengis.net/def/crs/EPSG/0/3857"
    assert tms["title"] == "Google Maps Compatible for the World"
    assert tms["orderedAxes"] == ["X", "Y"]
    assert tms["wellKnownScaleSet"] == "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible"
    matrices = tms["tileMatrices"]
    assert [m["id"] for m in matrices] == [str(z) for z in range(MAX_ZOOM + 1)]
    # WebMercatorQuad as OGC defines it: z0 is one 256-pixel tile of 156543.034 m pixels, each zoom halves them
    assert matrices[0] == {
        "id": "0", "scaleDenominator": pytest.approx(559082264.0287178), "cellSize": pytest.approx(156543.03392804097),
        "cornerOfOrigin": "topLeft", "pointOfOrigin": pytest.approx([-20037508.3427892, 20037508.3427892]),
        "tileWidth": 256, "tileHeight": 256, "matrixWidth": 1, "matrixHeight": 1,
    }
    top = matrices[MAX_ZOOM]
    assert top["scaleDenominator"] == pytest.approx(559082264.0287178 / 2**24)
    assert top["cellSize"] == pytest.approx(156543.03392804097 / 2**24)
    assert top["matrixWidth"] == top["matrixHeight"] == 1 << MAX_ZOOM
    for m in matrices:
        # the OGC "standardized rendering pixel" is 0.28 mm: scale denominator = cell size / 0.00028
        assert m["scaleDenominator"] == pytest.approx(m["cellSize"] / 0.00028, rel=1e-9)
        assert m["cellSize"] * m["tileWidth"] * m["matrixWidth"] == pytest.approx(2 * ORIGIN)
