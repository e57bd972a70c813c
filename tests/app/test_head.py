"""Every GET resource of the API definition answers HEAD: the GET answer's status and headers, no body — through
the routes and the tile fast path alike."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from spatial.tiles.grid import lonlat_to_tile

TILE = lonlat_to_tile(106.413, 10.535, 12)
PATH_VALUES = {"collectionId": "zones", "tileMatrixSetId": "WebMercatorQuad", "tileMatrix": str(TILE.z),
               "tileRow": str(TILE.y), "tileCol": str(TILE.x), "name": "absent.pmtiles",
               "proposalId": "1", "jobId": "1", "revisionId": "1", "a": "1", "b": "1"}
QUERIES = {"/locate": "?lon=106.413&lat=10.535", "/search": "?q=tan"}
VOLATILE = {"/metrics"}  # counts requests: its length moves between two calls


def _concrete(path: str, feature_id: str) -> str:
    values = {**PATH_VALUES, "featureId": feature_id}
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path) + QUERIES.get(path, "")


def _get_paths(client: TestClient) -> list[str]:
    spec = client.get("/api").json()
    return [path for path, operations in spec["paths"].items() if "get" in operations]


def test_every_get_route_answers_head(client: TestClient) -> None:
    feature_id = str(client.get("/collections/zones/items?limit=1").json()["features"][0]["id"])
    paths = _get_paths(client)
    assert "/collections/{collectionId}/items" in paths and len(paths) > 20
    for template in paths:
        url = _concrete(template, feature_id)
        get, head = client.get(url), client.head(url)
        assert head.status_code == get.status_code != 405, url
        assert head.content == b"", url
        # a request id is new for every request (app.security)
        skip = {"date", "x-request-id", "content-length"} if template in VOLATILE else {"date", "x-request-id"}
        assert {k: v for k, v in head.headers.items() if k not in skip} == \
               {k: v for k, v in get.headers.items() if k not in skip}, url


@pytest.mark.parametrize("path", [f"/collections/zones/tiles/WebMercatorQuad/{TILE.z}/{TILE.y}/{TILE.x}",
                                  f"/tiles/WebMercatorQuad/{TILE.z}/{TILE.y}/{TILE.x}.mvt",
                                  "/map", "/static/swagger-ui/swagger-ui.css"])
def test_head_of_tiles_and_static_files(client: TestClient, path: str) -> None:
    get, head = client.get(path, headers={"Accept-Encoding": "gzip"}), client.head(path, headers={
        "Accept-Encoding": "gzip"})
    assert get.status_code == head.status_code == 200
    assert head.content == b"" and head.headers["content-length"] == get.headers["content-length"]
    assert head.headers.get("etag") == get.headers.get("etag")


def test_other_methods_are_still_refused(client: TestClient) -> None:
    assert client.put("/collections/zones/items").status_code == 405
    assert client.delete("/collections/zones").status_code == 405
