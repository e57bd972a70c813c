"""OGC API – Features Part 4 over HTTP: strong ETags on every item, If-Match required and compared (428, 412),
201 + Location on create, the loaders' input rules (Content-Crs with VN-2000, geometry validity and type, known
properties, unique codes) refusing a bad write with nothing written, and the API definition saying all of it."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from pyproj import Geod, Transformer

from app.main import create_app
from spatial.crs import EPSG_URI
from spatial.identity.model import Role
from tests.edit_fixtures import (  # noqa: F401 - fixtures
    MERGE_PATCH,
    callers_fixture,
    edit_client_fixture,
    edit_db_fixture,
    headers_of,
    patch_headers,
    zone,
)
from tests.helpers import assert_problem, make_settings, transformer

GEOD = Geod(ellps="WGS84")
STRONG = re.compile(r'^"[0-9a-f]{32}"$')


def changes_written(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM proposal_changes").fetchone()[0]


def test_items_carry_strong_etags(edit_client: TestClient) -> None:
    first = edit_client.get("/collections/zones/items/1")
    etag = first.headers["etag"]
    assert STRONG.match(etag)
    assert edit_client.get("/collections/zones/items/1").headers["etag"] == etag
    assert edit_client.get("/collections/zones/items/2").headers["etag"] != etag
    assert edit_client.get("/collections/zones/items/1", params={"crs": EPSG_URI.format(9210)}).headers["etag"] == etag
    not_modified = edit_client.get("/collections/zones/items/1", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.headers["etag"] == etag
    assert "etag" not in edit_client.get("/collections/zones/items/1", params={"f": "html"}).headers
    assert STRONG.match(edit_client.get("/collections/plans/items/1").headers["etag"])  # layers without geometry


def test_writes_need_the_current_version(edit_client: TestClient, callers: dict, edit_db: str) -> None:
    editor = callers[Role.editor]
    url = "/collections/axes/items/1"
    etag = edit_client.get(url).headers["etag"]
    body = b'{"properties": {"roads": "QL1"}}'
    before = changes_written(edit_db)
    assert_problem(edit_client.patch(url, content=body, headers=patch_headers(editor, None)), 428, "If-Match")
    for stale in ('"00000000000000000000000000000000"', f"W/{etag}"):  # If-Match compares strongly
        assert_problem(edit_client.patch(url, content=body, headers=patch_headers(editor, stale)), 412, "If-Match")
    assert_problem(edit_client.delete(url, headers=editor), 428, "If-Match")
    feature = edit_client.get(url).json()
    assert_problem(edit_client.put(url, json=feature, headers={**editor, "If-Match": '"stale"'}), 412)
    assert changes_written(edit_db) == before
    done = edit_client.patch(url, content=body, headers=patch_headers(editor, f'"x", {etag}'))
    assert done.status_code == 200 and done.json()["properties"]["roads"] == "QL1"
    # the answer's ETag is the version now in the proposal: the next write names it, not the published one
    assert_problem(edit_client.patch(url, content=body, headers=patch_headers(editor, etag)), 412)
    again = edit_client.patch(url, content=b'{"properties": {"rank": 2}}',
                              headers=patch_headers(editor, done.headers["etag"]))
    assert again.status_code == 200 and again.json()["properties"] == {**done.json()["properties"], "rank": 2}
    star = edit_client.delete(url, headers={**editor, "If-Match": "*"})  # RFC 9110: any current version
    assert star.status_code == 204 and star.headers["lapis-proposal"] == done.headers["lapis-proposal"]


def test_create_is_201_with_location(edit_client: TestClient, callers: dict) -> None:
    editor = callers[Role.editor]
    created = edit_client.post("/collections/zones/items", json=zone("Z-LOC"), headers=editor)
    assert created.status_code == 201, created.text
    location, proposal = created.headers["location"], created.headers["lapis-proposal"]
    assert re.fullmatch(r"http://testserver/collections/zones/items/\d+", location)
    assert created.headers["link"] == f'<{location}?proposal={proposal}>; rel="preview"'
    assert created.json()["properties"]["code"] == "Z-LOC" and created.json()["geometry"]["type"] == "MultiPolygon"
    assert edit_client.get(location).status_code == 404  # not published
    preview = edit_client.get(location, params={"proposal": proposal}, headers=editor)
    assert preview.status_code == 200 and preview.headers["etag"] == created.headers["etag"]
    assert preview.headers["cache-control"] == "private, no-store"
    someone = headers_of_other_editor(edit_client)
    assert_problem(edit_client.get(location, params={"proposal": proposal}, headers=someone), 404)
    assert_problem(edit_client.get(location, params={"proposal": proposal}), 401, "Authorization")
    assert_problem(edit_client.get(location, params={"proposal": proposal}, headers=callers[Role.viewer]), 403)
    approver = edit_client.get(location, params={"proposal": proposal}, headers=callers[Role.approver])
    assert approver.status_code == 200


def headers_of_other_editor(client: TestClient) -> dict[str, str]:
    url = client.app.state.services.settings.database_url
    return headers_of(url)[Role.editor]


def test_vn2000_post_lands_within_half_a_metre_of_pyproj(edit_client: TestClient, callers: dict) -> None:
    x, y = 574_321.25, 1_164_876.5  # EPSG:9210 (VN-2000 / TM-3 105-45), in Tân An
    point = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
             "properties": {"code": "DA-VN2000", "name_vi": "Cột mốc", "category": "other"}}
    created = edit_client.post("/collections/projects/items", json=point,
                               headers={**callers[Role.editor], "Content-Crs": f"<{EPSG_URI.format(9210)}>"})
    assert created.status_code == 201, created.text
    lon, lat = created.json()["geometry"]["coordinates"]
    expected = transformer("EPSG:9210", "EPSG:4326").transform(x, y)  # PROJ with EPSG:6960
    assert GEOD.inv(*expected, lon, lat)[2] < 0.5
    assert GEOD.inv(*expected, lon, lat)[2] < 0.01  # EPSG:6960 exactly
    proj_default = Transformer.from_crs("EPSG:9210", "EPSG:4326", always_xy=True).transform(x, y)
    assert GEOD.inv(*proj_default, lon, lat)[2] > 0.5  # so the test tells EPSG:6960 from PROJ's own pick
    back = edit_client.get(created.headers["location"], params={
        "proposal": created.headers["lapis-proposal"], "crs": EPSG_URI.format(9210)}, headers=callers[Role.editor])
    assert back.json()["geometry"]["coordinates"] == pytest.approx([x, y], abs=0.01)


def test_invalid_geometry_is_422_and_nothing_is_written(edit_client: TestClient, edit_db: str) -> None:
    newcomer = headers_of_other_editor(edit_client)
    bowtie = zone("Z-BAD")
    bowtie["geometry"]["coordinates"] = [[[106.40, 10.53], [106.41, 10.54], [106.41, 10.53], [106.40, 10.54],
                                          [106.40, 10.53]]]
    before = changes_written(edit_db)
    body = assert_problem(edit_client.post("/collections/zones/items", json=bowtie, headers=newcomer), 422,
                          "geometry")
    assert "Self-intersection" in body["detail"]
    line = zone("Z-LINE")
    line["geometry"] = {"type": "LineString", "coordinates": [[106.40, 10.53], [106.41, 10.54]]}
    assert_problem(edit_client.post("/collections/zones/items", json=line, headers=newcomer), 422, "geometry")
    assert changes_written(edit_db) == before
    assert edit_client.get("/proposals", headers=newcomer).json()["proposals"] == []  # none was even opened


def test_input_rules(edit_client: TestClient, callers: dict, edit_db: str, tmp_path: Path) -> None:
    editor = callers[Role.editor]
    post = "/collections/zones/items"
    before = changes_written(edit_db)
    unknown = assert_problem(edit_client.post(post, json=zone("Z-U", colour="red", hight=3), headers=editor), 400,
                             "properties")
    assert "unknown colour, hight" in unknown["detail"]
    assert_problem(edit_client.post(post, json=zone("Z-K", kind="castle"), headers=editor), 400, "kind")
    assert_problem(edit_client.post(post, json=zone("C1"), headers=editor), 409)  # a published code
    assert_problem(edit_client.post(post, content=b"{}", headers={**editor, "Content-Type": "text/plain"}), 415)
    assert_problem(edit_client.post(post, content=b"{not json", headers={**editor, "Content-Type": "application/json"}),
                   400, "body")
    assert_problem(edit_client.post(post, json=zone("Z-C"), headers={**editor, "Content-Crs": "EPSG:2154"}), 400,
                   "Content-Crs")
    refused = assert_problem(edit_client.post("/collections/admin_units/items", json=zone("A"), headers=editor), 403)
    assert "reference data" in refused["detail"]
    assert_problem(edit_client.delete("/collections/admin_units/items/1", headers={**callers[Role.admin],
                                                                                    "If-Match": "*"}), 403)
    feature = edit_client.get("/collections/corridors/items/1").json()
    etag = edit_client.get("/collections/corridors/items/1").headers["etag"]
    assert_problem(edit_client.put("/collections/corridors/items/1", json={**feature, "id": 2},
                                   headers={**editor, "If-Match": etag}), 400, "id")
    for missing in ("/collections/zones/items/999999", "/collections/zones/items/abc"):
        assert_problem(edit_client.patch(missing, content=b"{}", headers=patch_headers(editor, "*")), 404)
    assert_problem(edit_client.post(post, json=zone("Z-P"), params={"proposal": 987654}, headers=editor), 404,
                   "proposal")
    assert_problem(edit_client.post(post, json=zone("Z-H"), params={"proposal": 1},
                                    headers={**editor, "Lapis-Proposal": "2"}), 400, "Lapis-Proposal")
    assert changes_written(edit_db) == before
    small = make_settings(edit_db, tmp_path, edit_max_bytes=500)
    with TestClient(create_app(small)) as client:
        assert_problem(client.post(post, json=zone("Z-BIG", source="x" * 600), headers=editor), 413)


def test_a_decided_proposal_takes_no_more_changes(edit_client: TestClient, callers: dict) -> None:
    editor = callers[Role.editor]
    proposal = edit_client.post("/proposals", json={"title": "Một lần"}, headers=editor).json()["id"]
    by_header = edit_client.post("/collections/zones/items", json=zone("Z-HDR", lon=106.3),
                                 headers={**editor, "Lapis-Proposal": str(proposal)})
    assert by_header.status_code == 201 and by_header.headers["lapis-proposal"] == str(proposal)
    assert edit_client.post(f"/proposals/{proposal}/reject", json={"note": "trùng"},
                            headers=callers[Role.approver]).json()["note"] == "trùng"
    assert_problem(edit_client.post("/collections/zones/items", json=zone("Z-LATE", lon=106.3),
                                    params={"proposal": proposal}, headers=editor), 409, "proposal")


def test_publishing_is_all_or_nothing_over_http(edit_client: TestClient, callers: dict, edit_db: str) -> None:
    editor, approver = callers[Role.editor], callers[Role.approver]
    proposal = edit_client.post("/proposals", json={"title": "Hai thay đổi"}, headers=editor).json()["id"]
    urls = ("/collections/axes/items/3", "/collections/axes/items/4")
    before = [edit_client.get(url).json()["properties"]["roads"] for url in urls]
    for url in urls:
        body = '{"properties": {"roads": "mới"}}'.encode()
        changed = edit_client.patch(url, params={"proposal": proposal}, content=body,
                                    headers=patch_headers(editor, edit_client.get(url).headers["etag"]))
        assert changed.status_code == 200, changed.text
    with psycopg.connect(edit_db) as conn:  # someone changes the second axis meanwhile, in plain SQL
        conn.execute("UPDATE axes SET rank = 9 WHERE id = 4")
    refused = assert_problem(edit_client.post(f"/proposals/{proposal}/publish", headers=approver), 409)
    assert "4" in refused["detail"] and "nothing was published" in refused["detail"]
    assert [edit_client.get(url).json()["properties"]["roads"] for url in urls] == before
    assert edit_client.get(f"/proposals/{proposal}", headers=approver).json()["state"] == "open"


def test_the_api_definition_describes_editing(edit_client: TestClient) -> None:
    spec = edit_client.get("/api").json()
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    item = spec["paths"]["/collections/{collectionId}/items/{featureId}"]
    for method in ("put", "patch", "delete"):
        operation = item[method]
        assert operation["security"] == [{"bearerAuth": []}]
        assert {"401", "403", "404", "409", "412", "428"} <= set(operation["responses"])
        if_match = next(p for p in operation["parameters"] if p["name"] == "If-Match")
        assert if_match["in"] == "header" and if_match["required"] is True
        assert "admin_units" not in operation["description"] and "zones" in operation["description"]
    assert MERGE_PATCH in item["patch"]["requestBody"]["content"]
    assert "post" in spec["paths"]["/collections/zones/items"]
    assert spec["paths"]["/collections/admin_units/items"]["post"]["security"] == [{"bearerAuth": []}]
    assert spec["paths"]["/collections/{collectionId}/items"]["get"]["security"] == [{}, {"bearerAuth": []}]
    assert spec["paths"]["/proposals/{proposalId}/publish"]["post"]["security"] == [{"bearerAuth": []}]
    classes = edit_client.get("/conformance").json()["conformsTo"]
    part4 = "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf"
    assert {f"{part4}/create-replace-delete", f"{part4}/update", f"{part4}/features"} <= set(classes)

