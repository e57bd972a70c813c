"""Honest edges: links never follow a Host header the server was not configured for, every response carries the
security headers and a request id, /metrics can be kept to the operator, and the API definition lists every
problem answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from spatial.tiles.grid import lonlat_to_tile
from tests.helpers import PROBLEM, assert_problem, make_settings

TAN_AN = (106.413, 10.535)
EVIL = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}


def links_of(client: TestClient, headers: dict[str, str] | None = None) -> list[str]:
    """Every URL the API hands out for following: landing and collections links, an items page's next link,
    TileJSON's tile URL and the style's tile source."""
    headers = headers or {}
    urls = [link["href"] for link in client.get("/", headers=headers).json()["links"]]
    collections = client.get("/collections", headers=headers).json()
    urls += [link["href"] for link in collections["links"]]
    # (a data licence's link points at the licence itself, not at LAPIS)
    urls += [link["href"] for c in collections["collections"] for link in c["links"] if link["rel"] != "license"]
    items = client.get("/collections/zones/items?limit=2", headers=headers).json()
    urls += [link["href"] for link in items["links"]]
    assert any(link["rel"] == "next" for link in items["links"])
    urls += client.get("/tiles/WebMercatorQuad/tilejson.json", headers=headers).json()["tiles"]
    style = client.get("/styles/plan.json", headers=headers).json()
    urls += [source["url"] for source in style["sources"].values() if "url" in source]
    return urls


@pytest.fixture(scope="module")
def public(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(db_url, tmp_path_factory.mktemp("public"), public_url="https://plan.example.vn/lapis/")
    with TestClient(create_app(settings)) as client:
        yield client


# -- links -----------------------------------------------------------------------------------------------
def test_with_a_public_url_a_host_header_changes_no_link(public: TestClient) -> None:
    honest, attacked = links_of(public), links_of(public, EVIL)
    assert attacked == honest
    assert all(url.startswith("https://plan.example.vn/lapis/") for url in honest), honest
    self_link = public.get("/collections/zones/items/1", headers=EVIL).json()["links"][0]["href"]
    assert self_link == "https://plan.example.vn/lapis/collections/zones/items/1"


def test_with_an_allow_list_another_host_is_refused(db_url: str, tmp_path: Path) -> None:
    settings = make_settings(db_url, tmp_path, allowed_hosts="plan.example.vn, *.longan.gov.vn")
    with TestClient(create_app(settings)) as client:
        for host in ("evil.example", "plan.example.vn.evil.example", "longan.gov.vn.evil", "a b", "x:y:z"):
            body = assert_problem(client.get("/", headers={"Host": host}), 400, "Host")
            assert "evil" not in json.dumps(body)
        for host in ("plan.example.vn", "plan.example.vn:8443", "gis.longan.gov.vn"):
            urls = links_of(client, {"Host": host})
            assert all(url.startswith(f"http://{host}/") for url in urls), urls


def test_by_default_only_local_names_are_answered(db_url: str, tmp_path: Path) -> None:
    settings = make_settings(db_url, tmp_path, allowed_hosts=None)  # not even the test session's testserver
    with TestClient(create_app(settings), base_url="http://localhost:8000") as client:
        assert all(url.startswith("http://localhost:8000/") for url in links_of(client))
        assert client.get("/", headers={"Host": "127.0.0.1:8000"}).status_code == 200
        assert_problem(client.get("/", headers={"Host": "evil.example"}), 400, "Host")
        assert_problem(client.get(f"/tiles/WebMercatorQuad/10/{lonlat_to_tile(*TAN_AN, 10).y}/0",
                                  headers={"Host": "evil.example"}), 400, "Host")  # the tile fast path too


# -- headers and request ids -----------------------------------------------------------------------------
def test_every_response_carries_the_security_headers(client: TestClient) -> None:
    tile = lonlat_to_tile(*TAN_AN, 10)
    for path in ("/", "/map", "/api.html", "/collections?f=html", "/no-such-page",
                 f"/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}", "/map/assets/map.js"):
        response = client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin", path
        assert "frame-ancestors" in response.headers["content-security-policy"], path
        assert response.headers["x-frame-options"] in ("DENY", "SAMEORIGIN"), path
        assert len(response.headers["x-request-id"]) >= 8, path
    page = client.get("/map").headers["content-security-policy"]
    assert "script-src 'self';" in page and "worker-src 'self' blob:" in page and "'unsafe-eval'" not in page
    assert client.get("/").headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_the_api_page_runs_no_inline_script(client: TestClient) -> None:
    page = client.get("/api.html").text
    assert "<script>" not in page and 'src="http://testserver/api.js"' in page
    assert client.get("/api.js").headers["content-type"].startswith("text/javascript")


def test_a_500_carries_the_headers_and_a_request_id(db_url: str, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the tile cache folder should be")
    tile = lonlat_to_tile(*TAN_AN, 9)
    with TestClient(create_app(make_settings(db_url, tmp_path, tile_cache_dir=blocker)),
                    raise_server_exceptions=False) as client:
        response = client.get(f"/collections/zones/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}")
    body = assert_problem(response, 500)
    assert body["request_id"] == response.headers["x-request-id"]
    assert response.headers["x-content-type-options"] == "nosniff" and "not-a-folder" not in response.text


def test_problems_carry_the_request_id_and_a_proxys_id_is_kept(client: TestClient) -> None:
    response = client.get("/collections/nope")
    assert response.json()["request_id"] == response.headers["x-request-id"]
    kept = client.get("/collections/nope", headers={"X-Request-ID": "lb-1234abcd"})
    assert kept.headers["x-request-id"] == "lb-1234abcd" and kept.json()["request_id"] == "lb-1234abcd"
    odd = client.get("/collections/nope", headers={"X-Request-ID": "<script>"})
    assert odd.headers["x-request-id"] != "<script>"


def test_405_lists_every_method_of_the_path(client: TestClient) -> None:
    response = client.delete("/locate")
    assert_problem(response, 405)
    assert response.headers["allow"] == "GET, POST"


# -- /metrics --------------------------------------------------------------------------------------------
def test_metrics_are_open_unless_restricted(client: TestClient) -> None:
    text = client.get("/metrics").text
    assert "lapis_tile_cache_bytes" in text


def test_metrics_by_token(db_url: str, tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(db_url, tmp_path, metrics_token="s3cret-token"))) as client:
        missing = assert_problem(client.get("/metrics"), 401)
        assert client.get("/metrics").headers["www-authenticate"] == "Bearer" and "s3cret" not in json.dumps(missing)
        assert_problem(client.get("/metrics", headers={"Authorization": "Bearer wrong"}), 403)
        assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200


@pytest.mark.parametrize(("address", "status"), [("10.1.2.3", 200), ("192.0.2.7", 403), ("::1", 200)])
def test_metrics_by_network(db_url: str, tmp_path: Path, address: str, status: int) -> None:
    settings = make_settings(db_url, tmp_path, metrics_allow="10.0.0.0/8, ::1/128")
    with TestClient(create_app(settings), client=(address, 40000)) as client:
        assert client.get("/metrics").status_code == status
        assert client.get("/health").status_code == 200  # only /metrics is restricted


# -- the API definition ----------------------------------------------------------------------------------
def test_the_api_definition_lists_every_problem_answer(client: TestClient) -> None:
    spec = client.get("/api").json()
    assert "HTTPValidationError" not in json.dumps(spec)
    assert spec["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status"]
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            responses: dict[str, Any] = operation["responses"]
            assert responses["400"]["content"][PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}
            if "{" in path:
                assert "404" in responses, (method, path)
            if "requestBody" in operation:
                assert {"413", "415", "422"} <= set(responses), (method, path)
    assert {"401", "403", "503"} <= set(spec["paths"]["/metrics"]["get"]["responses"])
    crs = next(p for p in spec["paths"]["/collections/{collectionId}/items"]["get"]["parameters"]
               if p.get("name") == "crs")  # (`limit` is a $ref to the shared parameter)
    assert "http://www.opengis.net/def/crs/EPSG/0/9210" in crs["schema"]["enum"]
