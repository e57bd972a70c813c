"""The map's "what may be built here?" panel in headless chromium: click a point, draw a parcel, both languages."""

from __future__ import annotations

import json
from typing import Any

import shapely
from shapely.geometry import shape

from spatial.queries.check import USE_CATEGORIES
from spatial.settings import PROJECT_ROOT
from tests.helpers import BUNDLED_DATA, wait_for_js

ARTIFACTS = PROJECT_ROOT / "test-artifacts"


def _zones() -> dict[str, shapely.Geometry]:
    features = json.loads((BUNDLED_DATA / "zones.geojson").read_text(encoding="utf-8"))["features"]
    return {f["properties"]["code"]: shape(f["geometry"]) for f in features}


def _click(page: Any, lon: float, lat: float) -> None:
    x, y = page.evaluate(f"(() => {{ const p = window.lapis.map.project([{lon}, {lat}]); return [p.x, p.y]; }})()")
    page.mouse.click(x, y)


def _verdict(page: Any) -> str:
    wait_for_js(page, "window.lapisCheck.state.result && !window.lapisCheck.state.busy", timeout=20_000)
    return page.locator("#check-result .verdict-overall").get_attribute("data-verdict")


def test_check_panel_point_and_drawn_parcel(open_map, live_server_url: str) -> None:
    errors: list[str] = []
    external: list[str] = []
    zones = _zones()
    deep_r3 = zones["R3"].buffer(-0.02).point_on_surface()
    page = open_map(live_server_url, errors, external, view=f"11/{deep_r3.y}/{deep_r3.x}")
    options = page.eval_on_selector_all("#check-use option", "els => els.map(e => e.value)")
    assert options == list(USE_CATEGORIES)
    page.locator("#check-on").check()
    page.select_option("#check-use", "industrial")

    _click(page, deep_r3.x, deep_r3.y)  # a click checks the point instead of opening the locate popup
    assert _verdict(page) == "prohibited"
    text = page.locator("#check-result").inner_text()
    assert "Không được phép" in text and "Vùng đệm sinh thái" in text
    assert page.locator(".maplibregl-popup").count() == 0

    page.select_option("#check-use", "agriculture")  # changing the use checks the same place again
    wait_for_js(page, "document.querySelector('#check-result .verdict-overall')?.dataset.verdict === 'allowed'",
                timeout=20_000)

    # draw a parcel across the R1/R3 border: four clicks, then Finish
    border = shapely.intersection(zones["R1"].boundary, zones["R3"].boundary)
    line = max((g for g in getattr(border, "geoms", [border]) if g.geom_type == "LineString"), key=lambda g: g.length)
    c = line.interpolate(0.5, normalized=True)
    page.evaluate(f"window.lapis.map.jumpTo({{center: [{c.x}, {c.y}], zoom: 13}})")
    wait_for_js(page, "window.lapis.map.loaded()", timeout=20_000)
    page.locator("#check-draw").click()
    page.select_option("#check-use", "industrial")
    for dx, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        _click(page, c.x + dx * 0.004, c.y + dy * 0.004)
    assert page.locator("#check-finish").is_enabled()
    page.locator("#check-finish").click()
    assert _verdict(page) == "prohibited"
    codes = page.evaluate("window.lapisCheck.state.result.zones.map(z => z.code)")
    assert {"R1", "R3"} <= set(codes)

    page.locator("[data-lang=en]").click()
    wait_for_js(page, "document.querySelector('#check h2').textContent === 'What may be built here?'",
                timeout=20_000)
    wait_for_js(page, "document.querySelector('#check-result').innerText.includes('Prohibited')",
                timeout=20_000)
    assert "Ecological buffer region" in page.locator("#check-result").inner_text()
    # the drawn parcel is still on the map after the style was replaced
    wait_for_js(page, "window.lapis.map.getSource('lapis-check') !== undefined", timeout=20_000)
    page.locator("#check-result").scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map-check-panel.png"))
    assert errors == [], errors
    assert external == [], external
    page.close()
