"""CORS: a web map on another origin reads the API (GET, HEAD, the preflights of the JSON POST queries), the tile
fast path's answers included; the allowed origins come from LAPIS_CORS_ORIGINS; never credentials."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from spatial.tiles.grid import lonlat_to_tile
from tests.helpers import make_settings

PAGE = "http://127.0.0.1:8799"  # a web map served from another origin
TILE = lonlat_to_tile(106.413, 10.535, 12)
TILE_PATHS = (f"/collections/zones/tiles/WebMercatorQuad/{TILE.z}/{TILE.y}/{TILE.x}",
              f"/tiles/WebMercatorQuad/{TILE.z}/{TILE.y}/{TILE.x}.pbf")
EXPOSED = {"etag", "link", "content-crs", "x-data-version"}


def _exposed(response) -> set[str]:
    return {h.strip().lower() for h in response.headers.get("access-control-expose-headers", "").split(",")}


def _without_fast_path(app):
    from app.middleware import TileFastPath

    app.user_middleware = [m for m in app.user_middleware if m.cls is not TileFastPath]
    return app


@pytest.mark.parametrize("path", ["/collections/zones/items", "/styles/plan.json", "/", "/collections",
                                  "/tiles/WebMercatorQuad/tilejson.json", "/search?q=tan"])
def test_reads_from_any_origin(client: TestClient, path: str) -> None:
    r = client.get(path, headers={"Origin": PAGE})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in r.headers
    assert _exposed(r) >= EXPOSED


def test_head_carries_cors_too(client: TestClient) -> None:
    r = client.head("/collections/zones/items", headers={"Origin": PAGE})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("path", ["/locate", "/check?use=industrial", "/classify", "/collections/zones/items"])
def test_preflights_are_answered(client: TestClient, path: str) -> None:
    method = "GET" if path.endswith("items") else "POST"
    r = client.options(path, headers={"Origin": PAGE, "Access-Control-Request-Method": method,
                                      "Access-Control-Request-Headers": "content-type"})
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == "*"
    assert method in r.headers["access-control-allow-methods"]
    assert "content-type" in r.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in r.headers


def test_post_query_from_another_origin(client: TestClient) -> None:
    polygon = {"type": "Polygon", "coordinates": [[[106.40, 10.53], [106.42, 10.53], [106.42, 10.54],
                                                   [106.40, 10.54], [106.40, 10.53]]]}
    r = client.post("/locate", json=polygon, headers={"Origin": PAGE})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"


def test_tiles_carry_cors_through_the_fast_path_and_the_routes(settings) -> None:
    from app.main import create_app

    with TestClient(create_app(settings)) as fast, TestClient(_without_fast_path(create_app(settings))) as slow:
        for path in TILE_PATHS:
            for client in (fast, slow):
                r = client.get(path, headers={"Origin": PAGE})
                assert r.status_code == 200, path
                assert r.headers["access-control-allow-origin"] == "*"
                assert _exposed(r) >= EXPOSED and r.headers["etag"]
                again = client.get(path, headers={"Origin": PAGE, "If-None-Match": r.headers["etag"]})
                assert again.status_code == 304 and again.headers["access-control-allow-origin"] == "*"


@pytest.fixture()
def listed_origins_client(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    from app.main import create_app

    settings = make_settings(db_url, tmp_path, cors_origins=f"{PAGE}, https://maps.example.org/")
    with TestClient(create_app(settings)) as client:
        yield client


def test_only_listed_origins_when_configured(listed_origins_client: TestClient) -> None:
    for origin in (PAGE, "https://maps.example.org"):
        r = listed_origins_client.get("/collections/zones/items", headers={"Origin": origin})
        assert r.headers["access-control-allow-origin"] == origin
        assert "origin" in r.headers["vary"].lower()
        tile = listed_origins_client.get(TILE_PATHS[0], headers={"Origin": origin})
        assert tile.headers["access-control-allow-origin"] == origin
    other = listed_origins_client.get("/collections/zones/items", headers={"Origin": "http://evil.example"})
    assert other.status_code == 200 and "access-control-allow-origin" not in other.headers
    preflight = listed_origins_client.options("/locate", headers={"Origin": "http://evil.example",
                                                                  "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 400 and "access-control-allow-origin" not in preflight.headers


def test_no_cors_when_no_origin_is_allowed(db_url: str, tmp_path: Path) -> None:
    from app.main import create_app

    with TestClient(create_app(make_settings(db_url, tmp_path, cors_origins=""))) as client:
        r = client.get("/collections/zones/items", headers={"Origin": PAGE})
        assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


def test_settings_parse_the_origin_list() -> None:
    from spatial.settings import Settings

    assert Settings(cors_origins="*").cors_origin_list == ["*"]
    assert Settings(cors_origins="http://a.example/, http://b.example").cors_origin_list == \
           ["http://a.example", "http://b.example"]
    assert Settings(cors_origins="http://a.example,*").cors_origin_list == ["*"]
    assert Settings(cors_origins=" ").cors_origin_list == []


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_writes_are_preflighted_with_their_token(client: TestClient, method: str) -> None:
    """An editing page on another origin: the preflight of a Part 4 write allows its method and its Authorization,
    If-Match and Content-Type headers, and the answer exposes the ETag, Location and proposal it names."""
    r = client.options("/collections/zones/items/1", headers={
        "Origin": PAGE, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, if-match, content-type"})
    assert r.status_code == 200, r.text
    assert method in r.headers["access-control-allow-methods"]
    allowed = r.headers["access-control-allow-headers"].lower()
    assert all(h in allowed for h in ("authorization", "if-match", "content-type"))
    assert "access-control-allow-credentials" not in r.headers
    answer = client.get("/collections/zones/items/1", headers={"Origin": PAGE})
    assert {"etag", "location", "lapis-proposal"} <= _exposed(answer)
