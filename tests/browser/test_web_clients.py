"""Web maps on another origin: a Leaflet, an OpenLayers and a MapLibre page (the libraries from npm), served by a
small static server on a port of their own, draw the plan from LAPIS in headless Chromium — Leaflet the zones'
GeoJSON items, OpenLayers the MVT tiles (VectorTile source + MVT format), MapLibre LAPIS's style and TileJSON. Every
request to LAPIS is cross-origin, so these need CORS: a blocked request shows as a console error and a blank map."""

from __future__ import annotations

import functools
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from spatial.embedded import free_port
from spatial.settings import PROJECT_ROOT

PAGES = Path(__file__).resolve().parent / "clients"
NODE_MODULES = PROJECT_ROOT / "node_modules"
VENDOR = {  # what each page loads, copied from node_modules
    "leaflet": ("leaflet/dist/leaflet.js", "leaflet/dist/leaflet.css"),
    "ol": ("ol/dist/ol.js", "ol/ol.css"),
    "maplibre": ("maplibre-gl/dist/maplibre-gl.js", "maplibre-gl/dist/maplibre-gl.css"),
}
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
TILE_URL = re.compile(r"/tiles/WebMercatorQuad/\d+/\d+/\d+")


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ANN401 - the base class's signature
        pass


@pytest.fixture(scope="module")
def other_origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The client pages and their libraries, served from http://127.0.0.1:<another free port>."""
    root = tmp_path_factory.mktemp("web-clients")
    for page in PAGES.iterdir():
        shutil.copy(page, root / page.name)
    for name, files in VENDOR.items():
        (root / "vendor" / name).mkdir(parents=True)
        for file in files:
            shutil.copy(NODE_MODULES / file, root / "vendor" / name / Path(file).name)
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), functools.partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture()
def open_client(browser: Any, other_origin: str, live_server_url: str) -> Iterator[Callable[..., Any]]:
    """Opens a client page of the other origin against LAPIS; returns (page, result, errors, requests to LAPIS)."""
    pages: list[Any] = []

    def _open(name: str) -> tuple[Any, dict[str, Any], list[str], list[str]]:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        assert other_origin != live_server_url
        page = browser.new_page(viewport={"width": 900, "height": 700})
        pages.append(page)
        errors: list[str] = []
        to_lapis: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url} {r.failure}"))
        page.on("request", lambda r: to_lapis.append(r.url) if r.url.startswith(live_server_url) else None)
        page.goto(f"{other_origin}/{name}.html?api={live_server_url}", wait_until="load")
        try:
            page.wait_for_function("window.lapisClient !== undefined", timeout=45_000)
            result = page.evaluate("window.lapisClient")
        except PlaywrightTimeout:  # a map that never finished drawing: the errors say why
            result = {"error": "the page did not finish drawing in 45 s"}
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"client-{name}.png"))
        return page, result, errors, to_lapis

    yield _open
    for page in pages:
        page.close()


def assert_drawn_without_cors_errors(result: dict[str, Any], errors: list[str], painted: float = 0.2) -> None:
    assert "error" not in result, (result, errors)
    assert not [e for e in errors if "CORS" in e or "Access-Control" in e], errors
    assert errors == [], errors
    pixels = result["pixels"]
    assert pixels["painted"] > painted and pixels["colours"] > 5, pixels  # not blank: the plan covers the view


def test_leaflet_draws_the_zones_geojson_from_another_origin(open_client: Callable[..., Any]) -> None:
    _page, result, errors, to_lapis = open_client("leaflet")
    # only the zones are drawn, on Leaflet's padded canvas (1.2× the view each way): the real province outline,
    # long and thin, covers about 6 % of it (the tile-based clients paint the whole view)
    assert_drawn_without_cors_errors(result, errors, painted=0.04)
    assert result["features"] == result["drawn"] == 6
    assert "Vùng đô thị và công nghiệp" in result["names"]
    assert any("/collections/zones/items" in url for url in to_lapis)


def test_openlayers_draws_the_mvt_tiles_from_another_origin(open_client: Callable[..., Any]) -> None:
    _page, result, errors, to_lapis = open_client("openlayers")
    assert_drawn_without_cors_errors(result, errors)
    assert result["tileErrors"] == 0
    assert result["features"] > 0 and {"admin_units", "zones"} <= set(result["layers"]), result
    assert sum("/tiles/WebMercatorQuad/" in url for url in to_lapis) >= 2


def test_maplibre_draws_the_plan_style_and_tilejson_from_another_origin(open_client: Callable[..., Any]) -> None:
    _page, result, errors, to_lapis = open_client("maplibre")
    assert_drawn_without_cors_errors(result, errors)
    assert result["features"] > 0 and {"admin_units", "zones"} <= set(result["layers"]), result
    assert any(url.split("?")[0].endswith("/styles/plan.json") for url in to_lapis)
    assert any("/tiles/WebMercatorQuad/tilejson.json" in url for url in to_lapis)
    assert any(TILE_URL.search(url) for url in to_lapis)  # the tiles the TileJSON points at, on LAPIS too
