"""Plan revisions over HTTP: the bundled plan is revision 1, approvers record revisions, and the diff between two
revisions (or two instants) lists exactly the features added, removed and changed in between — the attributes that
changed (old → new) and the geometry's change measured (area, length, Hausdorff distance) — as JSON, GeoJSON and HTML.
The scene: tests/revision_scene.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import psycopg
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Geod

from spatial.identity.model import Role
from tests.helpers import assert_problem, make_settings, transformer
from tests.identity_fixtures import bearer, token_for
from tests.revision_scene import APPROVER, NEW_R2, SHIFT, RevisionScene, build

GEOD = Geod(ellps="WGS84")
BUNDLED_BASIS = "Decision 686/QĐ-TTg, 13/06/2023"


@pytest.fixture(scope="module")
def client(make_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from app.main import create_app

    url = make_database()
    with TestClient(create_app(make_settings(url, tmp_path_factory.mktemp("revisions-app")))) as test_client:
        test_client.app.state.url = url  # type: ignore[attr-defined]
        yield test_client


@pytest.fixture(scope="module")
def scene(client: TestClient) -> RevisionScene:
    return build(client.app.state.url, client)  # type: ignore[attr-defined]


def diff(client: TestClient, a: str, b: str, **params: str) -> dict[str, Any]:
    response = client.get(f"/revisions/{a}/diff/{b}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def entries(body: dict[str, Any]) -> dict[tuple[str, str, int], dict[str, Any]]:
    """(collection, change, id) -> entry, over every collection of a diff."""
    return {(c["id"], kind, e["id"]): e for c in body["collections"] for kind in ("added", "removed", "changed")
            for e in c[kind]}


def test_the_bundled_plan_is_revision_1(client: TestClient) -> None:
    listed = client.get("/revisions").json()["revisions"]
    first = listed[0]
    assert first["id"] == 1 and first["legal_basis"] == BUNDLED_BASIS and first["decided_on"] == "2023-06-13"
    assert first["name"].startswith("Quy hoạch tỉnh Long An") and first["asof"] == first["published_at"]
    one = client.get("/revisions/1").json()
    assert {k: v for k, v in one.items() if k != "links"} == {k: v for k, v in first.items() if k != "links"}
    # the plan of revision 1 is every feature seeded: read asof its instant, it is the bundled plan
    zones = client.get("/collections/zones/items", params={"asof": first["published_at"], "limit": "100"}).json()
    assert len(zones["features"]) == client.get("/collections/zones/items?limit=100").json()["numberReturned"]


def test_the_diff_lists_exactly_the_changes_between_two_revisions(client: TestClient, scene: RevisionScene) -> None:
    body = diff(client, "1", str(scene.revision))
    assert body["from"] == {"instant": scene.before.isoformat(), "revision": 1}
    assert body["to"]["revision"] == scene.revision
    nonzero = {layer: counts for layer, counts in body["summary"].items() if any(counts.values())}
    assert nonzero == {"zones": {"added": 0, "removed": 0, "changed": 2},
                       "axes": {"added": 0, "removed": 0, "changed": 1},
                       "projects": {"added": 1, "removed": 1, "changed": 0}}
    assert set(entries(body)) == {("zones", "changed", scene.renamed), ("zones", "changed", scene.reshaped),
                                  ("axes", "changed", scene.moved), ("projects", "added", scene.added),
                                  ("projects", "removed", scene.removed)}
    assert body["numberReturned"] == 5
    assert not any(link["rel"] == "next" for link in body["links"])


def test_an_attribute_only_change_lists_old_and_new_values(client: TestClient, scene: RevisionScene) -> None:
    entry = entries(diff(client, "1", str(scene.revision)))[("zones", "changed", scene.renamed)]
    assert entry["attributes"] == {"name_en": {"old": "Tân An centre", "new": "Tan An centre (renamed)"},
                                   "props.ap": {"old": None, "new": "ấp Bình Tâm"}}
    assert entry["geometry_change"] == {"changed": False}
    assert entry["code"] == "C1" and entry["from_version"] < entry["to_version"]


def test_a_geometry_only_change_is_measured(client: TestClient, scene: RevisionScene) -> None:
    found = entries(diff(client, "1", str(scene.revision)))
    moved = found[("axes", "changed", scene.moved)]
    assert moved["attributes"] == {}
    new_axis = shapely.transform(scene.old_axis, lambda xy: xy + [SHIFT, 0])
    to_metres = transformer("EPSG:4326", "EPSG:9210")
    metric = [shapely.transform(g, lambda xy: list(zip(*to_metres.transform(xy[:, 0], xy[:, 1]), strict=True)))
              for g in (scene.old_axis, new_axis)]
    assert moved["geometry_change"]["hausdorff_m"] == pytest.approx(shapely.hausdorff_distance(*metric), abs=0.01)
    assert 1000 < moved["geometry_change"]["hausdorff_m"] < 1200  # 0.01° of longitude at 10.6° N
    length = moved["geometry_change"]["length_m"]
    assert length["old"] == pytest.approx(GEOD.geometry_length(scene.old_axis), abs=0.02)
    assert length["new"] == pytest.approx(GEOD.geometry_length(new_axis), abs=0.02)
    assert length["difference"] == pytest.approx(length["new"] - length["old"], abs=0.011)
    assert "area_m2" not in moved["geometry_change"]

    reshaped = found[("zones", "changed", scene.reshaped)]
    assert reshaped["attributes"] == {} and reshaped["geometry_change"]["changed"] is True
    area = reshaped["geometry_change"]["area_m2"]
    old_area, new_area = (abs(GEOD.geometry_area_perimeter(g)[0]) for g in (scene.old_r2, NEW_R2))
    assert area["old"] == pytest.approx(old_area, rel=1e-5) and area["new"] == pytest.approx(new_area, rel=1e-5)
    assert area["difference"] == pytest.approx(area["new"] - area["old"], abs=0.011)
    assert reshaped["geometry_change"]["hausdorff_m"] > 0


def test_added_and_removed_features_carry_their_own_measures(client: TestClient, scene: RevisionScene) -> None:
    found = entries(diff(client, "1", str(scene.revision)))
    added, removed = found[("projects", "added", scene.added)], found[("projects", "removed", scene.removed)]
    assert added["code"] == "DA-REV-MOI" and added["from_version"] is None and added["attributes"] is None
    assert added["geometry_change"] == {"changed": True}  # a point: no area, no length
    assert removed["code"] == "DA-QL62" and removed["to_version"] is None
    assert removed["geometry_change"]["length_m"]["new"] is None
    assert removed["geometry_change"]["length_m"]["difference"] == -removed["geometry_change"]["length_m"]["old"] < 0


def test_instants_name_the_same_points_as_revisions(client: TestClient, scene: RevisionScene) -> None:
    by_revision = diff(client, "1", str(scene.revision))
    by_instant = diff(client, scene.before.isoformat(), scene.after.isoformat())
    assert by_instant["from"]["revision"] is None and by_instant["summary"] == by_revision["summary"]
    assert entries(by_instant) == entries(by_revision)
    log = next(link["href"] for link in by_instant["links"] if link["href"].startswith("http://testserver/changes"))
    logged = client.get(log.removeprefix("http://testserver"))  # the instants survive the link (+ encoded)
    assert logged.status_code == 200 and len(logged.json()["changes"]) == 9
    # the change made after revision 2 is in the diff from revision 2 to now
    with psycopg.connect(scene.url) as conn:
        now = conn.execute("SELECT clock_timestamp()").fetchone()[0]
    since = diff(client, str(scene.revision), now.isoformat().replace("+00:00", "Z"))
    assert since["to"] == {"instant": now.isoformat(), "revision": None}
    assert {k: v for k, v in since["summary"].items() if any(v.values())} == {
        "zones": {"added": 0, "removed": 0, "changed": 1}}
    assert entries(since)[("zones", "changed", scene.later)]["attributes"] == {
        "name_vi": {"old": "Trung tâm Tân An", "new": "Trung tâm Tân An (sau)"}}


def test_geojson_draws_each_change_for_a_map(client: TestClient, scene: RevisionScene) -> None:
    response = client.get(f"/revisions/1/diff/{scene.revision}", params={"f": "geojson"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection" and body["summary"]["projects"]["added"] == 1
    by_id = {f["id"]: f for f in body["features"]}
    assert {f["properties"]["change"] for f in body["features"]} == {"added", "removed", "changed"}
    moved = by_id[f"axes/{scene.moved}"]
    was = by_id[f"axes/{scene.moved}@from"]
    assert moved["properties"]["side"] == "to" and was["properties"]["side"] == "from"
    assert shapely.geometry.shape(was["geometry"]).equals_exact(scene.old_axis, 1e-7)
    assert shapely.geometry.shape(moved["geometry"]).equals_exact(
        shapely.transform(scene.old_axis, lambda xy: xy + [SHIFT, 0]), 1e-7)
    assert f"zones/{scene.renamed}@from" not in by_id  # its geometry did not change
    assert by_id[f"projects/{scene.removed}"]["geometry"] is not None  # drawn where it was
    assert len(body["features"]) == 5 + 2  # and the old shapes of the two geometries that changed
    assert moved["properties"]["geometry_change"]["hausdorff_m"] > 1000 and "geometry" not in moved["properties"]


def test_a_long_diff_is_paged_across_collections(client: TestClient, scene: RevisionScene) -> None:
    whole = diff(client, "1", str(scene.revision))
    seen: list[tuple[str, str, int]] = []
    href: str | None = f"/revisions/1/diff/{scene.revision}?limit=2"
    while href:
        body = client.get(href).json()
        assert body["summary"] == whole["summary"] and body["numberReturned"] <= 2
        seen += list(entries(body))
        href = next((link["href"].removeprefix("http://testserver") for link in body["links"]
                     if link["rel"] == "next"), None)
    assert len(seen) == len(set(seen)) == 5 and set(seen) == set(entries(whole))


def test_the_layer_parameter_narrows_the_diff(client: TestClient, scene: RevisionScene) -> None:
    body = diff(client, "1", str(scene.revision), layer="axes,projects")
    assert list(body["summary"]) == ["axes", "projects"] and len(entries(body)) == 3


@pytest.mark.parametrize(("path", "status", "parameter"), [
    ("/revisions/2/diff/1", 400, "a"),
    ("/revisions/1/diff/999", 404, "b"),
    ("/revisions/1/diff/2026-02-30T00:00:00Z", 400, "b"),
    ("/revisions/1/diff/2999-01-01T00:00:00Z", 400, "b"),
    ("/revisions/1/diff/yesterday", 400, "b"),
    ("/revisions/1/diff/2026-01-01T00:00:00", 400, "b"),  # no offset
    ("/revisions/1/diff/1?layer=roads", 400, "layer"),
    ("/revisions/1/diff/1?after=zones", 400, "after"),
    ("/revisions/1/diff/1?after=roads:1", 400, "after"),
    ("/revisions/1/diff/1?f=atom", 400, "f"),
    ("/revisions/1/diff/1?asof=2026-01-01T00:00:00Z", 400, "asof"),  # not a parameter of the diff
    ("/revisions/999", 404, "revisionId"),
    ("/revisions/abc", 404, "revisionId"),
])
def test_bad_points_are_problems(client: TestClient, scene: RevisionScene, path: str, status: int,
                                 parameter: str) -> None:
    assert_problem(client.get(path), status, parameter)


def test_only_approvers_record_revisions(client: TestClient, scene: RevisionScene) -> None:
    url = client.app.state.url  # type: ignore[attr-defined]
    new = {"name": "Điều chỉnh 2026", "legal_basis": "Decision 99/QĐ-TTg, 02/02/2026"}
    assert_problem(client.post("/revisions", json=new), 401)
    assert_problem(client.post("/revisions", json=new, headers=bearer(token_for(url, Role.editor))), 403)
    created = client.post("/revisions", json=new, headers=bearer(scene.token))
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"] == f"http://testserver/revisions/{body['id']}"
    assert body["created_by"] == APPROVER and body["decided_on"] is None and body["note"] is None
    assert client.get(f"/revisions/{body['id']}").json()["name"] == "Điều chỉnh 2026"
    assert_problem(client.post("/revisions", json=new, headers=bearer(scene.token)), 409, "name")


@pytest.mark.parametrize(("body", "parameter"), [
    ({"legal_basis": "x"}, "name"),
    ({"name": "x", "legal_basis": "  "}, "legal_basis"),
    ({"name": "x", "legal_basis": "y", "decided_on": "13/06/2023"}, "decided_on"),
    ({"name": "x", "legal_basis": "y", "decided_on": "2023-02-30"}, "decided_on"),
    ({"name": "x", "legal_basis": "y", "published_at": "2020-01-01T00:00:00Z"}, "published_at"),
    ({"name": "x" * 301, "legal_basis": "y"}, "name"),
    (["name"], "body"),
])
def test_a_bad_revision_is_refused(client: TestClient, scene: RevisionScene, body: Any, parameter: str) -> None:
    assert_problem(client.post("/revisions", json=body, headers=bearer(scene.token)), 400, parameter)


def test_a_revision_body_must_be_json(client: TestClient, scene: RevisionScene) -> None:
    response = client.post("/revisions", content=b"name=x", headers={
        **bearer(scene.token), "Content-Type": "application/x-www-form-urlencoded"})
    assert_problem(response, 415)


def test_revision_pages_link_their_diff_and_changes(client: TestClient, scene: RevisionScene) -> None:
    body = client.get(f"/revisions/{scene.revision}").json()
    hrefs = {link["href"].removeprefix("http://testserver") for link in body["links"]}
    assert f"/revisions/1/diff/{scene.revision}" in hrefs and f"/changes?revision={scene.revision}" in hrefs
    assert body["legal_basis"] == "Decision 1234/QĐ-TTg, 01/10/2025" and body["note"] == "Điều chỉnh cục bộ"
    for path in ("/revisions?f=html", f"/revisions/{scene.revision}?f=html",
                 f"/revisions/1/diff/{scene.revision}?f=html"):
        page = client.get(path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), path
    diff_page = client.get(f"/revisions/1/diff/{scene.revision}?f=html").text
    assert "Tan An centre (renamed)" in diff_page and "ấp Bình Tâm" in diff_page and "DA-REV-MOI" in diff_page
    assert "Điều chỉnh quy hoạch 2025" in client.get("/revisions?f=html").text


def zone_download(client: TestClient, tmp_path: Path, **params: str) -> gpd.GeoDataFrame:
    response = client.get("/collections/zones/items", params={"f": "gpkg", **params})
    assert response.status_code == 200, response.text
    path = tmp_path / f"zones-{len(list(tmp_path.iterdir()))}.gpkg"
    path.write_bytes(response.content)
    return pyogrio.read_dataframe(path).set_index("code")


def test_a_download_of_a_revision_is_the_plan_it_fixed(client: TestClient, scene: RevisionScene,
                                                       tmp_path: Path) -> None:
    """`revision=N` on the items and download routes reads the plan as revision N fixed it (`asof` its instant):
    revision 1 has R2's old geometry, exactly, and C1's old names; revision 2 the reshaped R2 and the renamed C1,
    but not C1's later rename."""
    first = zone_download(client, tmp_path, revision="1")
    second = zone_download(client, tmp_path, revision=str(scene.revision))
    now = zone_download(client, tmp_path)
    assert shapely.to_wkb(first.geometry["R2"]) == shapely.to_wkb(scene.old_r2)
    assert shapely.equals(second.geometry["R2"], NEW_R2)
    assert first.name_en["C1"] != second.name_en["C1"] == "Tan An centre (renamed)"
    assert second.name_vi["C1"] != now.name_vi["C1"] == "Trung tâm Tân An (sau)"
    by_instant = zone_download(client, tmp_path, asof=scene.before.isoformat())
    assert by_instant.drop(columns="geometry").equals(first.drop(columns="geometry"))
    page = client.get("/collections/zones/items", params={"code": "C1", "revision": "1"}).json()
    assert page["features"][0]["properties"]["name_en"] == first.name_en["C1"]
    assert all("revision=1" in link["href"] for link in page["links"] if link["rel"] in ("self", "next"))


@pytest.mark.parametrize(("params", "status"), [
    ({"revision": "999"}, 404),
    ({"revision": "one"}, 400),
    ({"revision": "1", "asof": "2024-01-01T00:00:00Z"}, 400),
    ({"revision": "999", "f": "gpkg"}, 404),
])
def test_a_revision_that_is_not_one_is_refused_naming_it(client: TestClient, scene: RevisionScene,
                                                         params: dict[str, str], status: int) -> None:
    assert_problem(client.get("/collections/zones/items", params=params), status, "revision")
