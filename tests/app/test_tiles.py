"""OGC API – Tiles over the seeded plan: decoded with mapbox-vector-tile, checked against the database."""

from __future__ import annotations

import math

import mapbox_vector_tile
import psycopg
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point, shape
from shapely.ops import transform

from spatial.tiles.grid import EXTENT, lonlat_to_tile

TAN_AN = (106.413, 10.535)  # inside district 794 "Tân An" and centre zone C1
MVT = "application/vnd.mapbox-vector-tile"


def decode(body: bytes) -> dict:
    return mapbox_vector_tile.decode(body)


def tile_lonlat(tile, px: float, py: float) -> tuple[float, float]:
    """Tile-local MVT coordinates (y up, as mapbox-vector-tile decodes) back to lon/lat."""
    n = 1 << tile.z
    lon = (tile.x + px / EXTENT) / n * 360 - 180
    yf = tile.y + 1 - py / EXTENT
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * yf / n))))
    return lon, lat


def _to_lonlat(tile, xs, ys):
    points = [tile_lonlat(tile, px, py) for px, py in zip(xs, ys, strict=True)]
    return [p[0] for p in points], [p[1] for p in points]


def test_tile_matrix_sets(client: TestClient) -> None:
    listing = client.get("/tileMatrixSets").json()
    assert [t["id"] for t in listing["tileMatrixSets"]] == ["WebMercatorQuad"]
    tms = client.get("/tileMatrixSets/WebMercatorQuad").json()
    assert tms["crs"].endswith("3857") and len(tms["tileMatrices"]) == 25
    assert tms["tileMatrices"][3]["matrixWidth"] == 8
    r = client.get("/tileMatrixSets/WorldCRS84Quad")
    assert r.status_code == 404 and r.json()["parameter"] == "tileMatrixSetId"


def test_collection_tileset_metadata(client: TestClient) -> None:
    tilesets = client.get("/collections/zones/tiles").json()["tilesets"]
    assert tilesets[0]["dataType"] == "vector"
    meta = client.get("/collections/zones/tiles/WebMercatorQuad").json()
    assert meta["layers"][0]["id"] == "zones"
    assert "kind" in meta["layers"][0]["propertiesSchema"]["properties"]
    item = next(link for link in meta["links"] if link["rel"] == "item")
    assert item["href"].endswith("/collections/zones/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}")
    r = client.get("/collections/nope/tiles/WebMercatorQuad")
    assert r.status_code == 404 and r.json()["parameter"] == "collectionId"
    assert client.get("/collections/plans/tiles").status_code == 404  # no geometry, no tiles


def test_collection_tile_layers_ids_properties_and_position(client: TestClient, db_url: str) -> None:
    tile = lonlat_to_tile(*TAN_AN, 10)
    r = client.get(f"/collections/admin_units/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}",
                   headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200 and r.headers["content-type"] == MVT
    layers = decode(r.content)
    assert list(layers) == ["admin_units"]
    features = layers["admin_units"]["features"]
    with psycopg.connect(db_url) as conn:
        ids = dict(conn.execute("SELECT id, name_vi FROM admin_units").fetchall())
    by_name = {f["properties"]["name_vi"]: f for f in features}
    assert "Tân An" in by_name
    tan_an = by_name["Tân An"]
    assert ids[tan_an["id"]] == "Tân An"  # feature id = table id
    assert set(tan_an["properties"]) >= {"code", "name_vi", "name_en", "level", "gso_code"}
    # the decoded polygon, mapped back to lon/lat, contains the point known to be in Tân An
    poly = transform(lambda xs, ys: _to_lonlat(tile, xs, ys), shape(tan_an["geometry"]))
    assert poly.buffer(0.002).contains(Point(*TAN_AN))


def test_attribute_types_match_tilejson(client: TestClient) -> None:
    """Numbers arrive as numbers (PostgreSQL numeric would otherwise be encoded as a string)."""
    fields = {layer["id"]: layer["fields"] for layer in
              client.get("/tiles/WebMercatorQuad/tilejson.json").json()["vector_layers"]}
    tile = lonlat_to_tile(*TAN_AN, 8)
    layers = decode(client.get(f"/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}",
                               headers={"Accept-Encoding": "identity"}).content)
    checked = 0
    for layer_id, layer in layers.items():
        for feature in layer["features"]:
            for name, value in feature["properties"].items():
                expected = (int, float) if fields[layer_id].get(name) == "Number" else str
                assert isinstance(value, expected), (layer_id, name, value)
                checked += isinstance(value, float)
    assert checked > 0, "some numeric attribute (investment, length, area) was checked"


def test_composite_tile_has_every_plan_layer_and_subset(client: TestClient) -> None:
    tile = lonlat_to_tile(*TAN_AN, 9)
    r = client.get(f"/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}", headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200
    layers = decode(r.content)
    assert {"admin_units", "zones", "corridors", "axes", "projects"} <= set(layers)
    assert "parcels" not in layers
    kinds = {f["properties"]["kind"] for f in layers["zones"]["features"]}
    assert "centre" in kinds
    assert all(isinstance(f["id"], int) and f["id"] > 0 for f in layers["projects"]["features"])
    sub = client.get(f"/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}?collections=axes,zones",
                     headers={"Accept-Encoding": "identity"})
    assert list(decode(sub.content)) == ["axes", "zones"]  # the leftmost first (OGC API – Tiles)
    bad = client.get(f"/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}?collections=zones,bogus")
    assert bad.status_code == 400 and bad.json()["parameter"] == "collections"


def test_gzip_when_accepted(client: TestClient) -> None:
    tile = lonlat_to_tile(*TAN_AN, 8)
    url = f"/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}"
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert zipped.content == plain.content  # httpx decodes the gzip body
    assert zipped.headers["etag"] != plain.headers["etag"]


@pytest.mark.parametrize("path,parameter", [
    ("/tiles/WebMercatorQuad/25/0/0", "tileMatrix"),
    ("/tiles/WebMercatorQuad/3/8/0", "tileRow"),
    ("/tiles/WebMercatorQuad/3/0/-1", "tileCol"),
    ("/collections/zones/tiles/WebMercatorQuad/2/0/4", "tileCol"),
])
def test_out_of_range_tiles_are_problems(client: TestClient, path: str, parameter: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["parameter"] == parameter


def test_not_an_integer_is_400(client: TestClient) -> None:
    r = client.get("/tiles/WebMercatorQuad/a/0/0")
    assert r.status_code == 400 and r.json()["parameter"] == "tileMatrix"


def test_tiles_outside_the_data_are_404_and_empty_ones_204(client: TestClient) -> None:
    # outside the tileset's limits: out of range (OGC API – Tiles, /req/core/tc-error)
    for path in ("/tiles/WebMercatorQuad/10/0/0", "/collections/zones/tiles/WebMercatorQuad/12/100/100"):
        r = client.get(path)
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    # inside them, a tile without a feature is empty: the axes' tiles between the lines
    limits = client.get("/collections/axes/tiles/WebMercatorQuad").json()["tileMatrixSetLimits"]
    at12 = next(x for x in limits if x["tileMatrix"] == "12")
    statuses = {client.get(f"/collections/axes/tiles/WebMercatorQuad/12/{row}/{col}").status_code
                for row in range(at12["minTileRow"], at12["maxTileRow"] + 1)
                for col in range(at12["minTileCol"], at12["maxTileCol"] + 1)}
    assert statuses == {200, 204}


def test_etag_304(client: TestClient) -> None:
    tile = lonlat_to_tile(*TAN_AN, 11)
    url = f"/collections/zones/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}"
    first = client.get(url)
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    other = client.get(url, headers={"If-None-Match": '"not-it"'})
    assert other.status_code == 200
    assert "no-cache" in first.headers["cache-control"]


def test_tilejson(client: TestClient) -> None:
    tj = client.get("/tiles/WebMercatorQuad/tilejson.json").json()
    assert tj["tilejson"] == "3.0.0"
    assert {v["id"] for v in tj["vector_layers"]} >= {"admin_units", "zones", "corridors", "axes", "projects"}
    zones = next(v for v in tj["vector_layers"] if v["id"] == "zones")
    assert zones["fields"]["kind"] == "String"
    west, south, east, north = tj["bounds"]
    assert 105 < west < 106.5 < east < 107.5 and 10 < south < 10.8 < north < 11.5
    assert 0 <= tj["minzoom"] <= tj["maxzoom"] <= 16
    url = tj["tiles"][0]
    assert "{z}/{y}/{x}?v=" in url
    path = url.split("://", 1)[1].split("/", 1)[1]
    tile = lonlat_to_tile(*TAN_AN, 9)
    versioned = client.get("/" + path.format(z=tile.z, y=tile.y, x=tile.x))
    assert versioned.status_code == 200 and "immutable" in versioned.headers["cache-control"]
    one = client.get("/collections/axes/tiles/WebMercatorQuad/tilejson.json").json()
    assert [v["id"] for v in one["vector_layers"]] == ["axes"] and one["vector_layers"][0]["fields"]["rank"] == "Number"


def test_whole_province_tiles_stay_small(client: TestClient) -> None:
    """z5–z8 tiles covering the whole province: every one under 64 KiB uncompressed."""
    sizes = {}
    for z in range(5, 9):
        tile = lonlat_to_tile(106.2, 10.75, z)
        body = client.get(f"/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}",
                          headers={"Accept-Encoding": "identity"}).content
        sizes[z] = len(body)
        assert 0 < len(body) < 64 * 1024, sizes
    print("composite tile bytes by zoom:", sizes)


def _without_fast_path(app):
    from app.middleware import TileFastPath

    app.user_middleware = [m for m in app.user_middleware if m.cls is not TileFastPath]
    return app


def test_fast_path_answers_exactly_as_the_routes(settings) -> None:
    """Tile requests served by TileFastPath and by the FastAPI routes are byte-for-byte the same responses."""
    from app.main import create_app

    tile = lonlat_to_tile(*TAN_AN, 12)
    paths = [f"/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}",
             f"/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}?collections=zones,admin_units",
             f"/collections/zones/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}",
             f"/collections/zones/tiles/WebMercatorQuad/{tile.z + 4}/0/0",  # outside the data: 204
             "/collections/zones/tiles/WebMercatorQuad/3/9/0",  # out of range: a problem
             f"/collections/nope/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}",
             f"/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}?collections=nope"]
    with TestClient(create_app(settings)) as fast, TestClient(_without_fast_path(create_app(settings))) as slow:
        version = fast.get(paths[0]).headers["x-data-version"]
        paths.append(f"{paths[0]}?v={version}")
        for path in paths:
            for encoding in ("gzip", "identity"):
                headers = {"Accept-Encoding": encoding, "X-Request-ID": "one-request-id"}  # in problems and headers
                a, b = fast.get(path, headers=headers), slow.get(path, headers=headers)
                assert (a.status_code, a.content) == (b.status_code, b.content), path
                assert {k: v for k, v in a.headers.items() if k != "date"} == \
                       {k: v for k, v in b.headers.items() if k != "date"}, path
                if a.status_code == 200:
                    again = fast.get(path, headers={**headers, "If-None-Match": a.headers["etag"]})
                    assert again.status_code == 304 and again.headers["etag"] == a.headers["etag"]
        assert fast.get(paths[0]).headers["cache-control"] == "public, no-cache"
        assert fast.get(paths[-1]).headers["cache-control"] == "public, max-age=31536000, immutable"
