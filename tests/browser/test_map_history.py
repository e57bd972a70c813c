"""The map's history views in headless Chromium, on a scene of their own (tests/browser/history_scene.py: zone C1
moved and renamed, a project deleted, one added, revision 2 recorded): a feature's timeline and an old version drawn,
the plan as of revision 1 (tile requests with `asof`, the old geometry rendered, the banner and the way back), the
comparison of revisions 1 and 2 counted as the API counts it, both languages — all under the page's CSP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from spatial.settings import PROJECT_ROOT
from tests.browser.history_scene import NEW_NAME_EN, NEW_NAME_VI, REASON, STEWARD, Scene, build_scene, get_json
from tests.helpers import make_settings, serve_in_thread, wait_for_js

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
WATCH_VIOLATIONS = """window.cspViolations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));"""
TILE_PATH = "/tiles/WebMercatorQuad/"


@dataclass
class Served:
    url: str
    scene: Scene


@dataclass
class Page:
    page: Any
    errors: list[str]
    external: list[str]
    requests: list[str]

    def js(self, expression: str) -> Any:
        return self.page.evaluate(expression)

    def settle(self) -> None:
        """Waits for the map to stop moving and finish loading its tiles."""
        self.page.wait_for_timeout(200)
        wait_for_js(self.page, "!window.lapis.map.isMoving() && window.lapis.map.loaded()", timeout=30_000)

    def at(self, lonlat: tuple[float, float], zoom: float = 11) -> tuple[float, float]:
        """Centres the map on `lonlat` and returns its pixel once the tiles there are drawn."""
        self.js(f"window.lapis.map.jumpTo({{center: [{lonlat[0]}, {lonlat[1]}], zoom: {zoom}}})")
        self.settle()
        x, y = self.js(f"(() => {{ const p = window.lapis.map.project([{lonlat[0]}, {lonlat[1]}]); "
                       "return [p.x, p.y]; })()")
        return x, y

    def zones_at(self, lonlat: tuple[float, float]) -> list[int]:
        """The zones drawn at `lonlat` (the plan's tiles, as the map shows them now)."""
        x, y = self.at(lonlat)
        return self.js(f"window.lapis.map.queryRenderedFeatures([{x}, {y}]).filter((f) => f.source === 'plan' "
                       "&& f.sourceLayer === 'zones' && f.layer.type === 'fill').map((f) => f.id)")

    def clean(self) -> None:
        assert self.js("window.cspViolations") == []
        assert self.errors == [] and self.external == [], (self.errors, self.external)


@pytest.fixture(scope="module")
def served(make_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from app.main import create_app

    url = make_database()
    with serve_in_thread(create_app(make_settings(url, tmp_path_factory.mktemp("map-history")))) as server:
        yield Served(server, build_scene(url, server))


@pytest.fixture()
def open_page(browser: Any) -> Iterator[Callable[[str], Page]]:
    pages: list[Any] = []

    def _open(url: str) -> Page:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        pages.append(page)
        opened = Page(page, [], [], [])
        page.add_init_script(WATCH_VIOLATIONS)
        page.on("console", lambda m: opened.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: opened.errors.append(str(e)))
        host = url.split("//", 1)[1]
        page.on("request", lambda r: opened.requests.append(r.url))
        page.on("request", lambda r: opened.external.append(r.url) if not r.url.split("//", 1)[-1].startswith(host)
                and not r.url.startswith(("data:", "blob:")) else None)
        page.goto(f"{url}/map#view=11/10.5/106.38", wait_until="load")
        wait_for_js(page, "window.lapis && window.lapis.ready === true", timeout=60_000)
        wait_for_js(page, "window.lapisHistory.state.revisions.length === 2")
        return opened

    yield _open
    for page in pages:
        page.close()


def test_a_features_timeline_and_an_old_version_drawn(served: Served, open_page: Callable[[str], Page]) -> None:
    scene, p = served.scene, open_page(served.url)
    versions = get_json(served.url, f"/collections/zones/items/{scene.centre}/history")["features"]
    assert len(versions) == 2
    p.js("window.lapisHistory.state.pageSize = 1")  # one version a page: the older one comes on demand
    p.page.mouse.click(*p.at(scene.new_point))
    wait_for_js(p.page, "document.querySelectorAll('#history-versions li').length === 1", timeout=15_000)
    assert p.js("window.lapisHistory.state.feature") == {"layer": "zones", "id": scene.centre}
    p.page.click("#history-older")
    wait_for_js(p.page, "document.querySelectorAll('#history-versions li').length === 2", timeout=15_000)
    assert p.page.locator("#history-older").count() == 0
    items = p.page.locator("#history-versions li")
    newest, oldest = items.nth(0), items.nth(1)
    assert newest.get_attribute("data-version") == str(versions[0]["version"]["number"])
    assert newest.get_attribute("data-operation") == "update" and oldest.get_attribute("data-operation") == "insert"
    assert STEWARD in newest.inner_text() and REASON in newest.inner_text() and NEW_NAME_VI in newest.inner_text()
    assert "Trung tâm Tân An" in oldest.inner_text() and NEW_NAME_VI not in oldest.inner_text()
    assert "Sửa đổi" in newest.inner_text() and "Tạo mới" in oldest.inner_text()

    oldest.click()
    wait_for_js(p.page, "window.lapisHistory.state.drawn !== null")
    drawn = p.js("window.lapisHistory.state.drawn")
    assert drawn["geometry"] == versions[1]["geometry"]  # the old version, from the history API
    source = "window.lapis.map.getSource('lapis-history').serialize().data"
    assert p.js(f"{source}.features[0].geometry") == drawn["geometry"]
    p.settle()
    assert p.js("window.lapis.map.queryRenderedFeatures({layers: ['lapis-history-fill']}).length") > 0
    assert "selected" in (oldest.get_attribute("class") or "")
    ARTIFACTS.mkdir(exist_ok=True)
    p.page.screenshot(path=str(ARTIFACTS / "map-history-timeline.png"))
    p.page.click("#history-close")
    wait_for_js(p.page, "window.lapis.map.getSource('lapis-history').serialize().data.features.length === 0")
    p.clean()


def _asof_of_tiles(requests: list[str]) -> set[str | None]:
    """The `asof` of every plan tile requested (None for a tile of the present)."""
    return {parse_qs(urlsplit(r).query).get("asof", [None])[0] for r in requests
            if TILE_PATH in r and not r.endswith("tilejson.json")}


def test_the_plan_as_of_revision_1_and_back_to_now(served: Served, open_page: Callable[[str], Page]) -> None:
    scene, p = served.scene, open_page(served.url)
    first = get_json(served.url, "/revisions")["revisions"][0]
    assert scene.centre in p.zones_at(scene.new_point) and scene.centre not in p.zones_at(scene.old_point)
    assert p.page.locator("#asof-banner").is_hidden()

    before = len(p.requests)
    p.page.select_option("#asof-revision", "1")
    wait_for_js(p.page, "!document.querySelector('#asof-banner').hidden")
    assert scene.centre in p.zones_at(scene.old_point)  # the old geometry, from tiles of then
    assert scene.centre not in p.zones_at(scene.new_point)
    assert _asof_of_tiles(p.requests[before:]) == {first["asof"]}
    banner = p.page.locator("#asof-banner").inner_text()
    assert "Đang xem quy hoạch tại thời điểm" in banner and "R1" in banner and "686/QĐ-TTg" in banner
    assert p.js("document.body.classList.contains('viewing-past')")

    # a click then shows the feature as it stood (the item asof) and /locate answers as of then
    p.page.mouse.click(*p.at(scene.old_point))
    wait_for_js(p.page, "document.querySelector('#history-then')", timeout=15_000)
    assert "Trung tâm Tân An (C1)" in p.page.locator("#history-then").inner_text()
    assert any(f"/collections/zones/items/{scene.centre}?asof=" in r for r in p.requests)
    assert any("/locate?" in r and "asof=" in r for r in p.requests)
    assert "valid-then" in (p.page.locator("#history-versions li").nth(1).get_attribute("class") or "")
    # the road deleted since is on the map then, and its timeline ends with the deletion
    p.page.mouse.click(*p.at(scene.on_removed, zoom=12))
    road = f"#history-here button[data-layer=projects][data-id='{scene.removed}']"
    wait_for_js(p.page, f"document.querySelector(\"{road}\")", timeout=15_000)
    if p.js("window.lapisHistory.state.feature.layer") != "projects":
        p.page.click(road)
    wait_for_js(p.page, f"window.lapisHistory.state.feature.id === {scene.removed} && "
                "document.querySelectorAll('#history-versions li').length === 2", timeout=15_000)
    operations = [p.page.locator("#history-versions li").nth(i).get_attribute("data-operation") for i in (0, 1)]
    assert operations == ["delete", "insert"]
    assert "Đường vành đai TP Tân An" in p.page.locator("#history-then").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    p.page.screenshot(path=str(ARTIFACTS / "map-history-asof.png"))

    before = len(p.requests)
    p.page.click("#asof-banner-now")
    wait_for_js(p.page, "document.querySelector('#asof-banner').hidden")
    assert scene.centre in p.zones_at(scene.new_point) and scene.centre not in p.zones_at(scene.old_point)
    assert _asof_of_tiles(p.requests[before:]) == {None}
    assert p.js("document.querySelector('#asof-revision').value") == ""

    # the time slider: its first stop is revision 1, to the microsecond
    before = len(p.requests)
    p.page.focus("#asof-slider")
    p.page.keyboard.press("Home")
    wait_for_js(p.page, "!document.querySelector('#asof-banner').hidden")
    assert p.js("window.lapisHistory.state.asof") == first["asof"]
    assert scene.centre in p.zones_at(scene.old_point)
    assert _asof_of_tiles(p.requests[before:]) == {first["asof"]}
    p.page.keyboard.press("End")
    wait_for_js(p.page, "document.querySelector('#asof-banner').hidden")
    assert p.js("window.lapisHistory.state.asof") is None
    p.clean()


def _totals(diff: dict[str, Any]) -> dict[str, int]:
    return {kind: sum(counts[kind] for counts in diff["summary"].values()) for kind in ("added", "removed", "changed")}


def test_compare_revisions_1_and_2_as_the_api_counts(served: Served, open_page: Callable[[str], Page]) -> None:
    scene, p = served.scene, open_page(served.url)
    diff = get_json(served.url, "/revisions/1/diff/2?f=geojson")
    totals = _totals(diff)
    assert totals == {"added": 1, "removed": 1, "changed": 1}
    assert p.js("[document.querySelector('#compare-from').value, document.querySelector('#compare-to').value]") \
        == ["1", "2"]
    p.page.click("#compare-run")
    wait_for_js(p.page, "document.querySelector('.compare-legend')", timeout=15_000)
    for kind, count in totals.items():
        assert p.page.locator(f".compare-legend li[data-change={kind}] .count").inner_text() == str(count)
        assert p.page.locator(f".compare-list > li[data-change={kind}]").count() == count
    keys = {f"{f['properties']['collection']}/{f['properties']['featureId']}" for f in diff["features"]}
    assert keys == {f"zones/{scene.centre}", f"projects/{scene.removed}", f"projects/{scene.added}"}
    assert {p.page.locator(".compare-list > li").nth(i).get_attribute("data-key") for i in range(3)} == keys
    changed = p.page.locator(".compare-list > li[data-change=changed]").inner_text()
    assert "name_en" in changed and NEW_NAME_EN in changed and "km²" in changed
    assert p.js("window.lapis.map.getSource('lapis-compare').serialize().data.features.length") == len(diff["features"])
    p.settle()
    drawn = p.js("window.lapis.map.queryRenderedFeatures({layers: ['lapis-compare-fill', 'lapis-compare-old', "
                 "'lapis-compare-line', 'lapis-compare-point']}).map((f) => f.properties.change)")
    assert set(drawn) == {"added", "removed", "changed"}
    ARTIFACTS.mkdir(exist_ok=True)
    p.page.screenshot(path=str(ARTIFACTS / "map-history-compare.png"))
    p.page.click("#compare-clear")
    wait_for_js(p.page, "window.lapis.map.getSource('lapis-compare').serialize().data.features.length === 0")
    p.clean()


def test_english_keeps_the_past_and_the_comparison(served: Served, open_page: Callable[[str], Page]) -> None:
    """A language switch replaces the map's style: the overlays and the tiles of the past come back with it."""
    scene, p = served.scene, open_page(served.url)
    first = get_json(served.url, "/revisions")["revisions"][0]
    p.page.click("#compare-run")
    wait_for_js(p.page, "document.querySelector('.compare-legend')", timeout=15_000)
    p.page.select_option("#asof-revision", "1")
    wait_for_js(p.page, "!document.querySelector('#asof-banner').hidden")
    p.page.mouse.click(*p.at(scene.old_point))
    wait_for_js(p.page, "document.querySelectorAll('#history-versions li').length === 2", timeout=15_000)

    before = len(p.requests)
    p.page.click("button[data-lang=en]")
    wait_for_js(p.page, "window.lapis.map.getStyle().metadata['lapis:lang'] === 'en'", timeout=15_000)
    wait_for_js(p.page, "window.lapis.map.getSource('lapis-compare') !== undefined")
    assert p.page.locator("#history-panel .panel-title").inner_text() == "Plan history"
    assert "Viewing the plan as of" in p.page.locator("#asof-banner").inner_text()
    assert p.page.locator(".compare-legend li[data-change=added]").inner_text().startswith("Added")
    assert "Changed" in p.page.locator("#history-versions li").nth(0).inner_text()
    assert "The feature then" in p.page.locator("#history-then").inner_text()
    assert p.page.locator("#asof-revision option").first.inner_text() == "Now"
    assert scene.centre in p.zones_at(scene.old_point)  # still the plan of revision 1
    assert _asof_of_tiles(p.requests[before:]) == {first["asof"]}
    assert p.js("window.lapis.map.queryRenderedFeatures({layers: ['lapis-compare-fill']}).length") > 0
    ARTIFACTS.mkdir(exist_ok=True)
    p.page.screenshot(path=str(ARTIFACTS / "map-history-en.png"))

    p.page.click("button[data-lang=vi]")
    wait_for_js(p.page, "document.querySelector('#history-panel .panel-title').textContent === 'Lịch sử quy hoạch'")
    p.clean()
