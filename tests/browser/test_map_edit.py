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
    """(status, headers (lower-case names), parsed JSON body or None) of one request, errors included."""
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
    return status, {k.lower(): v for k, v in got.items()}, json.loads(raw) if raw.strip() else None


# every Content-Security-Policy violation the page meets (the drawing library runs under the map's policy too)
WATCH_VIOLATIONS = """window.cspViolations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));"""


def open_edit_map(browser: Any, url: str, errors: list[str], external: list[str]) -> Any:
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.add_init_script(WATCH_VIOLATIONS)
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


def draw_polygon(page: Any, corners: list[tuple[float, float]]) -> None:
    """Draws a polygon with the draw tool: a click on each corner (lon, lat), then one more on the last ends it."""
    page.click("#edit-draw button[data-draw=polygon]")
    wait_for_js(page, "window.lapisEdit.draw.getMode() === 'draw_polygon'")
    points = [xy(page, lon, lat) for lon, lat in corners]
    for x, y in points:
        page.mouse.click(x, y)
        page.wait_for_timeout(150)
    page.mouse.click(*points[-1])
    wait_for_js(page, "window.lapisEdit.editor.feature && window.lapisEdit.editor.feature.drawn !== null",
                timeout=10_000)


def square(centre: tuple[float, float], half: float,
           order: tuple[int, ...] = (0, 1, 2, 3)) -> list[tuple[float, float]]:
    """The corners of a square around `centre` (lon, lat), in `order` (0 south-west, then anticlockwise)."""
    corners = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
    return [(centre[0] + corners[i][0] * half, centre[1] + corners[i][1] * half) for i in order]


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
    token = token_for(db_url, Role.editor)
    sign_in(page, token)
    pick_layer(page, "zones")
    layers = page.eval_on_selector_all("#edit-layer option", "els => els.map(e => e.value).filter(Boolean)")
    assert {"zones", "axes", "projects", "parcels"} <= set(layers) and "admin_units" not in layers  # reference data
    editable = {c["id"]: c.get("lapis:editable") for c in http("GET", f"{url}/collections")[2]["collections"]}
    assert editable["admin_units"] is False and editable["zones"] is True
    assert page.locator("#edit-draw button").count() == 1  # a polygon layer: areas only
    draw_polygon(page, square(SPOT, 0.004))
    drawn = page.evaluate("window.lapisEdit.editor.feature.drawn")
    assert drawn["type"] == "Polygon" and len(drawn["coordinates"][0]) == 5
    names = page.eval_on_selector_all("#edit-fields [name]", "els => els.map(e => e.name)")
    assert {"code", "name_vi", "name_en", "kind"} <= set(names) and "updated_at" not in names
    assert page.locator("#edit-fields select[name=kind] option").count() >= 9
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map-edit-draw.png"))
    assert page.evaluate("window.cspViolations") == []

    # a bow tie: the server refuses it (422) with the reason, shown as it is; nothing is written
    page.click("#edit-cancel")
    draw_polygon(page, square(SPOT, 0.004, order=(0, 2, 1, 3)))
    page.fill("#edit-fields [name=code]", "Z-BOW")
    page.fill("#edit-fields [name=name_vi]", "Nơ")
    page.select_option("#edit-fields [name=kind]", "other")
    page.click("#edit-save")
    wait_for_js(page, "document.querySelector('#edit-message').dataset.kind === 'error'", timeout=20_000)
    message = page.locator("#edit-message").inner_text()
    assert "Dữ liệu không hợp lệ" in message and "Self-intersection" in message, message
    assert http("GET", f"{url}/proposals", token)[2]["proposals"] == []
    assert unexpected(errors, 422) == [] and external == [], (errors, external)
    page.close()


# --- end to end, against the edit API (OGC API – Features Part 4, proposals, import jobs) ------------------------

def wait_message(page: Any, box: str = "#edit-message", kinds: tuple[str, ...] = ("ok",)) -> str:
    """Waits until `box` says something final (not "saving…"); asserts its kind is one of `kinds`; its text."""
    kind = wait_for_js(page, f"(() => {{ const k = document.querySelector('{box}').dataset.kind; "
                             "return k && k !== 'info' ? k : false; })()", timeout=20_000)
    text = page.locator(box).inner_text()
    assert kind in kinds, (kind, text)
    return text


def save(page: Any, kinds: tuple[str, ...] = ("ok",)) -> str:
    page.evaluate("document.querySelector('#edit-message').dataset.kind = ''")
    page.click("#edit-save")
    return wait_message(page, kinds=kinds)


def drag(page: Any, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    for i in range(1, 9):
        page.mouse.move(start[0] + (end[0] - start[0]) * i / 8, start[1] + (end[1] - start[1]) * i / 8)
        page.wait_for_timeout(30)
    page.mouse.up()


def open_proposal(url: str, token: str) -> dict[str, Any]:
    status, _, body = http("GET", f"{url}/proposals?state=open", token)
    assert status == 200, body
    assert len(body["proposals"]) == 1, body
    status, _, found = http("GET", f"{url}/proposals/{body['proposals'][0]['id']}", token)
    assert status == 200, found
    return found


def test_editor_draws_edits_meets_a_conflict_and_deletes(browser: Any, server: tuple[str, str]) -> None:
    url, db_url = server
    token = token_for(db_url, Role.editor, name="lan.editor")
    errors: list[str] = []
    external: list[str] = []
    page = open_edit_map(browser, url, errors, external)
    sign_in(page, token)
    pick_layer(page, "zones")

    # draw, fill the form, save: a create in the editor's proposal, invisible to anonymous readers
    half = 0.004
    draw_polygon(page, square(SPOT, half))
    page.fill("#edit-fields [name=code]", "Z-MAP-1")
    page.fill("#edit-fields [name=name_vi]", "Vùng thử trên bản đồ")
    page.select_option("#edit-fields [name=kind]", "other")
    assert "Đã lưu" in save(page)
    fid = page.evaluate("window.lapisEdit.editor.feature.id")
    proposal = open_proposal(url, token)
    assert [(c["op"], c["layer"], c["featureId"]) for c in proposal["changes"]] == [("create", "zones", fid)]
    assert http("GET", f"{url}/collections/zones/items/{fid}")[0] == 404
    # the proposal is listed in the panel and drawn over the map
    wait_for_js(page, "window.lapisEdit.proposals.overlay && window.lapisEdit.proposals.overlay.features.length === 1",
                timeout=15_000)
    assert page.locator(f"#edit-proposal-body [data-proposal='{proposal['id']}']").count() == 1

    # move a vertex: the north-east corner, dragged further out
    corner = xy(page, SPOT[0] + half, SPOT[1] + half)
    target = xy(page, SPOT[0] + 2 * half, SPOT[1] + 2 * half)
    drag(page, corner, target)
    wait_for_js(page, "(() => { const f = window.lapisEdit.editor.feature; "
                      "return JSON.stringify(f.drawn) !== JSON.stringify(f.geometry); })()", timeout=10_000)
    save(page)
    _, _, moved = http("GET", f"{url}/collections/zones/items/{fid}?proposal={proposal['id']}", token)
    xs = [p[0] for ring in moved["geometry"]["coordinates"][0] for p in ring]
    assert max(xs) > SPOT[0] + 1.8 * half, xs

    # a conflict: the feature changes through the API meanwhile; saving from the map is refused and reloads it
    status, headers, _ = http("GET", f"{url}/collections/zones/items/{fid}?proposal={proposal['id']}", token)
    status, _, body = http("PATCH", f"{url}/collections/zones/items/{fid}", token,
                           {"properties": {"name_vi": "Đổi qua API"}},
                           {"If-Match": headers["etag"], "Content-Type": "application/merge-patch+json"})
    assert status == 200, body
    page.fill("#edit-fields [name=name_en]", "Changed on the map")
    assert "thay đổi kể từ khi bạn mở" in save(page, kinds=("conflict",))
    assert page.input_value("#edit-fields [name=name_vi]") == "Đổi qua API"  # the latest version, reloaded
    _, _, now = http("GET", f"{url}/collections/zones/items/{fid}?proposal={proposal['id']}", token)
    assert now["properties"]["name_en"] is None and now["properties"]["name_vi"] == "Đổi qua API"
    page.fill("#edit-fields [name=name_en]", "Changed on the map")  # redone on the reloaded version: saved
    save(page)
    _, _, now = http("GET", f"{url}/collections/zones/items/{fid}?proposal={proposal['id']}", token)
    assert now["properties"]["name_en"] == "Changed on the map"

    # the English messages
    page.click("button[data-lang=en]")
    wait_for_js(page, "document.querySelector('#edit-save').textContent === 'Save'")
    page.click("#edit-cancel")

    # delete a published feature: click it on the map, Delete, confirm
    south = (SPOT[0], SPOT[1] - 0.012)
    page.mouse.click(*xy(page, *south))
    wait_for_js(page, "window.lapisEdit.editor.feature && window.lapisEdit.editor.feature.id !== null "
                      "&& !window.lapisEdit.editor.busy", timeout=15_000)
    doomed = page.evaluate("window.lapisEdit.editor.feature.id")
    assert doomed != fid
    page.click("#edit-delete")
    page.click("#edit-delete-yes")
    assert "Marked for deletion" in wait_message(page)
    ops = {(c["op"], c["featureId"]) for c in open_proposal(url, token)["changes"]}
    assert ops == {("create", fid), ("delete", doomed)}
    assert http("GET", f"{url}/collections/zones/items/{doomed}")[0] == 200  # still published

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map-edit-editor.png"))
    assert unexpected(errors, 412) == [] and external == [], (errors, external)
    page.close()


def test_upload_runs_as_a_job_and_an_approver_publishes(browser: Any, server: tuple[str, str],
                                                        tmp_path: Any) -> None:
    from tests.upload_files import parcels, write

    """Goes on from the test above (pytest runs a module's tests in order): the approver publishes what lan.editor
    drew on the map."""
    url, db_url = server
    uploader = token_for(db_url, Role.editor, name="hoa.editor")
    errors: list[str] = []
    external: list[str] = []
    page = open_edit_map(browser, url, errors, external)
    sign_in(page, uploader)
    pick_layer(page, "parcels")
    page.set_input_files("#upload-file", str(write("geojson", tmp_path, parcels(3, prefix="MAP"))))
    page.click("#upload-start")
    wait_for_js(page, "['succeeded', 'failed', 'cancelled', 'error']"
                      ".includes(document.querySelector('#upload-status').dataset.state)", timeout=60_000)
    status_text = page.locator("#upload-status").inner_text()
    assert page.locator("#upload-status").get_attribute("data-state") == "succeeded", status_text
    assert "Hoàn tất" in status_text and "3 đã nạp" in status_text
    imported = open_proposal(url, uploader)
    assert len(imported["changes"]) == 3 and {c["op"] for c in imported["changes"]} == {"create"}
    assert f"#{imported['id']}" in status_text
    page.click("#edit-signout")

    # the approver sees both proposals, publishes the drawn one and rejects the upload
    status, _, body = http("GET", f"{url}/proposals?state=open", token_for(db_url, Role.approver))
    drawn = next((p for p in body["proposals"] if p["author"] == "lan.editor"), None)
    assert drawn is not None, "run with test_editor_draws_edits_meets_a_conflict_and_deletes (it draws the proposal)"
    sign_in(page, token_for(db_url, Role.approver, name="minh.approver"))
    for pid in (drawn["id"], imported["id"]):
        page.locator(f"#proposals-list li[data-proposal='{pid}']").wait_for(timeout=15_000)
    page.click(f"#proposals-list li[data-proposal='{drawn['id']}'] button[data-action=preview]")
    wait_for_js(page, f"window.lapisEdit.proposals.previewed === {drawn['id']} "
                      "&& window.lapisEdit.proposals.overlay.features.length === 2", timeout=15_000)
    page.click(f"#proposals-list li[data-proposal='{drawn['id']}'] button[data-action=publish]")
    assert "Đã công bố" in wait_message(page, "#proposals-message")
    changes = {c["op"]: c["featureId"] for c in drawn_changes(url, drawn["id"], db_url)}
    status, _, feature = http("GET", f"{url}/collections/zones/items/{changes['create']}")  # anonymous
    assert status == 200 and feature["properties"]["name_en"] == "Changed on the map"
    assert http("GET", f"{url}/collections/zones/items/{changes['delete']}")[0] == 404
    page.fill(f"#proposal-note-{imported['id']}", "Thiếu nguồn dữ liệu")
    page.click(f"#proposals-list li[data-proposal='{imported['id']}'] button[data-action=reject]")
    assert "Đã từ chối" in wait_message(page, "#proposals-message")
    _, _, rejected = http("GET", f"{url}/proposals/{imported['id']}", uploader)
    assert rejected["state"] == "rejected" and rejected["note"] == "Thiếu nguồn dữ liệu"
    wait_for_js(page, "document.querySelectorAll('#proposals-list li[data-proposal]').length === 0", timeout=15_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map-edit-approver.png"))
    assert errors == [] and external == [], (errors, external)
    page.close()


def drawn_changes(url: str, proposal_id: int, db_url: str) -> list[dict[str, Any]]:
    status, _, body = http("GET", f"{url}/proposals/{proposal_id}", token_for(db_url, Role.approver))
    assert status == 200, body
    return body["changes"]
