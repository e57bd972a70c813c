"""The viewer's page, assets and the MapLibre style (structure; the browser test renders it)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def test_map_page_and_assets_are_local(client: TestClient) -> None:
    page = client.get("/map")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "http://" not in page.text and "https://" not in page.text  # nothing from a CDN
    assert client.get("/map/assets/map.js").status_code == 200
    js = client.get("/map/vendor/maplibre-gl.js")
    assert js.status_code == 200 and len(js.content) > 100_000
    assert client.get("/map/vendor/maplibre-gl.css").status_code == 200
    r = client.get("/map/vendor/..%2Fpackage.json")
    assert r.status_code == 404


def test_every_script_and_stylesheet_of_the_map_page_is_served(client: TestClient) -> None:
    """The edit mode's scripts and the drawing library (Mapbox GL Draw, from node_modules) included."""
    refs = re.findall(r'(?:src|href)="(/map/[^"]+)"', client.get("/map").text)
    assert {"/map/vendor/mapbox-gl-draw.js", "/map/assets/edit.js", "/map/assets/proposals.js",
            "/map/assets/upload.js"} <= set(refs)
    for ref in refs:
        response = client.get(ref)
        assert response.status_code == 200, ref
        assert response.headers["content-type"].startswith("text/css" if ref.endswith(".css") else "text/javascript")


def test_style_vi_and_en(client: TestClient) -> None:
    vi = client.get("/styles/plan.json").json()
    assert vi["version"] == 8 and "glyphs" not in vi and "sprite" not in vi
    assert vi["sources"]["plan"]["url"].endswith("/tiles/WebMercatorQuad/tilejson.json")
    source_layers = {layer.get("source-layer") for layer in vi["layers"]}
    assert {"admin_units", "zones", "corridors", "axes", "projects", "parcels"} <= source_layers
    label = next(layer for layer in vi["layers"] if layer["id"] == "admin-label")
    assert label["layout"]["text-field"] == ["get", "name_vi"]
    assert any(item["label"] == "Vùng đệm sinh thái" for item in vi["metadata"]["lapis:legend"])
    en = client.get("/styles/plan.json?lang=en").json()
    label = next(layer for layer in en["layers"] if layer["id"] == "admin-label")
    assert label["layout"]["text-field"][0] == "coalesce"
    assert any(item["label"] == "Ecological buffer region" for item in en["metadata"]["lapis:legend"])
    bad = client.get("/styles/plan.json?lang=fr")
    assert bad.status_code == 400 and bad.json()["parameter"] == "lang"


def test_style_basemap_from_settings(db_url: str, tmp_path) -> None:
    from app.main import create_app
    from tests.helpers import make_settings

    settings = make_settings(db_url, tmp_path, basemap_url="http://127.0.0.1:9/{z}/{x}/{y}.png")
    with TestClient(create_app(settings)) as client:
        style = client.get("/styles/plan.json").json()
    assert style["sources"]["basemap"]["tiles"] == ["http://127.0.0.1:9/{z}/{x}/{y}.png"]
    assert style["layers"][1]["id"] == "basemap"
