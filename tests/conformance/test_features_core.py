"""OGC API – Features – Part 1: Core, conformance class Core (OGC 17-069r4, Annex A.2), one test per abstract test,
run the way ets-ogcapi-features10 runs them: every collection, the parameter definitions read from the API
definition's items paths, the bounding boxes it tries (across the meridian, the equator, the antimeridian, the
poles), the datetime forms it sends."""

from __future__ import annotations

import http.client
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import box, shape

from tests.conformance.ats import (
    CRS84,
    FEATURES_1,
    GEOJSON,
    HTML,
    JSON,
    PROBLEM,
    all_features,
    api,
    collections,
    concrete,
    get,
    ids,
    items_href,
    items_paths,
    link,
    media_type,
    ok_json,
    pages,
    parameters,
    rels,
    spatial_collections,
)

# ets-ogcapi-features10's bounding boxes: the collection's extent, then boxes across the meridian, the equator,
# the antimeridian (west > east) and the poles
ETS_BOXES = [(-1.5, 50.0, 1.5, 53.0), (-80.0, -5.0, -70.0, 5.0), (177.0, 65.0, -177.0, 70.0),
             (-180.0, 85.0, 180.0, 90.0), (-180.0, -90.0, 180.0, -85.0)]


def _wrapped_box(x0: float, y0: float, x1: float, y1: float) -> shapely.Geometry:
    """A CRS84 bbox as a shape; west > east crosses the antimeridian: the two boxes either side of it."""
    return box(x0, y0, x1, y1) if x0 <= x1 else shapely.union(box(x0, y0, 180, y1), box(-180, y0, x1, y1))


def _coordinates(feature: dict[str, Any]) -> list[tuple[float, ...]]:
    return [] if feature["geometry"] is None else list(shapely.get_coordinates(shape(feature["geometry"])))


# -- landing page, API definition, conformance ------------------------------------------------------------------
def test_ats_core_http(live_server_url: str) -> None:
    """/conf/core/http: the resources are served over HTTP 1.1."""
    parts = urlsplit(live_server_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", "/", headers={"Accept": JSON})
        response = connection.getresponse()
        assert response.version == 11 and response.status == 200
        response.read()
    finally:
        connection.close()


def test_ats_core_root_op(client: TestClient) -> None:
    """/conf/core/root-op: GET / answers 200."""
    assert client.get("/").status_code == 200


def test_ats_core_root_success(client: TestClient) -> None:
    """/conf/core/root-success: the landing page links the API definition, the conformance declaration and the
    collections; every link has href and rel."""
    body = ok_json(client, "/")
    found = rels(body)
    assert "service-desc" in found or "service-doc" in found
    assert {"conformance", "data"} <= set(found)
    assert all(isinstance(x.get("href"), str) and isinstance(x.get("rel"), str) for x in body["links"])
    assert link(body, "data")["href"].endswith("/collections")
    assert link(body, "conformance")["href"].endswith("/conformance")


def test_ats_core_api_definition_op(client: TestClient) -> None:
    """/conf/core/api-definition-op: the service-desc and service-doc links answer 200."""
    body = ok_json(client, "/")
    for rel in ("service-desc", "service-doc"):
        target = link(body, rel)
        response = get(client, target["href"])
        assert response.status_code == 200, rel
        assert media_type(response) == target["type"].split(";")[0]


def test_ats_core_api_definition_success(client: TestClient) -> None:
    """/conf/core/api-definition-success: the definition is a valid document of its media type (OpenAPI 3.0)."""
    spec = api(client)
    assert re.fullmatch(r"3\.0\.\d+", spec["openapi"])
    assert spec["info"]["title"] and spec["info"]["version"]
    assert {"/", "/conformance", "/collections", "/collections/{collectionId}",
            "/collections/{collectionId}/items", "/collections/{collectionId}/items/{featureId}"} <= set(spec["paths"])
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert operation.get("responses"), (path, method)


def test_ats_core_conformance_op(client: TestClient) -> None:
    """/conf/core/conformance-op: the conformance declaration answers 200 where the landing page links it."""
    ok_json(client, link(ok_json(client, "/"), "conformance")["href"])


def test_ats_core_conformance_success(client: TestClient) -> None:
    """/conf/core/conformance-success: `conformsTo` lists strings, among them the Core class."""
    classes = ok_json(client, "/conformance")["conformsTo"]
    assert isinstance(classes, list) and all(isinstance(c, str) for c in classes)
    assert f"{FEATURES_1}/core" in classes and len(set(classes)) == len(classes)


# -- collections -------------------------------------------------------------------------------------------------
def test_ats_core_fc_md_op(client: TestClient) -> None:
    """/conf/core/fc-md-op: GET /collections answers 200 (linked as rel data from the landing page)."""
    ok_json(client, link(ok_json(client, "/"), "data")["href"])


def test_ats_core_fc_md_success(client: TestClient) -> None:
    """/conf/core/fc-md-success: `links` and `collections` are arrays; each collection has an id and links."""
    body = ok_json(client, "/collections")
    assert isinstance(body["links"], list) and isinstance(body["collections"], list) and body["collections"]
    assert all(isinstance(c["id"], str) and isinstance(c["links"], list) for c in body["collections"])
    assert len({c["id"] for c in body["collections"]}) == len(body["collections"])


def test_ats_core_fc_md_links(client: TestClient) -> None:
    """/conf/core/fc-md-links: a self link, an alternate link for every other media type served (HTML), rel and
    type on each."""
    body = ok_json(client, "/collections")
    assert link(body, "self", JSON) and link(body, "alternate", HTML)
    assert get(client, link(body, "alternate", HTML)["href"]).status_code == 200
    assert all(x.get("rel") and x.get("type") for x in body["links"])


def test_ats_core_fc_md_items(client: TestClient) -> None:
    """/conf/core/fc-md-items: each collection has an id, links to its items, and a valid extent if it has one."""
    for collection in collections(client):
        assert link(collection, "items", GEOJSON)
        extent = collection.get("extent")
        if extent is None:
            continue
        for bbox in extent.get("spatial", {}).get("bbox", []):
            assert len(bbox) in (4, 6) and bbox[1] <= bbox[3 if len(bbox) == 4 else 4]
        for interval in extent.get("temporal", {}).get("interval", []):
            assert len(interval) == 2 and all(v is None or _utc(v) for v in interval)


def test_ats_core_fc_md_items_links(client: TestClient) -> None:
    """/conf/core/fc-md-items-links: each collection links its items in every feature encoding (GeoJSON, HTML),
    and those links answer in their type."""
    for collection in collections(client):
        for media in (GEOJSON, HTML):
            target = link(collection, "items", media)
            response = get(client, target["href"])
            assert response.status_code == 200 and media_type(response) == media, target


def test_ats_core_fc_md_extent(client: TestClient) -> None:
    """/conf/core/fc-md-extent: the extent's boxes hold every geometry of the collection and its intervals every
    feature's time (null: open)."""
    for collection in collections(client):
        extent = collection.get("extent", {})
        features = all_features(client, items_href(collection))
        if "spatial" in extent:
            west, south, east, north = extent["spatial"]["bbox"][0]
            points = [xy for f in features for xy in _coordinates(f)]
            assert points
            assert all(west - 1e-7 <= x <= east + 1e-7 and south - 1e-7 <= y <= north + 1e-7 for x, y in points)
        for start, end in extent.get("temporal", {}).get("interval", []):
            for feature in features:
                first, last = _feature_time(collection["id"], feature["properties"])
                if first is not None or last is not None:
                    assert start is None or (first is not None and _utc(start) <= first), feature["id"]
                    assert end is None or (last is not None and last <= _utc(end)), feature["id"]


def test_ats_core_sfc_md_op(client: TestClient) -> None:
    """/conf/core/sfc-md-op: GET /collections/{collectionId} answers 200 for every collection."""
    for collection in collections(client):
        ok_json(client, link(collection, "self")["href"])


def test_ats_core_sfc_md_success(client: TestClient) -> None:
    """/conf/core/sfc-md-success: a collection alone is the collection as /collections lists it."""
    for listed in collections(client):
        alone = ok_json(client, f"/collections/{listed['id']}")
        for key in ("id", "title", "description", "links", "extent", "crs", "storageCrs", "itemType"):
            assert alone.get(key) == listed.get(key), (listed["id"], key)


# -- features ----------------------------------------------------------------------------------------------------
def test_ats_core_fc_op(client: TestClient) -> None:
    """/conf/core/fc-op: every collection's items answer 200 with a feature collection."""
    for collection in collections(client):
        assert ok_json(client, items_href(collection), GEOJSON)["type"] == "FeatureCollection"


def test_ats_core_fc_limit_definition(client: TestClient) -> None:
    """/conf/core/fc-limit-definition: `limit` is an optional integer query parameter, form style, not exploded,
    with minimum, default and maximum."""
    spec = api(client)
    paths = items_paths(spec)
    assert "/collections/{collectionId}/items" in paths and len(paths) > 1
    for path in paths:
        limit = parameters(spec, path)["limit"]
        assert (limit["in"], limit.get("required", False), limit["style"], limit["explode"]) == \
            ("query", False, "form", False), path
        schema = limit["schema"]
        assert schema["type"] == "integer" and schema["minimum"] >= 0 and schema["default"] >= 0, path
        assert schema["minimum"] <= schema["default"] <= schema["maximum"], path


def test_ats_core_fc_limit_response(client: TestClient) -> None:
    """/conf/core/fc-limit-response: no more features than `limit`, nor than the maximum the definition gives."""
    schema = parameters(api(client), "/collections/{collectionId}/items")["limit"]["schema"]
    minimum, maximum = max(schema["minimum"], 1), schema["maximum"]
    for collection in collections(client):
        for asked in (minimum, min(100, (minimum + maximum) // 2), maximum, maximum + 1):
            body = ok_json(client, items_href(collection), GEOJSON, limit=asked)
            assert len(body["features"]) <= min(asked, maximum), (collection["id"], asked)
        assert len(ok_json(client, items_href(collection), GEOJSON, limit=1)["features"]) <= 1


def test_ats_core_fc_bbox_definition(client: TestClient) -> None:
    """/conf/core/fc-bbox-definition: `bbox` is an optional array of 4 or 6 numbers, form style, not exploded."""
    spec = api(client)
    for path in items_paths(spec):
        bbox = parameters(spec, path)["bbox"]
        assert (bbox["in"], bbox.get("required", False), bbox["style"], bbox["explode"]) == \
            ("query", False, "form", False), path
        schema = bbox["schema"]
        assert schema["type"] == "array" and schema["items"]["type"] == "number", path
        assert sorted((s["minItems"], s["maxItems"]) for s in schema["oneOf"]) == [(4, 4), (6, 6)], path


def test_ats_core_fc_bbox_response(client: TestClient) -> None:
    """/conf/core/fc-bbox-response: only features intersecting the box (west > east: across the antimeridian),
    every such feature, geometries in CRS84; features without geometry match any box."""
    for collection in spatial_collections(client):
        href = items_href(collection)
        every = all_features(client, href)
        extent = tuple(collection["extent"]["spatial"]["bbox"][0])
        x0, y0, x1, y1 = extent
        middle = (x0 + x1) / 2
        # the extent, the ETS boxes, and boxes across the antimeridian that reach into the data from either side
        boxes = [extent, *ETS_BOXES, (middle, y0, -179.0, y1), (179.0, y0, middle, y1), (middle, y0, 180.0, y1)]
        for bbox in boxes:
            got = all_features(client, href, bbox=",".join(map(str, bbox)))
            area = _wrapped_box(*bbox)
            expected = {f["id"] for f in every if f["geometry"] and shape(f["geometry"]).intersects(area)}
            assert ids(got) == expected, (collection["id"], bbox)
            assert all(-180 <= x <= 180 and -90 <= y <= 90 for f in got for x, y in _coordinates(f))
        assert ids(all_features(client, href, bbox=",".join(map(str, extent)))) == ids(every)
        wrapped = ids(all_features(client, href, bbox=f"{middle},{y0},-179,{y1}"))
        assert wrapped == ids(all_features(client, href, bbox=f"{middle},{y0},180,{y1}"))
        if collection["id"] == "projects":  # points both sides of the middle: read unwrapped, the box differs
            assert wrapped != ids(all_features(client, href, bbox=f"-179,{y0},{middle},{y1}"))
    for collection in collections(client):  # no geometry: every feature matches
        if "geometryType" not in collection:
            href = items_href(collection)
            assert ids(all_features(client, href, bbox="100,10,107,11")) == ids(all_features(client, href))


def test_ats_core_fc_time_definition(client: TestClient) -> None:
    """/conf/core/fc-time-definition: `datetime` is an optional string query parameter, form style, not exploded."""
    spec = api(client)
    for path in items_paths(spec):
        param = parameters(spec, path)["datetime"]
        assert (param["in"], param.get("required", False), param["style"], param["explode"]) == \
            ("query", False, "form", False), path
        assert param["schema"]["type"] == "string", path


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _feature_time(collection_id: str, properties: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    """A feature's time as its collection's extent describes it (plans: the decision day; projects: start year …
    end year, open where unknown)."""
    if collection_id == "plans":
        day = properties.get("decision_date")
        if day is None:
            return None, None
        start = datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC)
        return start, start + timedelta(days=1, microseconds=-1)
    if collection_id == "projects":
        first, last = properties.get("start_year"), properties.get("end_year")
        return (datetime(first, 1, 1, tzinfo=UTC) if first is not None else None,
                datetime(last, 12, 31, 23, 59, 59, 999000, tzinfo=UTC) if last is not None else None)
    return None, None


def _in_time(collection_id: str, properties: dict[str, Any], lo: datetime | None, hi: datetime | None) -> bool:
    first, last = _feature_time(collection_id, properties)
    if first is None and last is None:
        return True  # not associated with a temporal geometry: always in the result
    return (hi is None or first is None or first <= hi) and (lo is None or last is None or last >= lo)


def test_ats_core_fc_time_response(client: TestClient) -> None:
    """/conf/core/fc-time-response: an instant, a bounded interval and intervals open at either end (`..` and
    the empty string) select the features whose time intersects them, and every feature without a time;
    a collection without a temporal extent has no temporal geometry, so all its features match."""
    t = "T00:00:00Z"
    cases = [
        ("2023-06-13T12:00:00Z", _utc("2023-06-13T12:00:00Z"), _utc("2023-06-13T12:00:00Z")),
        (f"2024-01-01{t}/2026-12-31{t}", _utc(f"2024-01-01{t}"), _utc(f"2026-12-31{t}")),
        (f"2027-01-01{t}/..", _utc(f"2027-01-01{t}"), None), (f"2027-01-01{t}/", _utc(f"2027-01-01{t}"), None),
        (f"../2022-06-30{t}", None, _utc(f"2022-06-30{t}")), (f"/2022-06-30{t}", None, _utc(f"2022-06-30{t}")),
        # an end given as a duration, as the test engine sends it (ISO 8601 start/duration, duration/end)
        ("2024-01-01/P3Y", _utc(f"2024-01-01{t}"), _utc(f"2027-01-01{t}")),
        (f"P1Y6M/2023-06-30{t}", _utc(f"2021-12-30{t}"), _utc(f"2023-06-30{t}")),
    ]
    timed = {c["id"] for c in collections(client) if "temporal" in c.get("extent", {})}
    assert timed == {"plans", "projects"}
    for collection in collections(client):
        href = items_href(collection)
        every = all_features(client, href)
        for value, lo, hi in cases:
            got = ids(all_features(client, href, datetime=value))
            if collection["id"] in timed:
                assert got == {f["id"] for f in every if _in_time(collection["id"], f["properties"], lo, hi)}, value
            else:
                assert got == ids(every), (collection["id"], value)
    projects = all_features(client, "/collections/projects/items")
    undated = {f["id"] for f in projects if f["properties"]["start_year"] is None
               and f["properties"]["end_year"] is None}
    assert undated and undated <= ids(all_features(client, "/collections/projects/items", datetime="1900-01-01"))


# -- parameters --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "value"), [
    ("limit", "0"), ("limit", "-1"), ("limit", "ten"), ("bbox", "1,2,3"), ("bbox", "a,b,c,d"),
    ("bbox", "106,11,107,10"), ("datetime", "soon"), ("datetime", "2024/2023"), ("bbox-crs", "EPSG:1"),
])
def test_ats_core_query_param_invalid(client: TestClient, name: str, value: str) -> None:
    """/conf/core/query-param-invalid: an invalid value of a parameter the API takes is a 400."""
    params = {name: value, **({"bbox": "106,10,107,11"} if name == "bbox-crs" else {})}
    response = client.get("/collections/zones/items", params=params)
    assert response.status_code == 400 and media_type(response) == PROBLEM, (name, value)
    assert response.json()["parameter"] == name


def test_ats_core_query_param_unknown(client: TestClient) -> None:
    """/conf/core/query-param-unknown: a query parameter the API definition does not specify is a 400 — on every
    resource it lists, not only the items."""
    paths = [p for p, operations in api(client)["paths"].items() if "get" in operations]
    assert len(paths) > 30
    for template in paths:
        response = client.get(concrete(template, featureId="1"), params={"not_a_parameter": "1"})
        assert response.status_code == 400, (template, response.status_code)
        assert response.json()["parameter"] == "not_a_parameter"


# -- feature collections -----------------------------------------------------------------------------------------
def test_ats_core_fc_response(client: TestClient) -> None:
    """/conf/core/fc-response: a FeatureCollection with its features, links, timeStamp, numberMatched and
    numberReturned."""
    for collection in collections(client):
        body = ok_json(client, items_href(collection), GEOJSON)
        assert body["type"] == "FeatureCollection" and isinstance(body["features"], list)
        assert isinstance(body["links"], list) and isinstance(body["numberReturned"], int)
        assert "timeStamp" in body and isinstance(body.get("numberMatched", 0), int)


def test_ats_core_fc_links(client: TestClient) -> None:
    """/conf/core/fc-links: a self link, an alternate link for each other encoding (and they answer), a next link
    while there are more; rel and type on each."""
    for collection in collections(client):
        body = ok_json(client, items_href(collection), GEOJSON, limit=2)
        assert link(body, "self", GEOJSON)
        for media in (HTML, "text/csv"):
            alternate = link(body, "alternate", media)
            response = get(client, alternate["href"])
            assert response.status_code == 200 and media_type(response) == media
        assert all(x.get("rel") and x.get("type") for x in body["links"])
        if body.get("numberMatched", 0) > 2:
            assert link(body, "next", GEOJSON)


def test_ats_core_fc_timestamp(client: TestClient) -> None:
    """/conf/core/fc-timeStamp: `timeStamp` is the time the response was made (RFC 3339, to the second)."""
    for collection in collections(client):
        before = datetime.now(UTC).replace(microsecond=0)
        body = ok_json(client, items_href(collection), GEOJSON)
        after = datetime.now(UTC)
        assert before <= _utc(body["timeStamp"]) <= after, body["timeStamp"]


def test_ats_core_fc_number_matched(client: TestClient) -> None:
    """/conf/core/fc-numberMatched: `numberMatched` is the number of features the selection matches (counted by
    following every page), with and without selection parameters."""
    for collection in collections(client):
        for params in ({}, {"bbox": "106.3,10.4,106.6,10.7"}, {"datetime": "2020-01-01/.."}):
            first = next(pages(client, items_href(collection), limit=3, **params))
            if "numberMatched" in first:
                counted = len(all_features(client, items_href(collection), limit=3, **params))
                assert first["numberMatched"] == counted, (collection["id"], params)


def test_ats_core_fc_number_returned(client: TestClient) -> None:
    """/conf/core/fc-numberReturned: `numberReturned` is the number of features in the response."""
    for collection in collections(client):
        for page in pages(client, items_href(collection), limit=4):
            assert page["numberReturned"] == len(page["features"])


def test_ats_core_crs84(client: TestClient) -> None:
    """/conf/core/crs84: with no CRS asked, every geometry is in CRS84: longitude first, in range, inside the
    collection's extent (the data is in Long An)."""
    for collection in spatial_collections(client):
        assert collection["extent"]["spatial"].get("crs", CRS84) == CRS84
        for feature in all_features(client, items_href(collection)):
            for x, y in _coordinates(feature):
                assert 102 < x < 110 and 8 < y < 12, (collection["id"], feature["id"], x, y)


# -- one feature -------------------------------------------------------------------------------------------------
def _first_features(client: TestClient) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each collection that has features, with its first one."""
    firsts = [(c, ok_json(client, items_href(c), GEOJSON, limit=1)["features"]) for c in collections(client)]
    return [(c, features[0]) for c, features in firsts if features]


def test_ats_core_f_op(client: TestClient) -> None:
    """/conf/core/f-op: each feature a collection lists answers 200 at /collections/{id}/items/{featureId}."""
    for collection, feature in _first_features(client):
        ok_json(client, f"{items_href(collection)}/{feature['id']}", GEOJSON)
    assert client.get("/collections/zones/items/999999999").status_code == 404


def test_ats_core_f_success(client: TestClient) -> None:
    """/conf/core/f-success: a GeoJSON Feature, the one the collection lists."""
    for collection, listed in _first_features(client):
        alone = ok_json(client, f"{items_href(collection)}/{listed['id']}", GEOJSON)
        assert alone["type"] == "Feature" and alone["id"] == listed["id"]
        assert alone["geometry"] == listed["geometry"] and alone["properties"] == listed["properties"]


def test_ats_core_f_links(client: TestClient) -> None:
    """/conf/core/f-links: self, alternate (HTML) and collection links, with rel and type."""
    for collection, feature in _first_features(client):
        body = ok_json(client, f"{items_href(collection)}/{feature['id']}", GEOJSON)
        assert link(body, "self", GEOJSON) and link(body, "collection", JSON)
        assert get(client, link(body, "alternate", HTML)["href"]).status_code == 200
        assert all(x.get("rel") and x.get("type") for x in body["links"])
