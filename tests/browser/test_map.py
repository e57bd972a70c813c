"""The web map in a real browser: Debian's chromium, headless, driven by Playwright (system executable)."""

from __future__ import annotations

import pytest

from spatial.settings import PROJECT_ROOT
from tests.helpers import wait_for_js

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
TAN_AN = (106.413, 10.535)


def test_map_loads_renders_and_locates_tan_an(browser, open_map, live_server_url: str) -> None:
    errors: list[str] = []
    external: list[str] = []
    page = open_map(live_server_url, errors, external)
    assert page.evaluate("window.lapis.errors") == []
    # the canvas is not blank: many distinct colours in the WebGL drawing buffer
    colours = page.evaluate("""() => {
        const c = document.querySelector('canvas.maplibregl-canvas');
        const probe = document.createElement('canvas'); probe.width = 200; probe.height = 150;
        const ctx = probe.getContext('2d'); ctx.drawImage(c, 0, 0, 200, 150);
        const d = ctx.getImageData(0, 0, 200, 150).data; const seen = new Set();
        for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
        return seen.size;
    }""")
    assert colours > 20, colours
    assert page.evaluate("window.lapis.map.queryRenderedFeatures().length") > 0
    # the legend and the layer toggles came from the style
    assert page.locator("#toggles input").count() >= 5
    assert page.locator("#legend li").count() >= 8

    point = page.evaluate(f"(() => {{ const p = window.lapis.map.project([{TAN_AN[0]}, {TAN_AN[1]}]); "
                          "return [p.x, p.y]; })()")
    page.mouse.click(*point)
    popup = page.locator(".maplibregl-popup-content")
    popup.wait_for(timeout=15_000)
    wait_for_js(page, "document.querySelector('.maplibregl-popup-content dl')", timeout=15_000)
    assert "Tân An" in popup.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map-tan-an.png"))
    assert errors == [], errors
    assert external == [], external
    page.close()


def test_english_switch_and_layer_toggle(browser, open_map, live_server_url: str) -> None:
    errors: list[str] = []
    external: list[str] = []
    page = open_map(live_server_url, errors, external)
    page.click("button[data-lang=en]")
    wait_for_js(page, "document.documentElement.lang === 'en'")
    assert "Long An provincial plan" in page.locator("h1").inner_text()
    wait_for_js(page, "window.lapis.map.getStyle().metadata['lapis:lang'] === 'en'", timeout=15_000)
    page.uncheck("#toggles input[data-group=zones]")
    assert page.evaluate("window.lapis.map.getLayoutProperty('zones-region-fill', 'visibility')") == "none"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map-en.png"))
    assert errors == [] and external == [], (errors, external)
    page.close()




def test_map_from_a_pmtiles_export(browser, open_map, live_server_url: str, db_url: str, settings) -> None:
    """Static mode: the viewer reads a PMTiles export through HTTP range requests, no tile endpoint."""
    from concurrent.futures import ThreadPoolExecutor

    from spatial.tiles.pmtiles_export import export_pmtiles

    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API owns this thread's event loop
        pool.submit(export_pmtiles, db_url, settings.pmtiles_path / "plan.pmtiles", minzoom=0, maxzoom=11).result()
    errors: list[str] = []
    external: list[str] = []
    requests: list[str] = []
    page = open_map(live_server_url, errors, external, "?pmtiles=plan.pmtiles", requests)
    assert page.evaluate("window.lapis.map.queryRenderedFeatures({layers: ['admin-district-line']}).length") > 0
    assert any("/pmtiles/plan.pmtiles" in r for r in requests)
    assert not any("/tiles/WebMercatorQuad" in r for r in requests)
    assert errors == [] and external == [], (errors, external)
    page.close()


def test_search_box_flies_to_the_result(browser, open_map, live_server_url: str) -> None:
    errors: list[str] = []
    external: list[str] = []
    page = open_map(live_server_url, errors, external)
    page.evaluate("window.lapis.map.jumpTo({center: [106.0, 10.9], zoom: 8})")
    page.fill("#search-input", "tan an")  # no accents: search ignores diacritics
    first = page.locator("#search-results li").first
    first.wait_for(timeout=15_000)
    assert "Tân An" in first.inner_text()
    first.click()
    wait_for_js(page, """() => { const c = window.lapis.map.getCenter();
        return Math.abs(c.lng - 106.39) < 0.1 && Math.abs(c.lat - 10.54) < 0.1 && !window.lapis.map.isMoving(); }""",
                           timeout=15_000)
    assert errors == [] and external == [], (errors, external)
    page.close()


def _first_id(url: str, collection: str) -> int:
    import json
    import urllib.request

    with urllib.request.urlopen(f"{url}/collections/{collection}/items?limit=1&f=json", timeout=10) as response:
        return json.load(response)["features"][0]["id"]


@pytest.mark.parametrize(("collection", "item", "features"), [("admin_units", True, 1), ("axes", False, 6)])
def test_html_page_map_draws_the_data(browser, open_map, live_server_url: str, collection: str, item: bool,
                                      features: int) -> None:
    """The small map of an item page (its geometry) and a collection page (its items), all from the app."""
    path = f"/collections/{collection}" + (f"/items/{_first_id(live_server_url, collection)}" if item else "")
    errors: list[str] = []
    requests: list[str] = []
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{live_server_url}{path}?f=html", wait_until="load")
    wait_for_js(page, "window.lapisPage && window.lapisPage.ready === true", timeout=60_000)
    assert page.evaluate("window.lapisPage.errors") == []
    assert page.evaluate("window.lapisPage.features") == features
    drawn = "data-fill" if item else "data-line"
    assert page.evaluate(f"window.lapisPage.map.queryRenderedFeatures({{layers: ['{drawn}']}}).length") > 0
    # the canvas shows the data: a good share of pixels differ from the plain background
    share = page.evaluate("""() => {
        const c = document.querySelector('#page-map canvas');
        const probe = document.createElement('canvas'); probe.width = 200; probe.height = 120;
        const ctx = probe.getContext('2d'); ctx.drawImage(c, 0, 0, 200, 120);
        const d = ctx.getImageData(0, 0, 200, 120).data; let other = 0;
        for (let i = 0; i < d.length; i += 4) {
            if (Math.abs(d[i] - 0xf4) + Math.abs(d[i + 1] - 0xf1) + Math.abs(d[i + 2] - 0xea) > 30) other++;
        }
        return other / (d.length / 4);
    }""")
    assert share > (0.05 if item else 0.005), share
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"page-map-{collection}.png"), full_page=True)
    assert errors == [], errors
    assert requests and all(r.startswith((live_server_url, "data:", "blob:")) for r in requests), requests
    page.close()
