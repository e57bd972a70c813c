"""OGC API – Features Parts 1–3 over HTTP against the seeded PostGIS."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from spatial.crs import CRS84, EPSG_URI
from tests.helpers import assert_problem, transformer

GEOJSON = "application/geo+json"
OGC = "http://www.opengis.net/spec"


def follow(client: TestClient, url: str, rel: str = "next") -> list[dict[str, Any]]:
    """Every page from `url` on, following `rel` links; returns the pages."""
    pages = []
    seen = set()
    while url:
        assert url not in seen, "paging loops"
        seen.add(url)
        response = client.get(url)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["numberReturned"] == len(page["features"])
        pages.append(page)
        url = next((link["href"] for link in page["links"] if link["rel"] == rel), None)
    return pages


def ids(pages: list[dict[str, Any]]) -> list[int]:
    return [f["id"] for page in pages for f in page["features"]]


# -- landing, conformance, API definition --------------------------------------------------------------------
def test_landing_is_an_ogc_landing_page_and_keeps_layers(client: TestClient) -> None:
    body = client.get("/").json()
    rels = {link["rel"]: link for link in body["links"]}
    for rel in ("self", "service-desc", "service-doc", "conformance", "data"):
        assert rel in rels
    assert rels["service-desc"]["href"].endswith("/api")
    assert {layer["id"] for layer in body["layers"]} >= {"zones", "admin_units", "projects"}
    html = client.get("/?f=html")
    assert html.headers["content-type"].startswith("text/html") and "Long An" in html.text


def test_conformance_lists_the_classes(client: TestClient) -> None:
    classes = client.get("/conformance").json()["conformsTo"]
    for part in ("ogcapi-features-1/1.0/conf/core", "ogcapi-features-1/1.0/conf/geojson",
                 "ogcapi-features-1/1.0/conf/oas30", "ogcapi-features-2/1.0/conf/crs",
                 "ogcapi-features-3/1.0/conf/filter", "cql2/1.0/conf/cql2-text", "cql2/1.0/conf/cql2-json"):
        assert f"{OGC}/{part}" in classes


def test_api_is_openapi_30_and_docs_are_local(client: TestClient) -> None:
    response = client.get("/api")
    assert response.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    spec = response.json()
    assert spec["openapi"].startswith("3.0")
    assert "/collections/{collectionId}/items" in spec["paths"] and "/locate" in spec["paths"]
    assert "anyOf" not in json.dumps(spec) or '{"type": "null"}' not in json.dumps(spec)
    docs = client.get("/api.html")
    assert docs.status_code == 200
    assert "cdn" not in docs.text.lower() and "/static/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert client.get("/static/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs").status_code == 404  # FastAPI's CDN-based page is off


# -- collections -------------------------------------------------------------------------------------------
def test_collections_have_extent_crs_and_links(client: TestClient) -> None:
    body = client.get("/collections").json()
    collections = {c["id"]: c for c in body["collections"]}
    assert set(collections) >= {"plans", "admin_units", "zones", "corridors", "axes", "projects", "parcels"}
    zones = collections["zones"]
    assert CRS84 in zones["crs"] and EPSG_URI.format(9210) in zones["crs"] and EPSG_URI.format(3405) in zones["crs"]
    west, south, east, north = zones["extent"]["spatial"]["bbox"][0]
    assert 105 < west < east < 107 and 10 < south < north < 11.5
    assert any(link["rel"] == "items" and link["type"] == GEOJSON for link in zones["links"])
    one = client.get("/collections/zones").json()
    assert one["id"] == "zones" and one["extent"] == zones["extent"]


def test_unknown_collection_and_feature_are_404(client: TestClient) -> None:
    assert_problem(client.get("/collections/nope"), 404, "collectionId")
    assert_problem(client.get("/collections/nope/items"), 404, "collectionId")
    assert_problem(client.get("/collections/zones/items/999999"), 404, "featureId")
    assert_problem(client.get("/collections/zones/items/abc"), 404, "featureId")


def test_queryables_are_json_schema(client: TestClient) -> None:
    response = client.get("/collections/projects/queryables")
    assert response.headers["content-type"] == "application/schema+json"
    schema = response.json()
    assert schema["type"] == "object" and "$schema" in schema
    props = schema["properties"]
    assert props["start_year"]["type"] == "integer" and props["category"]["enum"][0] == "expressway"
    assert props["updated_at"]["format"] == "date-time" and "geometry" in props


# -- items ---------------------------------------------------------------------------------------------------
def test_items_page_is_geojson_with_counts(client: TestClient) -> None:
    response = client.get("/collections/admin_units/items")
    assert response.headers["content-type"] == GEOJSON
    assert response.headers["content-crs"] == f"<{CRS84}>"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert body["numberReturned"] == 10 and body["numberMatched"] == 16
    feature = body["features"][0]
    assert feature["geometry"]["type"] == "MultiPolygon" and "name_vi" in feature["properties"]
    rels = [link["rel"] for link in body["links"]]
    assert "self" in rels and "next" in rels and "prev" not in rels


@pytest.mark.parametrize("sortby", [None, "-name_vi", "level,-code", "start_year", "-start_year,name_en"])
def test_paging_to_the_end_equals_the_full_set(client: TestClient, sortby: str | None) -> None:
    layer = "projects" if sortby and "start_year" in sortby else "admin_units"
    query = f"/collections/{layer}/items?limit=3" + (f"&sortby={sortby}" if sortby else "")
    pages = follow(client, query)
    whole = client.get(f"/collections/{layer}/items?limit=1000" + (f"&sortby={sortby}" if sortby else "")).json()
    assert ids(pages) == [f["id"] for f in whole["features"]]
    assert len(set(ids(pages))) == whole["numberMatched"] == len(whole["features"])
    # and back again with prev links from the last page
    back = follow(client, next(link["href"] for link in pages[-1]["links"] if link["rel"] == "self"), "prev")
    assert [f["id"] for page in reversed(back) for f in page["features"]] == ids(pages)


def test_sortby_orders_with_nulls_last(client: TestClient) -> None:
    features = client.get("/collections/projects/items?limit=100&sortby=-start_year").json()["features"]
    years = [f["properties"]["start_year"] for f in features]
    known = [y for y in years if y is not None]
    assert known == sorted(known, reverse=True) and years[: len(known)] == known
    assert_problem(client.get("/collections/projects/items?sortby=nope"), 400, "sortby")


def test_limit_rules(client: TestClient, settings: Any) -> None:
    assert_problem(client.get("/collections/zones/items?limit=0"), 400, "limit")
    assert_problem(client.get("/collections/zones/items?limit=ten"), 400, "limit")
    big = client.get(f"/collections/admin_units/items?limit={settings.items_max_limit * 10}").json()
    assert big["numberReturned"] == 16


def test_bbox_filters_and_validates(client: TestClient) -> None:
    tan_an = client.get("/collections/admin_units/items?bbox=106.40,10.53,106.42,10.54&properties=code").json()
    assert sorted(f["properties"]["code"] for f in tan_an["features"]) == ["794", "80"]
    six = client.get("/collections/admin_units/items?bbox=106.40,10.53,0,106.42,10.54,10&properties=code").json()
    assert six["numberReturned"] == 2
    assert_problem(client.get("/collections/zones/items?bbox=1,2,3"), 400, "bbox")
    assert_problem(client.get("/collections/zones/items?bbox=a,b,c,d"), 400, "bbox")
    assert_problem(client.get("/collections/zones/items?bbox=106,11,107,10"), 400, "bbox")
    assert_problem(client.get("/collections/zones/items?bbox=100,10,200,11"), 400, "bbox")
    # features without geometry match any bbox (OGC API – Features, /req/core/fc-bbox-response C)
    plans = client.get("/collections/plans/items?bbox=100,10,107,11").json()
    assert plans["numberReturned"] == client.get("/collections/plans/items").json()["numberReturned"] >= 1
    assert_problem(client.get("/collections/plans/items?bbox=1,2,3"), 400, "bbox")


def test_bbox_crs_vn2000_equals_crs84(client: TestClient) -> None:
    to_vn = transformer("EPSG:4326", "EPSG:9210")
    x0, y0 = to_vn.transform(106.40, 10.53)
    x1, y1 = to_vn.transform(106.42, 10.54)
    vn = client.get(f"/collections/admin_units/items?bbox={x0},{y0},{x1},{y1}"
                    f"&bbox-crs={EPSG_URI.format(9210)}&properties=code").json()
    assert sorted(f["properties"]["code"] for f in vn["features"]) == ["794", "80"]
    assert_problem(client.get("/collections/zones/items?bbox=1,2,3,4&bbox-crs=EPSG:2000"), 400, "bbox-crs")
    # a VN-2000 box far outside Vietnam's TM-3 zone
    assert_problem(client.get(f"/collections/zones/items?bbox=0,0,10,10&bbox-crs={EPSG_URI.format(9210)}"),
                   400, "bbox")


def test_properties_and_equality_filters(client: TestClient) -> None:
    body = client.get("/collections/zones/items?kind=region&properties=code,kind").json()
    assert sorted(f["properties"]["code"] for f in body["features"]) == ["R1", "R2", "R3"]
    assert all(set(f["properties"]) == {"code", "kind"} for f in body["features"])
    assert client.get("/collections/axes/items?rank=3").json()["features"][0]["properties"]["code"] == "TDL3"
    assert_problem(client.get("/collections/axes/items?rank=three"), 400, "rank")
    assert_problem(client.get("/collections/axes/items?updated_at=soon"), 400, "updated_at")
    assert client.get("/collections/axes/items?updated_at=2001-01-01T00:00:00Z").json()["features"] == []
    assert len(client.get("/collections/plans/items?decision_date=2023-06-13").json()["features"]) == 1
    assert_problem(client.get("/collections/zones/items?colour=red"), 400, "colour")
    assert_problem(client.get("/collections/zones/items?properties=code,nope"), 400, "properties")


def test_item_and_formats(client: TestClient) -> None:
    first = client.get("/collections/zones/items?limit=1").json()["features"][0]
    one = client.get(f"/collections/zones/items/{first['id']}")
    assert one.headers["content-type"] == GEOJSON
    assert one.json()["properties"]["code"] == first["properties"]["code"]
    page = client.get("/collections/zones/items?f=html")
    assert page.headers["content-type"].startswith("text/html") and "Vùng đô thị và công nghiệp" in page.text
    item_html = client.get(f"/collections/zones/items/{first['id']}?f=html")
    assert item_html.status_code == 200 and first["properties"]["code"] in item_html.text
    csv_text = client.get("/collections/zones/items?f=csv&limit=100").text
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("id,code,name_vi") and lines[0].endswith(",wkt") and len(lines) == 7
    assert "MULTIPOLYGON" in csv_text and "Vùng đô thị và công nghiệp" in csv_text
    assert_problem(client.get("/collections/zones/items?f=xml"), 400, "f")
    assert_problem(client.get("/collections/zones/items?cursor=garbage"), 400, "cursor")


# -- CRS (Part 2) --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("code", [3405, 9210, 3857])
def test_output_crs_matches_pyproj(client: TestClient, code: int) -> None:
    crs84 = client.get("/collections/axes/items?rank=1").json()["features"][0]
    response = client.get(f"/collections/axes/items?rank=1&crs={EPSG_URI.format(code)}")
    assert response.headers["content-crs"] == f"<{EPSG_URI.format(code)}>"
    projected = response.json()["features"][0]
    to_projected = transformer("EPSG:4326", f"EPSG:{code}")
    for (lon, lat), (x, y) in zip(crs84["geometry"]["coordinates"][0], projected["geometry"]["coordinates"][0],
                                  strict=True):
        ex, ey = to_projected.transform(lon, lat)
        assert abs(ex - x) < 0.5 and abs(ey - y) < 0.5


def test_epsg4326_is_latitude_first(client: TestClient) -> None:
    crs84 = client.get("/collections/axes/items?rank=2").json()["features"][0]["geometry"]["coordinates"][0][0]
    latlon = client.get(f"/collections/axes/items?rank=2&crs={EPSG_URI.format(4326)}"
                        ).json()["features"][0]["geometry"]["coordinates"][0][0]
    assert latlon == [crs84[1], crs84[0]]
    # and bbox-crs EPSG:4326 takes lat,lon
    body = client.get(f"/collections/admin_units/items?bbox=10.53,106.40,10.54,106.42"
                      f"&bbox-crs={EPSG_URI.format(4326)}&properties=code").json()
    assert sorted(f["properties"]["code"] for f in body["features"]) == ["794", "80"]


def test_unsupported_crs_is_400(client: TestClient) -> None:
    assert_problem(client.get("/collections/zones/items?crs=EPSG:1234"), 400, "crs")
    assert_problem(client.get("/collections/zones/items/1?crs=nonsense"), 400, "crs")


# -- CQL2 (Part 3) -------------------------------------------------------------------------------------------
CQL_PAIRS = [
    ("projects", "category = 'ring_road'", {"op": "=", "args": [{"property": "category"}, "ring_road"]}),
    ("projects", "category IN ('port','railway','expressway')",
     {"op": "in", "args": [{"property": "category"}, ["port", "railway", "expressway"]]}),
    ("projects", "start_year BETWEEN 2023 AND 2024",
     {"op": "between", "args": [{"property": "start_year"}, 2023, 2024]}),
    ("zones", "name_vi LIKE 'Vùng%' AND NOT kind = 'centre'",
     {"op": "and", "args": [{"op": "like", "args": [{"property": "name_vi"}, "Vùng%"]},
                            {"op": "not", "args": [{"op": "=", "args": [{"property": "kind"}, "centre"]}]}]}),
    ("admin_units", "S_INTERSECTS(geometry, POINT(106.41 10.535))",
     {"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Point", "coordinates": [106.41, 10.535]}]}),
    ("admin_units", "S_WITHIN(geometry, BBOX(106.2, 10.4, 106.9, 10.8))",
     {"op": "s_within", "args": [{"property": "geometry"}, {"bbox": [106.2, 10.4, 106.9, 10.8]}]}),
    ("plans", "T_AFTER(decision_date, DATE('2020-01-01'))",
     {"op": "t_after", "args": [{"property": "decision_date"}, {"date": "2020-01-01"}]}),
    ("projects", "T_BEFORE(updated_at, TIMESTAMP('2000-01-01T00:00:00Z')) OR start_year > 2022",
     {"op": "or", "args": [{"op": "t_before", "args": [{"property": "updated_at"},
                                                       {"timestamp": "2000-01-01T00:00:00Z"}]},
                           {"op": ">", "args": [{"property": "start_year"}, 2022]}]}),
    ("projects", "CASEI(status) = CASEI('PLANNED') AND end_year IS NULL",
     {"op": "and", "args": [{"op": "=", "args": [{"op": "casei", "args": [{"property": "status"}]},
                                                 {"op": "casei", "args": ["PLANNED"]}]},
                            {"op": "isNull", "args": [{"property": "end_year"}]}]}),
]


def _filtered_ids(client: TestClient, layer: str, **params: str) -> list[int]:
    response = client.get(f"/collections/{layer}/items", params={"limit": "1000", **params})
    assert response.status_code == 200, response.text
    return [f["id"] for f in response.json()["features"]]


@pytest.mark.parametrize(("layer", "text", "tree"), CQL_PAIRS)
def test_cql2_text_and_json_agree(client: TestClient, layer: str, text: str, tree: dict[str, Any]) -> None:
    by_text = _filtered_ids(client, layer, filter=text)
    by_json = _filtered_ids(client, layer, filter=json.dumps(tree), **{"filter-lang": "cql2-json"})
    assert by_text == by_json
    assert 0 < len(by_text) < len(_filtered_ids(client, layer)) or layer == "plans"


def test_cql2_answers_are_right(client: TestClient) -> None:
    at_tan_an = _filtered_ids(client, "admin_units", filter="S_INTERSECTS(geometry, POINT(106.41 10.535))",
                              properties="code")
    assert len(at_tan_an) == 2
    codes = {f["properties"]["code"] for f in client.get(
        "/collections/projects/items", params={"filter": "category = 'ring_road'", "limit": "100"}).json()["features"]}
    assert codes == {"DA-VD3", "DA-VD4"}
    assert _filtered_ids(client, "plans", filter="T_AFTER(decision_date, DATE('2024-01-01'))") == []
    # filter-crs: the same point in VN-2000
    x, y = transformer("EPSG:4326", "EPSG:9210").transform(106.41, 10.535)
    vn = _filtered_ids(client, "admin_units", filter=f"S_INTERSECTS(geometry, POINT({x} {y}))",
                       **{"filter-crs": EPSG_URI.format(9210)})
    assert vn == at_tan_an


@pytest.mark.parametrize(("params", "needle"), [
    ({"filter": "kind = = 'x'"}, "syntax"),
    ({"filter": "colour = 'red'"}, "colour"),
    ({"filter": "kind = 3"}, "kind"),
    ({"filter": "{not json", "filter-lang": "cql2-json"}, "syntax"),
    ({"filter": "S_INTERSECTS(kind, POINT(1 2))"}, "kind"),
    ({"filter": "S_INTERSECTS(geometry, POINT(500 2))"}, "range"),
])
def test_cql2_errors_are_400_naming_the_problem(client: TestClient, params: dict[str, str], needle: str) -> None:
    body = assert_problem(client.get("/collections/zones/items", params=params), 400, "filter")
    assert needle in body["detail"]


def test_filter_lang_must_be_known(client: TestClient) -> None:
    assert_problem(client.get("/collections/zones/items", params={"filter": "x=1", "filter-lang": "sql"}), 400,
                   "filter-lang")


def test_filter_with_paging(client: TestClient) -> None:
    pages = follow(client, "/collections/admin_units/items?limit=4&filter=level%3D'district'&sortby=-code")
    assert len(ids(pages)) == 15 and pages[0]["numberMatched"] == 15


# -- datetime (Core) -----------------------------------------------------------------------------------------
def test_datetime_on_plans_and_projects(client: TestClient) -> None:
    def count(layer: str, value: str) -> int:
        response = client.get(f"/collections/{layer}/items", params={"datetime": value, "limit": "1000"})
        assert response.status_code == 200, response.text
        return response.json()["numberReturned"]

    assert count("plans", "2023-06-13") == 1
    assert count("plans", "2023-06-13T12:00:00Z") == 1
    assert count("plans", "2024-01-01/..") == 0
    assert count("plans", "../2023-12-31") == 1
    projects = client.get("/collections/projects/items?limit=1000").json()["features"]

    def active(year: int) -> int:
        """Projects whose years include `year`, open where unknown — and those without any year: a feature
        without a time matches every datetime (OGC API – Features, /req/core/fc-time-response C)."""
        n = 0
        for f in projects:
            start, end = f["properties"]["start_year"], f["properties"]["end_year"]
            if (start is None or start <= year) and (end is None or end >= year):
                n += 1
        return n

    for year in (2022, 2024, 2027):
        assert count("projects", f"{year}-01-01/{year}-12-31") == active(year)
    undated = sum(f["properties"]["start_year"] is None and f["properties"]["end_year"] is None for f in projects)
    assert active(2024) > undated > 0 and count("projects", "1900-01-01") == active(1900) >= undated
    # zones advertise no time: they have no temporal geometry, so every datetime matches all of them
    assert count("zones", "../2000-01-01") == 6 and count("zones", "2000-01-01/..") == 6


@pytest.mark.parametrize("value", ["soon", "2024-13-01", "2024/2023", "../..", ""])
def test_bad_datetime_is_400(client: TestClient, value: str) -> None:
    assert_problem(client.get("/collections/plans/items", params={"datetime": value}), 400, "datetime")
