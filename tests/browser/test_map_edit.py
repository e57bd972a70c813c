"""The map's edit mode end to end in headless chromium, against a live server on a database of its own with real
users and tokens: sign in, draw and save a feature into a proposal, move a vertex, meet a conflict, delete, upload a
file as a job, and publish as an approver — checked through the API as well as on the page."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from spatial.identity.model import Role
from spatial.settings import PROJECT_ROOT
from tests.helpers import make_settings, serve_in_thread, wait_for_js
from tests.identity_fixtures import token_for

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
# an empty stretch of the province north-west of Tân An, at a zoom where drawn vertices are far apart
SPOT = (106.30, 10.62)
VIEW = f"14/{SPOT[1]}/{SPOT[0]}"


@pytest.fixture(scope="module")
def server(make_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(URL, database URL) of an app on a database of this module's own: these tests write and publish."""
    from app.main import create_app

    db_url = make_database()
    settings = make_settings(db_url, tmp_path_factory.mktemp("edit-app-data"))
    with serve_in_thread(create_app(settings)) as url:
        yield url, db_url


def http(method: str, url: str, token: str | None = None, body: Any = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    """(status, headers, parsed JSON body or None) of one request, errors included."""
    h = {"Accept": "application/json", **(headers or {})}
    if token:
        h["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw, status, got = response.read(), response.status, dict(response.headers)
    except urllib.error.HTTPError as err:
        raw, status, got = err.read(), err.code, dict(err.headers)
    return status, got, json.loads(raw) if raw.strip() else None


def open_edit_map(browser: Any, url: str, errors: list[str], external: list[str]) -> Any:
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    host = url.split("//", 1)[1]
    page.on("request", lambda r: external.append(r.url) if not r.url.split("//", 1)[-1].startswith(host)
            and not r.url.startswith(("data:", "blob:")) else None)
    page.goto(f"{url}/map#view={VIEW}", wait_until="load")
    wait_for_js(page, "window.lapis && window.lapis.ready === true", timeout=60_000)
    return page


def unexpected(errors: list[str], *statuses: int) -> list[str]:
    """The console errors but the browser's own notes of the answers with `statuses` the test provoked."""
    return [e for e in errors if not any(f"status of {s} " in e for s in statuses)]


def sign_in(page: Any, token: str) -> None:
    page.fill("#edit-token", token)
    page.click("#edit-signin-button")
    wait_for_js(page, "window.lapisEdit.session.user !== null", timeout=15_000)


def xy(page: Any, lon: float, lat: float) -> tuple[float, float]:
    x, y = page.evaluate(f"(() => {{ const p = window.lapis.map.project([{lon}, {lat}]); return [p.x, p.y]; }})()")
    return x, y


def pick_layer(page: Any, layer: str) -> None:
    wait_for_js(page, f"!!document.querySelector('#edit-layer option[value={layer}]')", timeout=15_000)
    page.select_option("#edit-layer", layer)
    wait_for_js(page, "window.lapisEdit.editor.schema !== null && !!document.querySelector('#edit-draw button')",
                timeout=15_000)


def draw_square(page: Any, centre: tuple[float, float], half: float) -> None:
    """Draws a square with the draw tool: four vertex clicks, then a click on the last one finishes it."""
    page.click("#edit-draw button[data-draw=polygon]")
    wait_for_js(page, "window.lapisEdit.draw.getMode() === 'draw_polygon'")
    corners = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
    points = [xy(page, centre[0] + dx * half, centre[1] + dy * half) for dx, dy in corners]
    for x, y in points:
        page.mouse.click(x, y)
        page.wait_for_timeout(150)
    page.mouse.click(*points[-1])
    wait_for_js(page, "window.lapisEdit.editor.feature && window.lapisEdit.editor.feature.drawn !== null",
                timeout=10_000)


def test_sign_in_rejects_a_bad_token_and_keeps_a_good_one(browser: Any, server: tuple[str, str]) -> None:
    url, db_url = server
    errors: list[str] = []
    external: list[str] = []
    page = open_edit_map(browser, url, errors, external)
    page.fill("#edit-token", "lapis_" + "x" * 43)
    page.click("#edit-signin-button")
    wait_for_js(page, "document.querySelector('#edit-signin-error').textContent !== ''", timeout=15_000)
    assert "không hợp lệ" in page.locator("#edit-signin-error").inner_text()
    assert page.evaluate("sessionStorage.getItem('lapis.token')") is None

    viewer = token_for(db_url, Role.viewer)
    sign_in(page, viewer)
    assert page.locator("#edit-viewer-only").is_visible()
    assert not page.locator("#edit-tools").is_visible()

    page.click("#edit-signout")
    editor = token_for(db_url, Role.editor, name="mai.editor")
    sign_in(page, editor)
    assert page.locator("#edit-user").inner_text() == "mai.editor"
    assert page.evaluate("sessionStorage.getItem('lapis.token')") == editor
    page.reload(wait_until="load")  # the token stays for the tab: signed in again by itself
    wait_for_js(page, "window.lapisEdit && window.lapisEdit.session.user === 'mai.editor'", timeout=15_000)
    assert page.locator("#edit-tools").is_visible()
    # English
    page.click("button[data-lang=en]")
    wait_for_js(page, "document.querySelector('#edit h2').textContent === 'Edit'")
    assert "Signed in as" in page.locator("#edit .who").inner_text()
    page.click("#edit-signout")
    assert page.evaluate("sessionStorage.getItem('lapis.token')") is None
    assert page.locator("#edit-signin").is_visible()
    assert unexpected(errors, 401) == [] and external == [], (errors, external)
    page.close()


def test_draw_a_polygon_fills_the_form_from_the_schema(browser: Any, server: tuple[str, str]) -> None:
    url, db_url = server
    errors: list[str] = []
    external: list[str] = []
    page = open_edit_map(browser, url, errors, external)
    sign_in(page, token_for(db_url, Role.editor))
    pick_layer(page, "zones")
    assert page.locator("#edit-draw button").count() == 1  # a polygon layer: areas only
    draw_square(page, SPOT, 0.004)
    drawn = page.evaluate("window.lapisEdit.editor.feature.drawn")
    assert drawn["type"] == "Polygon" and len(drawn["coordinates"][0]) == 5
    names = page.eval_on_selector_all("#edit-fields [name]", "els => els.map(e => e.name)")
    assert {"code", "name_vi", "name_en", "kind"} <= set(names) and "updated_at" not in names
    assert page.locator("#edit-fields select[name=kind] option").count() >= 9
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map-edit-draw.png"))
    assert errors == [] and external == [], (errors, external)
    page.close()
