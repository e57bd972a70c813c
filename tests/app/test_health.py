from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from app.main import create_app
from spatial import migrate
from spatial.embedded import EmbeddedCluster
from tests.helpers import make_settings


def test_health_ok(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["postgresql"].startswith("15") or int(body["postgresql"].split(".")[0]) >= 15
    assert body["postgis"].startswith("3")


def test_landing_lists_layers_with_counts_and_extent(client: TestClient) -> None:
    body = client.get("/").json()
    layers = {layer["id"]: layer for layer in body["layers"]}
    assert layers["admin_units"]["count"] == 16
    assert layers["zones"]["count"] >= 4
    assert layers["projects"]["count"] >= 12
    west, south, east, north = layers["admin_units"]["bbox"]
    assert 105.45 <= west < east <= 106.85 and 10.35 <= south < north <= 11.1
    assert layers["plans"]["bbox"] is None


def test_health_503_when_database_stops(cluster_home: Path) -> None:
    cluster = EmbeddedCluster(cluster_home / ".data", "lapis", throwaway=True)
    try:
        url = cluster.start().url
        migrate.upgrade(url)
        with TestClient(create_app(make_settings(url, cluster_home))) as client:
            assert client.get("/health").status_code == 200
            cluster.stop()
            response = client.get("/health")
            assert response.status_code == 503
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["title"] == "Database unavailable"
            assert client.get("/").status_code == 503
    finally:
        cluster.destroy()


def test_unknown_path_is_problem_json(client: TestClient) -> None:
    response = client.get("/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
