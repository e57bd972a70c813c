"""Discoverable tiles: the Tiles conformance classes, the links from the landing page and the collections to the
tilesets, TileJSON, style and map, tileset limits a client can use, both encodings of the tile matrix set, and the
.mvt/.pbf tile URLs."""

from __future__ import annotations

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient

from spatial.layers import LAYERS
from spatial.tiles.grid import lonlat_to_tile, tile_range

TILES = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf"
TILESETS_VECTOR = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
TILE = lonlat_to_tile(106.413, 10.535, 12)


def _rels(body: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for link in body["links"]:
        out.setdefault(link["rel"], []).append(link)
    return out


def test_conformance_declares_the_tiles_classes(client: TestClient) -> None:
    classes = set(client.get("/conformance").json()["conformsTo"])
    for name in ("core", "tileset", "tilesets-list", "dataset-tilesets", "geodata-tilesets",
                 "collections-selection", "mvt", "oas30"):
        assert f"{TILES}/{name}" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in classes


def _follow(client: TestClient, href: str) -> dict:
    r = client.get(href.removeprefix("http://testserver"))
    assert r.status_code == 200, href
    return r.json()


def test_landing_page_links_the_plan_tiles_style_and_map(client: TestClient) -> None:
    rels = _rels(client.get("/").json())
    tilesets = _follow(client, rels[TILESETS_VECTOR][0]["href"])
    assert tilesets["tilesets"][0]["dataType"] == "vector"
    tilejson = next(link for link in rels["describedby"] if "TileJSON" in link["title"])
    assert _follow(client, tilejson["href"])["tilejson"] == "3.0.0"
    assert _follow(client, rels["stylesheet"][0]["href"])["version"] == 8  # a MapLibre style
    map_link = next(link for link in rels["alternate"] if link["href"].endswith("/map"))
    assert map_link["type"] == "text/html" and client.get("/map").status_code == 200


@pytest.mark.parametrize("layer_id", list(LAYERS))
def test_every_tiled_collection_links_its_tilesets(client: TestClient, layer_id: str) -> None:
    body = client.get(f"/collections/{layer_id}").json()
    rels = _rels(body)
    if LAYERS[layer_id].tiles is None:
        assert TILESETS_VECTOR not in rels
        return
    link = rels[TILESETS_VECTOR][0]
    assert link["type"] == "application/json" and link["href"].endswith(f"/collections/{layer_id}/tiles")
    tileset_link = next(x for x in _follow(client, link["href"])["tilesets"][0]["links"] if x["rel"] == "self")
    tileset = _follow(client, tileset_link["href"])
    assert tileset["tileMatrixSetURI"].endswith("/WebMercatorQuad")
    assert any(x["rel"] == "stylesheet" for x in body["links"])
    assert any(x["rel"] == "alternate" and x["href"].endswith("/map") for x in body["links"])


def test_tileset_limits_hold_the_data(client: TestClient) -> None:
    tileset = client.get("/collections/zones/tiles/WebMercatorQuad").json()
    limits = {limit["tileMatrix"]: limit for limit in tileset["tileMatrixSetLimits"]}
    # zones start where their largest polygon reaches the 2 display pixels tiles keep (the province is ~1 px at z0)
    first = min(int(z) for z in limits)
    assert 0 < first <= 4 and set(limits) == {str(z) for z in range(first, 15)}
    assert tileset["layers"][0]["minTileMatrix"] == str(first)
    at12 = limits["12"]
    assert at12["minTileCol"] <= TILE.x <= at12["maxTileCol"] and at12["minTileRow"] <= TILE.y <= at12["maxTileRow"]
    assert at12["maxTileCol"] - at12["minTileCol"] < 20  # the province, not the world
    start = limits[str(first)]
    assert start["maxTileCol"] - start["minTileCol"] <= 1 and start["maxTileRow"] - start["minTileRow"] <= 1
    starting = [client.get(f"/collections/zones/tiles/WebMercatorQuad/{first}/{row}/{col}").status_code
                for row in range(start["minTileRow"], start["maxTileRow"] + 1)
                for col in range(start["minTileCol"], start["maxTileCol"] + 1)]
    assert 200 in starting  # where the tileset starts, it has something to draw
    # outside the limits — a tile beside them, a zoom before they start — is out of range (OGC /req/core/tc-error)
    outside = f"/collections/zones/tiles/WebMercatorQuad/12/{at12['maxTileRow'] + 1}/{at12['maxTileCol'] + 1}"
    assert client.get(outside).status_code == 404
    assert client.get("/collections/zones/tiles/WebMercatorQuad/0/0/0").status_code == 404
    # the plan tileset starts where its first layer shows (the province outline), and has it there
    plan = client.get("/tiles/WebMercatorQuad").json()["tileMatrixSetLimits"][0]
    assert int(plan["tileMatrix"]) < first
    assert client.get(f"/tiles/WebMercatorQuad/{plan['tileMatrix']}/{plan['minTileRow']}/{plan['minTileCol']}"
                      ).status_code == 200


def test_tile_range() -> None:
    assert tile_range((-1.0, -1.0, 1.0, 1.0), 1) == (0, 1, 0, 1)
    assert tile_range((1.0, 1.0, 2.0, 2.0), 1) == (1, 1, 0, 0)


def test_tile_matrix_set_in_both_encodings(client: TestClient) -> None:
    tms = client.get("/tileMatrixSets/WebMercatorQuad").json()
    # TMS 2.0 (OGC 17-083r4), what the Tiles standard asks for
    assert tms["crs"].endswith("/3857") and tms["tileMatrices"][0]["pointOfOrigin"][1] > 2e7
    # TMS 1.0 (OGC 17-083r2), what GDAL up to 3.6 reads
    assert tms["type"] == "TileMatrixSetType" and tms["supportedCRS"] == tms["crs"]
    assert len(tms["tileMatrix"]) == len(tms["tileMatrices"])
    for new, old in zip(tms["tileMatrices"], tms["tileMatrix"], strict=True):
        assert old["identifier"] == new["id"] and old["topLeftCorner"] == new["pointOfOrigin"]
        assert old["scaleDenominator"] == new["scaleDenominator"] and old["matrixWidth"] == new["matrixWidth"]


@pytest.mark.parametrize("prefix", ["/collections/zones/tiles", "/tiles"])
def test_tile_urls_take_an_mvt_or_pbf_suffix(client: TestClient, prefix: str) -> None:
    plain = client.get(f"{prefix}/WebMercatorQuad/{TILE.z}/{TILE.y}/{TILE.x}", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "zones" in mapbox_vector_tile.decode(plain.content)
    for suffix in (".mvt", ".pbf"):
        r = client.get(f"{prefix}/WebMercatorQuad/{TILE.z}/{TILE.y}/{TILE.x}{suffix}",
                       headers={"Accept-Encoding": "identity"})
        assert (r.status_code, r.content, r.headers["etag"]) == (200, plain.content, plain.headers["etag"])
    assert client.get(f"{prefix}/WebMercatorQuad/{TILE.z}/{TILE.y}/{TILE.x}.png").status_code in (400, 404)


def test_suffixed_tile_urls_stay_out_of_the_api_definition(client: TestClient) -> None:
    paths = client.get("/api").json()["paths"]
    assert not [p for p in paths if p.endswith((".mvt", ".pbf"))]
