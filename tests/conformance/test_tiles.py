"""OGC API – Tiles – Part 1: Core (OGC 20-057, Annex A) and the tile matrix set classes of OGC 17-083r4 LAPIS
declares, one test per abstract test, run as ets-ogcapi-tiles10 runs them: from the landing page's
`tilesets-*` link (or a collection's), every link of a tilesets list answering with JSON, the tile template of a
tileset filled with the first entry of its `tileMatrixSetLimits` (its last row, first column: a tile; one row
further: out of range)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import mapbox_vector_tile
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import Point, box, shape

from spatial.tiles.grid import ORIGIN, Tile, lonlat_to_tile
from tests.conformance.ats import (
    JSON,
    MVT,
    TAN_AN,
    TILES,
    TMS,
    api,
    collections,
    get,
    link,
    media_type,
    ok_json,
    parameters,
    rels,
)

TILESETS = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-"
TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
NO_GZIP = {"Accept-Encoding": "identity"}


def _tilesets_links(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [x for x in body["links"] if x["rel"].startswith(TILESETS)]


def _tiled_collections(client: TestClient) -> list[dict[str, Any]]:
    return [c for c in collections(client) if _tilesets_links(c)]


def _tilesets_lists(client: TestClient) -> list[str]:
    """The tilesets lists the API links: the landing page's (the dataset) and each collection's."""
    return [x["href"] for x in _tilesets_links(ok_json(client, "/"))] + \
        [_tilesets_links(c)[0]["href"] for c in _tiled_collections(client)]


def _tilesets(client: TestClient, *, with_data: bool = False) -> list[dict[str, Any]]:
    """The metadata of every tileset (following each list entry's self link); only those of collections holding
    features, with `with_data`."""
    empty = {f"/collections/{c['id']}/tiles" for c in _tiled_collections(client)
             if not ok_json(client, f"/collections/{c['id']}/items", "application/geo+json", limit=1)["features"]}
    found = [ok_json(client, link(entry, "self", JSON)["href"])
             for href in _tilesets_lists(client) if not (with_data and urlsplit(href).path in empty)
             for entry in ok_json(client, href)["tilesets"]]
    return found


def _data_tile(client: TestClient, tileset: dict[str, Any], z: int = 12) -> Tile:
    """A tile at zoom z holding a feature of the tileset: where its first layer's first feature lies."""
    layer = tileset["layers"][0]["id"]
    feature = ok_json(client, f"/collections/{layer}/items", "application/geo+json", limit=1)["features"][0]
    point = shape(feature["geometry"]).representative_point()
    return lonlat_to_tile(point.x, point.y, z)


def _fill(template: str, tile: Tile) -> str:
    return template.replace("{tileMatrix}", str(tile.z)).replace("{tileRow}", str(tile.y)) \
        .replace("{tileCol}", str(tile.x))


def _first_tile(tileset: dict[str, Any]) -> Tile:
    """The test engine's tile: the first limits entry's matrix, its last row and first column."""
    first = tileset["tileMatrixSetLimits"][0]
    return Tile(int(first["tileMatrix"]), first["minTileCol"], first["maxTileRow"])


def _template(tileset: dict[str, Any]) -> str:
    return next(x["href"] for x in tileset["links"] if x["rel"] == "item" and x.get("templated"))


# -- Core --------------------------------------------------------------------------------------------------------
def test_ats_tiles_core_conformance_success(client: TestClient) -> None:
    """/conf/core/conformance-success: the conformance declaration lists the Tiles Core class."""
    assert f"{TILES}/core" in ok_json(client, "/conformance")["conformsTo"]


def test_ats_tiles_core_tc_op(client: TestClient) -> None:
    """/conf/core/tc-op: tiles of each tileset are answered at the URL its template gives for a tile holding data,
    the template's variables naming the tile matrix, row and column of WebMercatorQuad."""
    for tileset in _tilesets(client, with_data=True):
        template = _template(tileset)
        assert tileset["tileMatrixSetURI"].endswith("/WebMercatorQuad")
        response = get(client, _fill(template, _data_tile(client, tileset)), headers=NO_GZIP)
        assert response.status_code == 200 and media_type(response) == MVT, template
        assert mapbox_vector_tile.decode(response.content)


def _definition(client: TestClient, name: str) -> None:
    spec = api(client)
    tile_paths = [p for p in spec["paths"] if p.endswith("/{tileMatrix}/{tileRow}/{tileCol}")]
    assert len(tile_paths) == 2
    for path in tile_paths:
        param = parameters(spec, path)[name]
        assert param["in"] == "path" and param["required"] is True
        assert param["schema"]["type"] == ("string" if name == "tileMatrix" else "integer")
    assert any(f"{{{name}}}" in _template(t) for t in _tilesets(client))


def test_ats_tiles_core_tc_tilematrix_definition(client: TestClient) -> None:
    """/conf/core/tc-tilematrix-definition: the tile operations take a mandatory string parameter `tileMatrix`."""
    _definition(client, "tileMatrix")


def test_ats_tiles_core_tc_tilerow_definition(client: TestClient) -> None:
    """/conf/core/tc-tilerow-definition: the tile operations take a mandatory integer parameter `tileRow`."""
    _definition(client, "tileRow")


def test_ats_tiles_core_tc_tilecol_definition(client: TestClient) -> None:
    """/conf/core/tc-tilecol-definition: the tile operations take a mandatory integer parameter `tileCol`."""
    _definition(client, "tileCol")


def _mercator(x: float, y: float, tile: Tile) -> tuple[float, float]:
    """An MVT coordinate (4096 units a tile, origin bottom-left as the decoder gives it) in EPSG:3857 metres."""
    width = 2 * ORIGIN / (1 << tile.z)
    return -ORIGIN + (tile.x + x / 4096) * width, ORIGIN - (tile.y + 1 - y / 4096) * width


def test_ats_tiles_core_tc_success(client: TestClient) -> None:
    """/conf/core/tc-success: a tile with data is a 200 in the format asked, holding the features of its area —
    the first tile of each tileset's limits (200 or 204, as the test engine asks), and a tile of its data, whose
    features lie in the tile (within its buffer) and are those of the collection there."""
    for tileset in _tilesets(client):
        template = _template(tileset)
        first = get(client, _fill(template, _first_tile(tileset)), headers=NO_GZIP)
        assert first.status_code in (200, 204), template
    for tileset in _tilesets(client, with_data=True):
        tile = _data_tile(client, tileset)
        response = get(client, _fill(_template(tileset), tile), headers=NO_GZIP)
        assert response.status_code == 200 and media_type(response) == MVT
        area = box(*_mercator(-64, -64, tile), *_mercator(4160, 4160, tile)).buffer(1)
        for layer in mapbox_vector_tile.decode(response.content).values():
            for feature in layer["features"]:
                assert all(area.contains(Point(_mercator(x, y, tile))) for x, y in _points(shape(feature["geometry"])))


def _points(geom: Any) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in shapely.get_coordinates(geom)]


def test_ats_tiles_core_tc_error(client: TestClient) -> None:
    """/conf/core/tc-error: a tile outside the tile matrix set or the tileset's limits is a 404 (the row after the
    last one of the first limits entry, a zoom past the last, a column past the limits); a tile inside them with
    nothing in it is a 204."""
    for tileset in _tilesets(client):
        template, first = _template(tileset), _first_tile(tileset)
        row_after = template.replace("{tileMatrix}", str(first.z)).replace("{tileRow}", str(first.y + 1)) \
            .replace("{tileCol}", str(first.x))
        assert get(client, row_after).status_code in (400, 404), row_after  # what the test engine asks
        beyond = int(tileset["tileMatrixSetLimits"][-1]["tileMatrix"]) + 1
        past = template.replace("{tileMatrix}", str(beyond)).replace("{tileRow}", "0").replace("{tileCol}", "0")
        response = get(client, past)
        assert response.status_code == 404 and response.json()["parameter"] == "tileMatrix", past
        at12 = next(x for x in tileset["tileMatrixSetLimits"] if x["tileMatrix"] == "12")
        if at12["maxTileCol"] < 4095:  # limits narrower than the matrix (the collection holds data)
            outside = Tile(12, at12["maxTileCol"] + 1, at12["maxTileRow"])
            response = get(client, _fill(template, outside))
            assert response.status_code == 404 and response.json()["parameter"] == "tileCol"
    empty = _empty_tile_in_limits(client)
    assert client.get(empty).status_code == 204


def _empty_tile_in_limits(client: TestClient) -> str:
    """A tile of the axes (lines) inside the limits at z12 with no axis in it."""
    tileset = ok_json(client, "/collections/axes/tiles/WebMercatorQuad")
    at12 = next(x for x in tileset["tileMatrixSetLimits"] if x["tileMatrix"] == "12")
    for row in range(at12["minTileRow"], at12["maxTileRow"] + 1):
        for col in range(at12["minTileCol"], at12["maxTileCol"] + 1):
            url = f"/collections/axes/tiles/WebMercatorQuad/12/{row}/{col}"
            if client.get(url).status_code == 204:
                return url
    raise AssertionError("every z12 tile of the axes holds an axis")


# -- TileSet, TileSets list --------------------------------------------------------------------------------------
def test_ats_tileset_description(client: TestClient) -> None:
    """/conf/tileset/description: a tileset's metadata (JSON, TMS 2.0 tileset model): its registered tile matrix
    set URI, a tiling-scheme link, a templated `item` link with tileMatrix, tileRow and tileCol and the tile media
    type, limits with rows and columns per matrix, and its layers."""
    for tileset in _tilesets(client):
        assert tileset["tileMatrixSetURI"] == "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
        assert tileset["dataType"] == "vector" and tileset["crs"].endswith("/3857")
        assert ok_json(client, link(tileset, TILING_SCHEME, JSON)["href"])["id"] == "WebMercatorQuad"
        item = next(x for x in tileset["links"] if x["rel"] == "item")
        assert item["templated"] is True and item["type"] == MVT
        assert all(f"{{{v}}}" in item["href"] for v in ("tileMatrix", "tileRow", "tileCol"))
        limits = tileset["tileMatrixSetLimits"]
        assert [int(x["tileMatrix"]) for x in limits] == list(range(int(limits[0]["tileMatrix"]),
                                                                     int(limits[-1]["tileMatrix"]) + 1))
        for entry in limits:
            n = 1 << int(entry["tileMatrix"])
            assert 0 <= entry["minTileRow"] <= entry["maxTileRow"] < n and 0 <= entry["minTileCol"] <= \
                entry["maxTileCol"] < n
        assert tileset["layers"] and all(x["id"] and x["dataType"] == "vector" for x in tileset["layers"])


def test_ats_tilesets_list_tileset_links(client: TestClient) -> None:
    """/conf/tilesets-list/tileset-links: each `.../tiles` lists its tilesets with dataType, crs, the tile matrix
    set URI and links to the tileset (self) and the tiling scheme, every link answering with JSON; a tileset is at
    `.../tiles/{tileMatrixSetId}`."""
    for href in _tilesets_lists(client):
        assert href.endswith("/tiles")
        for entry in ok_json(client, href)["tilesets"]:
            assert entry["dataType"] == "vector" and entry["crs"] and entry["tileMatrixSetURI"]
            assert link(entry, "self", JSON)["href"] == f"{href}/WebMercatorQuad"
            assert link(entry, TILING_SCHEME, JSON)
            for target in entry["links"]:
                ok_json(client, target["href"])  # the test engine GETs each of them, as JSON


# -- Dataset and geodata tilesets --------------------------------------------------------------------------------
def test_ats_dataset_tilesets_landingpage(client: TestClient) -> None:
    """/conf/dataset-tilesets/landingpage: the landing page links the dataset's tilesets (rel tilesets-vector)."""
    assert rels(ok_json(client, "/"))["http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"]


def test_ats_dataset_tilesets_operation(client: TestClient) -> None:
    """/conf/dataset-tilesets/operation: the dataset's tilesets are at `{root}/tiles`, with at least one tileset."""
    assert ok_json(client, "/tiles")["tilesets"]
    assert _tilesets_links(ok_json(client, "/"))[0]["href"] == "http://testserver/tiles"


def test_ats_geodata_tilesets_desc_links(client: TestClient) -> None:
    """/conf/geodata-tilesets/desc-links: each collection with geometries links its tilesets (tilesets-vector)."""
    for collection in collections(client):
        if collection.get("geometryType"):
            assert _tilesets_links(collection), collection["id"]


def test_ats_geodata_tilesets_operation(client: TestClient) -> None:
    """/conf/geodata-tilesets/operation: a collection's tilesets are at `/collections/{collectionId}/tiles`."""
    for collection in _tiled_collections(client):
        href = _tilesets_links(collection)[0]["href"]
        assert href == f"http://testserver/collections/{collection['id']}/tiles"
        assert ok_json(client, href)["tilesets"]


# -- Collections selection ---------------------------------------------------------------------------------------
def test_ats_collections_selection_query_collections(client: TestClient) -> None:
    """/conf/collections-selection/query-collections: `collections` is accepted on the dataset tileset and its
    tiles for lists of the collections it is made of (one to five)."""
    layers = [x["id"] for x in ok_json(client, "/tiles/WebMercatorQuad")["layers"]]
    for chosen in (layers[:1], layers[:3], layers[-2:], layers[:5]):
        subset = ",".join(chosen)
        tileset = ok_json(client, "/tiles/WebMercatorQuad", collections=subset)
        assert [x["id"] for x in tileset["layers"]] == chosen
        response = get(client, _fill(_template(tileset), TAN_AN), headers=NO_GZIP)
        assert response.status_code in (200, 204)
    assert client.get("/tiles/WebMercatorQuad", params={"collections": "nowhere"}).status_code == 400


def test_ats_collections_selection_collections_response(client: TestClient) -> None:
    """/conf/collections-selection/collections-response: a selection holds only the collections selected, the
    leftmost first (bottom) and the rightmost last (top), in tileset layers and tile alike."""
    for chosen in (["zones", "axes", "projects"], ["projects", "axes", "zones"], ["axes", "admin_units"]):
        subset = ",".join(chosen)
        tileset = ok_json(client, "/tiles/WebMercatorQuad", collections=subset)
        assert [x["id"] for x in tileset["layers"]] == chosen
        tile = client.get(f"/tiles/WebMercatorQuad/{TAN_AN.z}/{TAN_AN.y}/{TAN_AN.x}",
                          params={"collections": subset}, headers=NO_GZIP)
        assert list(mapbox_vector_tile.decode(tile.content)) == chosen
    assert list(mapbox_vector_tile.decode(
        client.get(f"/tiles/WebMercatorQuad/{TAN_AN.z}/{TAN_AN.y}/{TAN_AN.x}", params={"collections": "axes"},
                   headers=NO_GZIP).content)) == ["axes"]


# -- MVT ---------------------------------------------------------------------------------------------------------
def test_ats_mvt_content(client: TestClient) -> None:
    """/conf/mvt/content: a 200 tile is one Mapbox Vector Tile whose features have a geometry and its type, in
    the 4096-unit grid of the tile (0,0 top-left) — at the first zoom of every tileset (where it starts, it has
    something to draw: z0 for a layer with points) and at z12."""
    for tileset in _tilesets(client, with_data=True):
        first = tileset["tileMatrixSetLimits"][0]
        start = [Tile(int(first["tileMatrix"]), col, row) for row in range(first["minTileRow"], first["maxTileRow"] + 1)
                 for col in range(first["minTileCol"], first["maxTileCol"] + 1)]
        drawn = [t for t in start if get(client, _fill(_template(tileset), t)).status_code == 200]
        assert drawn, (tileset["title"], first)
        for tile in (drawn[0], _data_tile(client, tileset)):
            response = get(client, _fill(_template(tileset), tile), headers=NO_GZIP)
            assert response.status_code == 200 and media_type(response) == MVT
            layers = mapbox_vector_tile.decode(response.content, default_options={"y_coord_down": True})
            assert layers and all(x["extent"] == 4096 for x in layers.values())
            for layer in layers.values():
                for feature in layer["features"]:
                    assert feature["geometry"]["type"] in {"Point", "MultiPoint", "LineString", "MultiLineString",
                                                           "Polygon", "MultiPolygon"}
                    assert all(-64 <= v <= 4160 for xy in _points(shape(feature["geometry"])) for v in xy)


# -- OpenAPI -----------------------------------------------------------------------------------------------------
def test_ats_tiles_oas30_completeness(client: TestClient) -> None:
    """/conf/oas30/completeness: the API definition describes every tileset, tilesets list and tile resource the
    links lead to, with the parameters they take."""
    spec = api(client)
    for path in ("/tileMatrixSets", "/tileMatrixSets/{tileMatrixSetId}", "/tiles", "/tiles/{tileMatrixSetId}",
                 "/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}", "/collections/{collectionId}/tiles",
                 "/collections/{collectionId}/tiles/{tileMatrixSetId}",
                 "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}"):
        assert "get" in spec["paths"][path], path
    assert "collections" in parameters(spec, "/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}")
    tile = spec["paths"]["/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}"]["get"]["responses"]
    assert MVT in tile["200"]["content"] and {"204", "404"} <= set(tile)


def test_ats_tiles_oas30_operation_ids(client: TestClient) -> None:
    """/conf/oas30/operation-id: the tile operations are found by their operationId suffixes."""
    operations = {op.get("operationId", ""): path for path, ops in api(client)["paths"].items() for op in ops.values()}
    expected = {"getTileMatrixSetsList": "/tileMatrixSets", "getTileMatrixSet": "/tileMatrixSets/{tileMatrixSetId}",
                ".dataset.vector.getTileSetsList": "/tiles", ".dataset.vector.getTileSet": "/tiles/{tileMatrixSetId}",
                ".dataset.vector.getTile": "/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
                ".collection.vector.getTileSetsList": "/collections/{collectionId}/tiles",
                ".collection.vector.getTileSet": "/collections/{collectionId}/tiles/{tileMatrixSetId}",
                ".collection.vector.getTile":
                    "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}"}
    for suffix, path in expected.items():
        assert [p for op, p in operations.items() if op.endswith(suffix)] == [path], suffix


# -- Tile matrix sets --------------------------------------------------------------------------------------------
def test_ats_tms_tilematrixset(client: TestClient) -> None:
    """/conf/tilematrixset (OGC 17-083r4): WebMercatorQuad as a tile matrix set — a CRS, and per tile matrix its
    scale, cell size, origin, tile and matrix sizes, each matrix twice as fine as the one before."""
    tms = ok_json(client, link(ok_json(client, "/tileMatrixSets")["tileMatrixSets"][0], "self", JSON)["href"])
    assert tms["id"] == "WebMercatorQuad" and tms["crs"] == "http://www.opengis.net/def/crs/EPSG/0/3857"
    for z, matrix in enumerate(tms["tileMatrices"]):
        assert matrix["id"] == str(z) and matrix["matrixWidth"] == matrix["matrixHeight"] == 1 << z
        assert matrix["tileWidth"] == matrix["tileHeight"] == 256 and matrix["cornerOfOrigin"] == "topLeft"
        assert matrix["pointOfOrigin"] == [-ORIGIN, ORIGIN]
        assert abs(matrix["cellSize"] * 256 * (1 << z) - 2 * ORIGIN) < 1e-6
        assert abs(matrix["scaleDenominator"] - matrix["cellSize"] / 0.00028) < 1e-3


def test_ats_tms_json_tilematrixset(client: TestClient) -> None:
    """/conf/json-tilematrixset: the tile matrix set is JSON (application/json) with the members and types of the
    TMS 2.0 JSON schema."""
    response = client.get("/tileMatrixSets/WebMercatorQuad")
    assert response.status_code == 200 and media_type(response) == JSON
    tms = response.json()
    assert isinstance(tms["tileMatrices"], list) and isinstance(tms["orderedAxes"], list)
    assert all(isinstance(m["scaleDenominator"], float) and isinstance(m["matrixWidth"], int)
               for m in tms["tileMatrices"])
    assert f"{TMS}/json-tilematrixset" in ok_json(client, "/conformance")["conformsTo"]
