"""OGC API – Features – Part 1: Core, conformance classes GeoJSON, HTML and OpenAPI 3.0 (OGC 17-069r4, Annex A.3–
A.6), one test per abstract test. The OpenAPI completeness tests compare what the API definition documents with
what the server answers, resource by resource: every status code and media type a request can get is listed."""

from __future__ import annotations

import html
import re
from typing import Any

from fastapi.testclient import TestClient

from spatial.identity.model import Role
from tests.conformance.ats import (
    GEOJSON,
    HTML,
    JSON,
    all_features,
    anchors,
    api,
    collections,
    concrete,
    get,
    items_href,
    link,
    media_type,
    ok_json,
    without_f,
)
from tests.identity_fixtures import bearer, token_for

GEOMETRY_TYPES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
                  "GeometryCollection"}
# query parameters a GET needs to answer (every other GET path answers as it is, once its path is filled in)
QUERIES: dict[str, dict[str, Any]] = {"/locate": {"lon": 106.41, "lat": 10.53}, "/search": {"q": "tan"}}
DEPTH = {"Point": 1, "MultiPoint": 2, "LineString": 2, "MultiLineString": 3, "Polygon": 3, "MultiPolygon": 4}


def _valid_geometry(geometry: dict[str, Any] | None) -> bool:
    """A GeoJSON geometry object (RFC 7946 §3.1): its type and coordinates nested as the type says."""
    if geometry is None:
        return True
    kind = geometry.get("type")
    if kind == "GeometryCollection":
        return all(_valid_geometry(g) for g in geometry["geometries"])
    if kind not in DEPTH:
        return False
    node: Any = geometry["coordinates"]
    for _ in range(DEPTH[kind] - 1):
        if not isinstance(node, list) or not node:
            return False
        node = node[0]
    return isinstance(node, list) and len(node) in (2, 3) and all(isinstance(v, int | float) for v in node)


def _valid_feature(feature: dict[str, Any]) -> bool:
    return (feature.get("type") == "Feature" and "geometry" in feature and _valid_geometry(feature["geometry"])
            and isinstance(feature.get("properties"), dict | type(None))
            and isinstance(feature.get("id"), str | int))


# -- GeoJSON -----------------------------------------------------------------------------------------------------
def test_ats_geojson_definition(client: TestClient) -> None:
    """/conf/geojson/definition: features and a feature are served as application/geo+json, on request by Accept
    or f, and linked with that type."""
    for collection in collections(client):
        href = items_href(collection)
        for response in (get(client, href, headers={"Accept": GEOJSON}), get(client, f"{href}?f=json")):
            assert response.status_code == 200 and media_type(response) == GEOJSON
        features = response.json()["features"]
        if features:
            one = get(client, f"{href}/{features[0]['id']}", headers={"Accept": GEOJSON})
            assert one.status_code == 200 and media_type(one) == GEOJSON


def test_ats_geojson_content(client: TestClient) -> None:
    """/conf/geojson/content: a FeatureCollection and its Features valid GeoJSON (RFC 7946), every page."""
    for collection in collections(client):
        features = all_features(client, items_href(collection), limit=50)
        assert all(_valid_feature(f) for f in features), collection["id"]
        if collection.get("geometryType"):
            assert all(f["geometry"] is None or f["geometry"]["type"] in GEOMETRY_TYPES for f in features)
        for feature in features[:3]:
            assert _valid_feature(ok_json(client, f"{items_href(collection)}/{feature['id']}", GEOJSON))


# -- HTML --------------------------------------------------------------------------------------------------------
def _zone(client: TestClient) -> str:
    return str(ok_json(client, "/collections/zones/items", GEOJSON, limit=1)["features"][0]["id"])


def _html_pages(client: TestClient) -> list[tuple[str, dict[str, Any] | None]]:
    """Each resource of the API with an HTML rendering, and its JSON twin (when it has links)."""
    zone = _zone(client)
    return [
        ("/", ok_json(client, "/")), ("/conformance", None), ("/collections", ok_json(client, "/collections")),
        ("/collections/zones", ok_json(client, "/collections/zones")),
        ("/collections/plans", ok_json(client, "/collections/plans")),
        ("/collections/zones/queryables", None),
        ("/collections/zones/items?limit=3", ok_json(client, "/collections/zones/items?limit=3", GEOJSON)),
        ("/collections/plans/items", ok_json(client, "/collections/plans/items", GEOJSON)),
        (f"/collections/zones/items/{zone}", ok_json(client, f"/collections/zones/items/{zone}", GEOJSON)),
        ("/api", None),
    ]


def test_ats_html_definition(client: TestClient) -> None:
    """/conf/html/definition: every resource is served as text/html on request (Accept or f=html), and linked
    as an alternate."""
    for path, twin in _html_pages(client):
        for response in (client.get(path, headers={"Accept": HTML}),
                         client.get(path, params={"f": "html"} if "?" not in path else None,
                                    headers={"Accept": HTML})):
            assert response.status_code == 200 and media_type(response) == HTML, path
        if twin is not None and path != "/api":
            assert link(twin, "alternate", HTML)


def test_ats_html_content(client: TestClient) -> None:
    """/conf/html/content: each page is an HTML5 document holding what its JSON twin holds — every link of it —
    and the feature pages show the geometries on a map."""
    for path, twin in _html_pages(client):
        page = client.get(path, headers={"Accept": HTML}).text
        assert page.lstrip().lower().startswith("<!doctype html>") and "<html" in page and "</html>" in page, path
        targets = anchors(page)
        for target in (twin or {}).get("links", []):
            assert without_f(target["href"]) in targets, (path, target)
        if path.startswith("/conformance"):
            for uri in ok_json(client, "/conformance")["conformsTo"]:
                assert uri in page
    for path in ("/collections/zones/items?limit=3", concrete("/collections/zones/items/{id}", id=_zone(client))):
        page = client.get(path, headers={"Accept": HTML}).text
        source = re.search(r'data-src="([^"]+)"', page)
        assert source is not None, path  # a map, fed with this resource's GeoJSON
        drawn = get(client, html.unescape(source.group(1)))
        assert drawn.status_code == 200 and media_type(drawn) == GEOJSON


# -- OpenAPI 3.0 -------------------------------------------------------------------------------------------------
def test_ats_oas30_oas_definition_1(client: TestClient) -> None:
    """/conf/oas30/oas-definition-1: the landing page's service-desc is an OpenAPI 3.0 document served as
    application/vnd.oai.openapi+json;version=3.0."""
    target = link(ok_json(client, "/"), "service-desc")
    assert target["type"] == "application/vnd.oai.openapi+json;version=3.0"
    response = get(client, target["href"])
    assert response.headers["content-type"].replace(" ", "") == target["type"]
    assert response.json()["openapi"].startswith("3.0.")


def test_ats_oas30_oas_definition_2(client: TestClient) -> None:
    """/conf/oas30/oas-definition-2: the landing page's service-doc is the HTML documentation of the API."""
    target = link(ok_json(client, "/"), "service-doc")
    response = get(client, target["href"])
    assert target["type"] == HTML and response.status_code == 200 and media_type(response) == HTML
    assert "swagger-ui" in response.text


def _requests(client: TestClient) -> list[tuple[str, str, dict[str, Any], dict[str, str]]]:
    """(path template, URL, query, headers) of requests meant to reach each answer the items and other resources
    give: success in each format, bad and unknown parameters, unknown ids."""
    zone = _zone(client)
    items, item = "/collections/{collectionId}/items", "/collections/{collectionId}/items/{featureId}"
    tile = "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}"
    here = concrete(tile)
    cases: list[tuple[str, str, dict[str, Any], dict[str, str]]] = []
    for path, url in (("/", "/"), ("/conformance", "/conformance"), ("/collections", "/collections"),
                      ("/collections/{collectionId}", "/collections/zones"),
                      ("/collections/{collectionId}/queryables", "/collections/zones/queryables"),
                      ("/api", "/api")):
        cases += [(path, url, {}, {}), (path, url, {"f": "html"}, {}), (path, url, {"f": "xml"}, {})]
    cases += [("/collections/{collectionId}", "/collections/nowhere", {}, {}),
              ("/collections/{collectionId}/schema", "/collections/zones/schema", {}, {})]
    for f in ("json", "geojson", "html", "csv", "pdf"):
        cases.append((items, "/collections/zones/items", {"f": f, "limit": 2}, {}))
    cases += [(items, "/collections/zones/items", {"bbox": "1,2"}, {}),
              (items, "/collections/nowhere/items", {}, {}),
              (items, "/collections/zones/items",
               {"filter": "S_INTERSECTS(geometry, POLYGON((106 10, 107 11, 107 10, 106 11, 106 10)))"}, {}),
              (item, f"/collections/zones/items/{zone}", {}, {}),
              (item, f"/collections/zones/items/{zone}", {"f": "html"}, {}),
              (item, "/collections/zones/items/0", {}, {}),
              (tile, here, {}, {}), (tile, here, {"v": "old"}, {}),
              (tile, "/collections/zones/tiles/WebMercatorQuad/2/0/4", {}, {}),
              (tile, "/collections/zones/tiles/WebMercatorQuad/x/0/0", {}, {})]
    cases.append((tile, here, {}, {"If-None-Match": client.get(here).headers["etag"]}))
    return cases


def _documented(spec: dict[str, Any], path: str, status: int) -> dict[str, Any]:
    responses = spec["paths"][path]["get"]["responses"]
    assert str(status) in responses, (path, status, sorted(responses))
    return responses[str(status)]


def test_ats_oas30_completeness(client: TestClient) -> None:
    """/conf/oas30/completeness: every status code and media type a resource answers with is described by its
    operation in the API definition."""
    spec = api(client)
    for path, url, params, headers in _requests(client):
        response = client.get(url, params=params, headers=headers)
        documented = _documented(spec, path, response.status_code)
        if response.content:
            types = {m.split(";")[0] for m in documented.get("content", {})}
            assert media_type(response) in types, (url, params, response.status_code, media_type(response), types)


def test_ats_oas30_exceptions_codes(client: TestClient) -> None:
    """/conf/oas30/exceptions-codes: the error answers of each operation are documented, as problem details; an
    unknown parameter (400) and — where the path names something — an unknown one (404) on every operation."""
    spec = api(client)
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "400" in responses and "500" in responses, (path, method)
            if any(p.get("in") == "path" for p in operation.get("parameters", [])):
                assert "404" in responses, (path, method)
            for code, response in responses.items():
                if code.startswith(("4", "5")):
                    assert list(response["content"]) == ["application/problem+json"], (path, method, code)
    for _path, url, params, headers in _requests(client):
        response = client.get(url, params=params, headers=headers)
        if response.status_code >= 400:
            assert media_type(response) == "application/problem+json"


def test_ats_oas30_oas_impl(client: TestClient, db_url: str) -> None:
    """/conf/oas30/oas-impl: the server implements what the definition describes — every GET path (with its
    collections and tile matrix sets filled in) answers with a documented success."""
    spec = api(client)
    zone = _zone(client)
    approver = bearer(token_for(db_url, Role.approver))
    for path, operations in spec["paths"].items():
        if "get" not in operations or path == "/pmtiles/{name}":
            continue
        url = concrete(path, featureId=zone)
        # an access-controlled GET (issue 12's proposals and jobs) is asked with a token of the strongest role
        signed = {} not in operations["get"].get("security", spec.get("security", [{}]))
        response = client.get(url, params=QUERIES.get(path), headers=approver if signed else {})
        absent = signed and "{" in path and response.status_code == 404  # no proposal/job 1 in this database
        assert 200 <= response.status_code < 300 or absent, (path, response.status_code, response.text[:200])
        _documented(spec, path, response.status_code)


def test_ats_oas30_security(client: TestClient) -> None:
    """/conf/oas30/security: where operations are access-controlled the definition documents the security scheme —
    every requirement names a scheme of `components.securitySchemes` — and what it documents holds: a GET whose
    requirement is optional (`{}`) or absent answers without credentials, one that needs a token answers 401."""
    spec = api(client)
    schemes = spec.get("components", {}).get("securitySchemes", {})
    assert all(scheme["type"] in ("http", "apiKey", "oauth2", "openIdConnect") for scheme in schemes.values())
    zone = _zone(client)
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            requirements = operation.get("security", spec.get("security", [{}]))
            assert requirements and all(set(r) <= set(schemes) for r in requirements), (path, method)
            if method != "get" or path == "/pmtiles/{name}":
                continue
            response = client.get(concrete(path, featureId=zone), params=QUERIES.get(path))
            assert (response.status_code == 401) == ({} not in requirements), (path, response.status_code)
    assert client.get("/collections", headers={"Accept": JSON}).status_code == 200  # no credentials needed
