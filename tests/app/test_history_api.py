"""The past over HTTP: `asof=` on items, an item, downloads, /locate and tiles answers as the plan stood then (the same
filters, CRS and paging), a feature's versions with who/when/why, and restoring a deleted feature (approvers only).

The scene: a steward moves and renames the Tân An centre (zone C1) in plain SQL, then deletes a project, then adds one;
`before`, `moved` and `deleted` are instants between those transactions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import psycopg
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import shape

from spatial.identity.model import Role
from spatial.tiles.grid import lonlat_to_tile
from tests.helpers import assert_problem, committed_instant, make_settings
from tests.identity_fixtures import bearer, token_for

NEW_CENTRE = shapely.MultiPolygon([shapely.box(106.30, 10.45, 106.34, 10.49)])
GPKG = "application/geopackage+sqlite3"


@dataclass
class Scene:
    url: str
    client: TestClient
    centre: int  # zone C1
    project: int  # DA-QL62, deleted
    added: int  # DA-NEW, added last
    before: str  # instants (RFC 3339) between the changes
    moved: str
    deleted: str
    old_centre: dict[str, Any]  # C1's GeoJSON Feature before the move
    old_centre_wkb: bytes
    old_tile: bytes  # the zones tile over the old centre, before the move
    tile: tuple[int, int, int]  # z, y, x


@pytest.fixture(scope="module")
def scene(make_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    from app.main import create_app

    url = make_database()
    with TestClient(create_app(make_settings(url, tmp_path_factory.mktemp("history-app")))) as client, \
            psycopg.connect(url, autocommit=False) as conn:
        centre, wkb, lon, lat = conn.execute(
            "SELECT id, ST_AsBinary(geom), ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
            "FROM zones WHERE code = 'C1'").fetchone()
        project = conn.execute("SELECT id FROM projects WHERE code = 'DA-QL62'").fetchone()[0]
        at_z10 = lonlat_to_tile(lon, lat, 10)
        tile = (at_z10.z, at_z10.y, at_z10.x)
        old_centre = client.get(f"/collections/zones/items/{centre}").json()
        old_tile = client.get(f"/collections/zones/tiles/WebMercatorQuad/{tile[0]}/{tile[1]}/{tile[2]}").content
        before = committed_instant(conn, 0.01).isoformat()
        conn.execute("SELECT set_config('lapis.reason', 'trung tâm dời về phía tây', true)")
        conn.execute("SET LOCAL ROLE lapis_approver")
        conn.execute("UPDATE zones SET geom = ST_GeomFromWKB(%s, 4326), name_en = 'Tan An centre (moved)' "
                     "WHERE id = %s", (shapely.to_wkb(NEW_CENTRE), centre))
        moved = committed_instant(conn, 0.01).isoformat()
        conn.execute("DELETE FROM projects WHERE id = %s", (project,))
        deleted = committed_instant(conn, 0.01).isoformat()
        added = conn.execute("INSERT INTO projects (code, name_vi, category, status, geom) VALUES ('DA-NEW', "
                             "'Dự án mới', 'port', 'planned', ST_SetSRID(ST_MakePoint(106.5, 10.6), 4326)) "
                             "RETURNING id").fetchone()[0]
        conn.commit()
        yield Scene(url, client, centre, project, added, before, moved, deleted, old_centre, bytes(wkb), old_tile,
                    tile)


def ids(client: TestClient, path: str, **params: str) -> list[int]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return [f["id"] for f in response.json()["features"]]


def test_items_asof_answer_as_the_plan_stood_then(scene: Scene) -> None:
    c = scene.client
    everything = {"limit": "100"}
    assert scene.project in ids(c, "/collections/projects/items", **everything, asof=scene.moved)
    assert scene.project not in ids(c, "/collections/projects/items", **everything, asof=scene.deleted)
    assert scene.added not in ids(c, "/collections/projects/items", **everything, asof=scene.deleted)
    assert scene.added in ids(c, "/collections/projects/items", **everything)
    then = c.get("/collections/zones/items", params={"code": "C1", "asof": scene.before}).json()["features"][0]
    assert then["geometry"] == scene.old_centre["geometry"] and then["properties"] == scene.old_centre["properties"]
    now = c.get("/collections/zones/items", params={"code": "C1"}).json()["features"][0]
    assert shape(now["geometry"]).equals_exact(NEW_CENTRE, 0) and now["properties"]["name_en"].endswith("(moved)")


def test_asof_keeps_the_filters_crs_and_paging(scene: Scene) -> None:
    c = scene.client
    old_box = ",".join(map(str, shape(scene.old_centre["geometry"]).bounds))
    assert scene.centre in ids(c, "/collections/zones/items", bbox=old_box, asof=scene.before)
    assert scene.centre not in ids(c, "/collections/zones/items", bbox=old_box, kind="centre")
    cql = "name_en LIKE '%(moved)'"
    assert ids(c, "/collections/zones/items", filter=cql, asof=scene.before) == []
    assert ids(c, "/collections/zones/items", filter=cql, asof=scene.moved) == [scene.centre]
    pages, href = [], f"/collections/projects/items?limit=4&asof={scene.moved.replace('+', '%2B')}"
    while href:
        body = c.get(href).json()
        pages.append([f["id"] for f in body["features"]])
        href = next((link["href"].removeprefix("http://testserver") for link in body["links"]
                     if link["rel"] == "next"), None)
    assert len(pages) > 1 and all(len(p) <= 4 for p in pages)
    assert sorted(sum(pages, [])) == sorted(ids(c, "/collections/projects/items", limit="100", asof=scene.moved))
    mercator = c.get(f"/collections/zones/items/{scene.centre}",
                     params={"asof": scene.before, "crs": "http://www.opengis.net/def/crs/EPSG/0/3857"})
    assert mercator.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/3857>"
    x, y = shape(mercator.json()["geometry"]).representative_point().coords[0]
    assert 1.1e7 < x < 1.2e7 and 1.1e6 < y < 1.3e6  # metres, where the old centre was


def test_an_item_asof_reads_a_deleted_feature_as_it_was(scene: Scene) -> None:
    c = scene.client
    then = c.get(f"/collections/projects/items/{scene.project}", params={"asof": scene.moved})
    assert then.status_code == 200 and then.json()["properties"]["code"] == "DA-QL62"
    assert_problem(c.get(f"/collections/projects/items/{scene.project}"), 404, "featureId")
    assert_problem(c.get(f"/collections/projects/items/{scene.project}", params={"asof": scene.deleted}), 404,
                   "featureId")
    assert_problem(c.get(f"/collections/projects/items/{scene.added}", params={"asof": scene.deleted}), 404)


def test_a_download_asof_holds_the_old_geometry_exactly(scene: Scene, tmp_path: Path) -> None:
    response = scene.client.get("/collections/zones/items", params={"f": "gpkg", "asof": scene.before})
    assert response.status_code == 200 and response.headers["content-type"] == GPKG
    path = tmp_path / "zones.gpkg"
    path.write_bytes(response.content)
    frame = pyogrio.read_dataframe(path)
    centre = frame[frame.code == "C1"].geometry.iloc[0]
    assert shapely.to_wkb(centre) == scene.old_centre_wkb


def test_locate_asof(scene: Scene) -> None:
    c = scene.client
    old = shape(scene.old_centre["geometry"])
    point = old.difference(NEW_CENTRE).representative_point()
    where = {"lon": str(point.x), "lat": str(point.y)}

    def zones(**params: str) -> set[str]:
        response = c.get("/locate", params={**where, **params})
        assert response.status_code == 200, response.text
        return {z["code"] for z in response.json()["zones"]}

    assert "C1" in zones(asof=scene.before) and "C1" not in zones()
    polygon = shapely.geometry.mapping(NEW_CENTRE.geoms[0])
    now = c.post("/locate", json=polygon).json()
    then = c.post("/locate", params={"asof": scene.before}, json=polygon).json()
    share = {(o["layer"], o["code"]): o["share_pct"] for o in now["overlaps"]}
    share_then = {(o["layer"], o["code"]): o["share_pct"] for o in then["overlaps"]}
    assert share[("zones", "C1")] == pytest.approx(100) and share_then.get(("zones", "C1"), 0) < 100


def _centre_geometry(body: bytes, centre: int) -> Any:
    layer = mapbox_vector_tile.decode(body).get("zones", {"features": []})
    return next((f["geometry"] for f in layer["features"] if f["id"] == centre), None)


def test_tiles_asof_show_the_old_geometry_and_leave_the_cache_alone(scene: Scene) -> None:
    c = scene.client
    z, y, x = scene.tile
    path = f"/collections/zones/tiles/WebMercatorQuad/{z}/{y}/{x}"
    now = c.get(path)
    then = c.get(path, params={"asof": scene.before})
    assert then.status_code == 200 and "x-data-version" not in then.headers
    old_geometry = _centre_geometry(scene.old_tile, scene.centre)
    assert old_geometry is not None and _centre_geometry(then.content, scene.centre) == old_geometry
    assert _centre_geometry(now.content, scene.centre) != old_geometry
    assert c.get(path).content == now.content  # the asof tile went nowhere near the cache
    composite = c.get(f"/tiles/WebMercatorQuad/{z}/{y}/{x}", params={"asof": scene.before})
    assert _centre_geometry(composite.content, scene.centre) == old_geometry
    revalidated = c.get(path, params={"asof": scene.before}, headers={"If-None-Match": then.headers["etag"]})
    assert revalidated.status_code == 304


@pytest.mark.parametrize("path", ["/collections/zones/items", "/collections/zones/items/1",
                                  "/locate?lon=106.4&lat=10.5", "/collections/zones/tiles/WebMercatorQuad/10/483/814",
                                  "/tiles/WebMercatorQuad/10/483/814"])
def test_a_bad_asof_is_a_400_naming_it(scene: Scene, path: str) -> None:
    future = (datetime.now().astimezone() + timedelta(days=1)).isoformat()
    for value in (future, "yesterday", "2026-11-27", "2026-11-27T10:00:00", ""):
        sep = "&" if "?" in path else "?"
        body = assert_problem(scene.client.get(f"{path}{sep}asof={value.replace('+', '%2B')}"), 400, "asof")
        assert ("future" in body["detail"]) is (value == future)


def test_the_history_of_a_feature_newest_first(scene: Scene) -> None:
    c = scene.client
    body = c.get(f"/collections/zones/items/{scene.centre}/history").json()
    assert body["type"] == "FeatureCollection" and body["numberMatched"] == body["numberReturned"] == 2
    new, old = body["features"]
    assert new["version"]["operation"] == "update" and old["version"]["operation"] == "insert"
    assert new["version"]["who"] == "lapis_approver" and new["version"]["reason"] == "trung tâm dời về phía tây"
    assert old["version"]["valid_to"] == new["version"]["valid_from"] and new["version"]["valid_to"] is None
    assert old["geometry"] == scene.old_centre["geometry"] and shape(new["geometry"]).equals_exact(NEW_CENTRE, 0)
    assert scene.before < new["version"]["valid_from"] < scene.moved
    first = c.get(f"/collections/zones/items/{scene.centre}/history", params={"limit": "1"}).json()
    assert [f["version"]["number"] for f in first["features"]] == [new["version"]["number"]]
    following = next(link["href"] for link in first["links"] if link["rel"] == "next")
    second = c.get(following.removeprefix("http://testserver")).json()
    assert [f["version"]["number"] for f in second["features"]] == [old["version"]["number"]]
    assert not any(link["rel"] == "next" for link in second["links"])
    gone = c.get(f"/collections/projects/items/{scene.project}/history").json()["features"]
    assert [f["version"]["operation"] for f in gone] == ["delete", "insert"]
    assert gone[0]["geometry"] is None and gone[0]["properties"] is None and gone[1]["geometry"] is not None
    assert_problem(c.get("/collections/zones/items/999999/history"), 404, "featureId")
    assert_problem(c.get(f"/collections/zones/items/{scene.centre}/history", params={"before": "x"}), 400, "before")


@pytest.fixture()
def writable(make_database: Callable[[], str], tmp_path: Path) -> Iterator[tuple[str, TestClient]]:
    from app.main import create_app

    url = make_database()
    with TestClient(create_app(make_settings(url, tmp_path))) as client:
        yield url, client


def test_an_approver_restores_a_deleted_feature_as_a_new_version(writable: tuple[str, TestClient]) -> None:
    url, c = writable
    with psycopg.connect(url) as conn:
        project, wkb = conn.execute("SELECT id, ST_AsBinary(geom) FROM projects WHERE code = 'DA-QL62'").fetchone()
        conn.execute("DELETE FROM projects WHERE id = %s", (project,))
    path = f"/collections/projects/items/{project}/restore"
    assert_problem(c.post(path), 401, "Authorization")
    assert_problem(c.post(path, headers=bearer(token_for(url, Role.editor))), 403)
    approver = bearer(token_for(url, Role.approver, name="lan.nguyen"))
    restored = c.post(path, headers=approver)
    assert restored.status_code == 201, restored.text
    assert restored.headers["location"].endswith(f"/collections/projects/items/{project}")
    body = restored.json()
    assert body["action"] == "insert" and body["id"] == project
    history = c.get(f"/collections/projects/items/{project}/history").json()["features"]
    assert [f["version"]["operation"] for f in history] == ["insert", "delete", "insert"]
    assert history[0]["version"]["who"] == "lan.nguyen"
    assert history[0]["version"]["reason"] == f"restored version {history[2]['version']['number']}"
    assert body["version"] == history[0]["version"]["number"]
    with psycopg.connect(url) as conn:
        assert bytes(conn.execute("SELECT ST_AsBinary(geom) FROM projects WHERE id = %s", (project,)).fetchone()[0]) \
            == bytes(wkb)
    assert_problem(c.post(path, headers=approver), 409)  # it exists: no instant, nothing to restore
    assert_problem(c.post("/collections/projects/items/999999/restore", headers=approver), 404, "featureId")


def test_an_approver_rolls_a_feature_back_to_an_instant(writable: tuple[str, TestClient]) -> None:
    url, c = writable
    with psycopg.connect(url) as conn:
        centre, wkb = conn.execute("SELECT id, ST_AsBinary(geom) FROM zones WHERE code = 'C1'").fetchone()
        before = committed_instant(conn, 0.01).isoformat()
        conn.execute("UPDATE zones SET geom = ST_GeomFromWKB(%s, 4326) WHERE id = %s",
                     (shapely.to_wkb(NEW_CENTRE), centre))
        conn.commit()
    approver = bearer(token_for(url, Role.approver, name="minh.le"))
    response = c.post(f"/collections/zones/items/{centre}/restore", params={"asof": before, "reason": "sai sót"},
                      headers=approver)
    assert response.status_code == 200 and response.json()["action"] == "update"
    latest = c.get(f"/collections/zones/items/{centre}/history", params={"limit": "1"}).json()["features"][0]
    assert (latest["version"]["who"], latest["version"]["reason"]) == ("minh.le", "sai sót")
    with psycopg.connect(url) as conn:
        assert bytes(conn.execute("SELECT ST_AsBinary(geom) FROM zones WHERE id = %s", (centre,)).fetchone()[0]) \
            == bytes(wkb)
    again = c.post(f"/collections/zones/items/{centre}/restore", params={"asof": before}, headers=approver)
    assert again.status_code == 200 and again.json()["action"] == "unchanged"


def test_history_pages_are_geojson(scene: Scene) -> None:
    response = scene.client.get(f"/collections/zones/items/{scene.centre}/history")
    assert response.headers["content-type"] == "application/geo+json"
    feature = response.json()["features"][0]
    assert set(feature) == {"type", "id", "geometry", "properties", "version"}
    assert set(feature["version"]) == {"number", "operation", "valid_from", "valid_to", "who", "proposal", "reason",
                                       "txid"}
