"""A proposal is invisible to the public until it is published: items, the feature itself, tiles (a layer's and the
composite plan tiles), search and /locate show only published data — and show the change right after publishing:
the tiles the change touched (where a feature was and where it is) at once, while every other tile, of that layer
and of the others, stays cached. The proposal's author (and approvers)
preview it on the same routes with `?proposal=`, privately and never through the tile cache."""

from __future__ import annotations

from typing import Any

import mapbox_vector_tile
from fastapi.testclient import TestClient

from spatial.identity.model import Role
from spatial.tiles.grid import Tile, lonlat_to_tile
from tests.edit_fixtures import (  # noqa: F401
    TAN_AN,
    callers_fixture,
    edit_client_fixture,
    edit_db_fixture,
    patch_headers,
    square,
    zone,
)
from tests.helpers import assert_problem

NAME = "Khu thử nghiệm Xanh"
TILE = lonlat_to_tile(TAN_AN[0] + 0.001, TAN_AN[1] + 0.001, 13)
ZONES_TILE = f"/collections/zones/tiles/WebMercatorQuad/{TILE.z}/{TILE.y}/{TILE.x}"
PLAN_TILE = f"/tiles/WebMercatorQuad/{TILE.z}/{TILE.y}/{TILE.x}"
AXES_TILE = f"/collections/axes/tiles/WebMercatorQuad/{TILE.z}/{TILE.y}/{TILE.x}"


def tile_url(tile: Tile, layer: str | None = "zones") -> str:
    return f"{f'/collections/{layer}' if layer else ''}/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}"


def tile_names(client: TestClient, url: str, **kwargs: Any) -> set[str]:
    response = client.get(url, headers={"Accept-Encoding": "identity", **kwargs.pop("headers", {})}, **kwargs)
    assert response.status_code in (200, 204), response.text
    layers = mapbox_vector_tile.decode(response.content) if response.content else {}
    return {f["properties"].get("name_vi") for f in layers.get("zones", {}).get("features", [])}


def public_view(client: TestClient, location: str) -> dict[str, bool]:
    """Where the new zone shows to an anonymous reader."""
    lon, lat = TAN_AN[0] + 0.001, TAN_AN[1] + 0.001
    return {
        "items": client.get("/collections/zones/items", params={"code": "Z-VIS"}).json()["numberReturned"] == 1,
        "item": client.get(location).status_code == 200,
        "zones tile": NAME in tile_names(client, ZONES_TILE),
        "plan tile": NAME in tile_names(client, PLAN_TILE),
        "search": "Z-VIS" in {r["code"] for r in client.get("/search", params={"q": "thu nghiem xanh"}).json()[
            "results"]},
        "locate": "Z-VIS" in {z["code"] for z in client.get("/locate", params={"lon": lon, "lat": lat}).json()[
            "zones"]},
    }


def test_a_proposal_shows_only_in_its_preview_until_published(edit_client: TestClient, callers: dict) -> None:
    client, editor = edit_client, callers[Role.editor]
    cache = client.app.state.services.tiles.cache
    assert tile_names(client, ZONES_TILE) and client.get(AXES_TILE).status_code in (200, 204)  # cached now
    created = client.post("/collections/zones/items", json=zone("Z-VIS", name_vi=NAME), headers=editor)
    assert created.status_code == 201, created.text
    location, proposal = created.headers["location"], created.headers["lapis-proposal"]

    hidden = public_view(client, location)
    assert not any(hidden.values()), hidden
    # the author's preview: the same routes with ?proposal=, private and uncached
    preview = client.get("/collections/zones/items", params={"code": "Z-VIS", "proposal": proposal}, headers=editor)
    assert preview.json()["numberReturned"] == 1 and preview.headers["cache-control"] == "private, no-store"
    for url in (ZONES_TILE, PLAN_TILE):
        tile = client.get(url, params={"proposal": proposal}, headers=editor)
        assert tile.headers["cache-control"] == "private, no-store"
        assert NAME in tile_names(client, url, params={"proposal": proposal}, headers=editor)
    assert_problem(client.get(ZONES_TILE, params={"proposal": proposal}), 401)
    assert NAME not in tile_names(client, ZONES_TILE)  # the preview did not reach the public cache
    before_axes = client.get(AXES_TILE).headers.get("etag")
    zones_etag = client.get(ZONES_TILE).headers["etag"]

    published = client.post(f"/proposals/{proposal}/publish", headers=callers[Role.approver])
    assert published.status_code == 200, published.text
    assert published.json()["applied"] == {"zones": {"created": 1, "changed": 0, "deleted": 0}}

    shown = public_view(client, location)
    assert all(shown.values()), shown
    assert client.get(location).headers["etag"] == created.headers["etag"]
    assert client.get(ZONES_TILE).headers["etag"] != zones_etag
    hits = cache.hits
    assert client.get(AXES_TILE).headers.get("etag") == before_axes
    assert cache.hits == hits + 1  # another layer's tile: still the cached one


def test_previews_are_the_authors_and_approvers(edit_client: TestClient, callers: dict) -> None:
    client = edit_client
    created = client.post("/collections/zones/items", json=zone("Z-PRIV", lon=106.30), headers=callers[Role.editor])
    proposal = created.headers["lapis-proposal"]
    items = "/collections/zones/items"
    assert_problem(client.get(items, params={"proposal": proposal}), 401, "Authorization")
    proxy = {"Authorization": "Basic cHJveHk6c2VjcmV0"}  # a proxy's credentials: public reads never look at them
    assert client.get(items, headers=proxy).status_code == client.get(ZONES_TILE, headers=proxy).status_code == 200
    assert client.get(f"{items}/1", headers=proxy).status_code == 200
    assert_problem(client.get(items, params={"proposal": proposal}, headers=proxy), 401, "Authorization")
    assert_problem(client.get(items, params={"proposal": proposal}, headers=callers[Role.viewer]), 403)
    seen = client.get(items, params={"proposal": proposal, "code": "Z-PRIV"}, headers=callers[Role.approver])
    assert seen.json()["numberReturned"] == 1
    assert_problem(client.get(items, params={"proposal": proposal, "f": "gpkg"}, headers=callers[Role.editor]),
                   400, "proposal")
    changed = client.get(f"/proposals/{proposal}", params={"f": "geojson"}, headers=callers[Role.editor]).json()
    assert [f["properties"]["code"] for f in changed["features"]] == ["Z-PRIV"]
    assert changed["features"][0]["properties"]["lapis:op"] == "create"


def test_publishing_re_renders_exactly_the_tiles_the_change_touched(edit_client: TestClient, callers: dict) -> None:
    """A zone moved 5 km east: the zones tiles where it was and where it is now, and an overview tile holding both,
    show the move right after publishing; a zones tile and a plan tile elsewhere are still the cached ones."""
    client, editor, approver = edit_client, callers[Role.editor], callers[Role.approver]
    cache = client.app.state.services.tiles.cache
    lon, lat = 106.20, 10.70  # ~23 km west of the zones near Tân An that ZONES_TILE shows
    created = client.post("/collections/zones/items", json=zone("Z-MOVE", lon, lat, name_vi="Khu di dời"),
                          headers=editor)
    assert client.post(f"/proposals/{created.headers['lapis-proposal']}/publish", headers=approver).status_code == 200
    was, now = lonlat_to_tile(lon + 0.001, lat + 0.001, 14), lonlat_to_tile(lon + 0.051, lat + 0.001, 14)
    overview = lonlat_to_tile(lon, lat, 8)
    assert overview == lonlat_to_tile(lon + 0.051, lat, 8) != lonlat_to_tile(*TAN_AN, 14)
    before = {url: tile_names(client, url) for url in (tile_url(was), tile_url(now), tile_url(overview))}
    assert "Khu di dời" in before[tile_url(was)] and "Khu di dời" not in before[tile_url(now)]
    elsewhere = {url: client.get(url).headers["etag"] for url in (ZONES_TILE, PLAN_TILE)}

    location = created.headers["location"]
    moved = client.patch(location, json={"geometry": square(lon + 0.05, lat)},
                         headers=patch_headers(editor, client.get(location).headers["etag"]))
    assert moved.status_code == 200, moved.text
    published = client.post(f"/proposals/{moved.headers['lapis-proposal']}/publish", headers=approver)
    assert published.json()["applied"] == {"zones": {"created": 0, "changed": 1, "deleted": 0}}

    hits, misses = cache.hits, cache.misses
    assert {url: client.get(url).headers["etag"] for url in elsewhere} == elsewhere
    assert (cache.hits, cache.misses) == (hits + 2, misses)  # served from the cache: not rendered again
    assert "Khu di dời" not in tile_names(client, tile_url(was)) and "Khu di dời" in tile_names(client, tile_url(now))
    tile_names(client, tile_url(overview))
    assert (cache.hits, cache.misses) == (hits + 2, misses + 3)  # the three touched tiles: rendered afresh
