"""Shared steps of the conformance suite: how the OGC Abstract Test Suites (and the CITE test engines built on
them, ets-ogcapi-features10 and ets-ogcapi-tiles10) read an API — its links, its OpenAPI parameters, pages of
features, the classes it declares.

Each test module of `tests/conformance` covers the abstract tests of one or more conformance classes, one test per
abstract test, named `test_ats_<class>_<test>` after its ATS identifier (`/conf/core/fc-limit-definition` →
`test_ats_core_fc_limit_definition`). `DECLARED` says which module covers each class LAPIS declares at
`/conformance`; `test_conformance_declaration` checks that it declares exactly those.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi.testclient import TestClient
from httpx import Response

from spatial.tiles.grid import lonlat_to_tile

SPEC = "http://www.opengis.net/spec"
FEATURES_1 = f"{SPEC}/ogcapi-features-1/1.0/conf"
FEATURES_2 = f"{SPEC}/ogcapi-features-2/1.0/conf"
FEATURES_3 = f"{SPEC}/ogcapi-features-3/1.0/conf"
FEATURES_4 = f"{SPEC}/ogcapi-features-4/1.0/conf"
CQL2 = f"{SPEC}/cql2/1.0/conf"
TILES = f"{SPEC}/ogcapi-tiles-1/1.0/conf"
TMS = f"{SPEC}/tms/2.0/conf"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
PROBLEM = "application/problem+json"
SCHEMA_JSON = "application/schema+json"
MVT = "application/vnd.mapbox-vector-tile"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
TAN_AN = lonlat_to_tile(106.413, 10.535, 12)  # a z12 tile of the provincial capital: zones, axes, projects
PATH_VALUES = {"collectionId": "zones", "tileMatrixSetId": "WebMercatorQuad", "tileMatrix": str(TAN_AN.z),
               "tileRow": str(TAN_AN.y), "tileCol": str(TAN_AN.x), "name": "absent.pmtiles",
               "proposalId": "1", "jobId": "1", "revisionId": "1",
               "a": "1", "b": "1"}

# class → the test module that runs its abstract tests (a class is declared only when it is tested here)
DECLARED: dict[str, str] = {
    **{f"{FEATURES_1}/{c}": "test_features_core.py" for c in ("core",)},
    **{f"{FEATURES_1}/{c}": "test_features_encodings.py" for c in ("geojson", "html", "oas30")},
    f"{FEATURES_2}/crs": "test_features_crs.py",
    **{f"{FEATURES_4}/{c}": "test_features_part4.py" for c in ("create-replace-delete", "update", "features")},
    **{f"{FEATURES_3}/{c}": "test_features_filtering.py"
       for c in ("queryables", "queryables-query-parameters", "filter", "features-filter")},
    **{f"{CQL2}/{c}": "test_cql2.py"
       for c in ("cql2-text", "cql2-json", "basic-cql2", "advanced-comparison-operators",
                 "case-insensitive-comparison", "accent-insensitive-comparison", "basic-spatial-functions",
                 "basic-spatial-functions-plus", "spatial-functions", "temporal-functions", "arithmetic")},
    **{f"{TILES}/{c}": "test_tiles.py"
       for c in ("core", "tileset", "tilesets-list", "dataset-tilesets", "geodata-tilesets",
                 "collections-selection", "mvt", "oas30")},
    **{f"{TMS}/{c}": "test_tiles.py" for c in ("tilematrixset", "json-tilematrixset")},
}


def get(client: TestClient, href: str, **kwargs: Any) -> Response:
    """GET a link's href (absolute on the test server, or a path)."""
    parts = urlsplit(href)
    target = parts.path + (f"?{parts.query}" if parts.query else "") if parts.scheme else href
    return client.get(target, **kwargs)


def ok_json(client: TestClient, href: str, media: str = JSON, **params: Any) -> Any:
    """A 200 answer of the given media type to a GET; its JSON body."""
    response = get(client, href, params=params or None)
    assert response.status_code == 200, (href, params, response.text[:500])
    assert media_type(response) == media, (href, response.headers.get("content-type"))
    return response.json()


def media_type(response: Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip()


def rels(body: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for link in body.get("links", []):
        out.setdefault(link["rel"], []).append(link)
    return out


def link(body: dict[str, Any], rel: str, media: str | None = None) -> dict[str, Any]:
    found = [x for x in rels(body).get(rel, []) if media is None or x.get("type") == media]
    assert found, f"no link rel={rel} type={media} in {body.get('links')}"
    return found[0]


def collections(client: TestClient) -> list[dict[str, Any]]:
    return ok_json(client, "/collections")["collections"]


def spatial_collections(client: TestClient) -> list[dict[str, Any]]:
    return [c for c in collections(client) if c.get("extent", {}).get("spatial")]


def items_href(collection: dict[str, Any]) -> str:
    return link(collection, "items", GEOJSON)["href"]


def pages(client: TestClient, href: str, **params: Any) -> Iterator[dict[str, Any]]:
    """Every page of a features request, following `next` links."""
    body = ok_json(client, href, GEOJSON, **params)
    while True:
        yield body
        following = [x for x in body["links"] if x["rel"] == "next"]
        if not following:
            return
        body = ok_json(client, following[0]["href"], GEOJSON)


def all_features(client: TestClient, href: str, **params: Any) -> list[dict[str, Any]]:
    return [f for page in pages(client, href, **{"limit": 1000, **params}) for f in page["features"]]


def ids(features: list[dict[str, Any]]) -> set[Any]:
    return {f["id"] for f in features}


def api(client: TestClient) -> dict[str, Any]:
    service_desc = link(ok_json(client, "/"), "service-desc")
    return ok_json(client, service_desc["href"], service_desc["type"].split(";")[0])


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """A `$ref` to `#/components/...` replaced by what it names."""
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def parameters(spec: dict[str, Any], path: str, method: str = "get") -> dict[str, dict[str, Any]]:
    """name → the (resolved) parameter objects of an operation."""
    operation = spec["paths"][path][method]
    return {p["name"]: p for p in (resolve(spec, x) for x in operation.get("parameters", []))}


def items_paths(spec: dict[str, Any]) -> list[str]:
    """The items paths of the API definition, as the test engine finds its test points: the templated one and
    one per collection."""
    return [p for p in spec["paths"] if p.startswith("/collections/") and p.endswith("/items")]


def filtered(client: TestClient, collection_id: str, expression: str, lang: str = "cql2-text",
             **params: Any) -> Response:
    return client.get(f"/collections/{collection_id}/items",
                      params={"filter": expression, "filter-lang": lang, "limit": 1000, **params})


def matching_ids(client: TestClient, collection_id: str, expression: str, lang: str = "cql2-text",
                 **params: Any) -> set[Any]:
    """The ids of every feature a filter matches (it must be evaluated successfully)."""
    response = filtered(client, collection_id, expression, lang, **params)
    assert response.status_code == 200, (collection_id, expression, response.text[:500])
    assert media_type(response) == GEOJSON
    found = ids(response.json()["features"])
    following = [x for x in response.json()["links"] if x["rel"] == "next"]
    if following:  # more than a page: take them all
        found |= ids([f for page in pages(client, following[0]["href"]) for f in page["features"]])
    return found


def queryables(client: TestClient, collection_id: str) -> dict[str, dict[str, Any]]:
    return ok_json(client, f"/collections/{collection_id}/queryables", SCHEMA_JSON)["properties"]


def of_type(client: TestClient, collection_id: str, *kinds: str) -> list[str]:
    """The collection's queryables of CQL2 data types `kinds` (String, Number, Integer, Boolean, Timestamp, Date,
    Geometry), read off their JSON Schema."""
    found = []
    for name, schema in queryables(client, collection_id).items():
        kind = cql2_type(schema)
        if kind in kinds:
            found.append(name)
    return found


def cql2_type(schema: dict[str, Any]) -> str:
    fmt = schema.get("format", "")
    if fmt.startswith("geometry-"):
        return "Geometry"
    if fmt == "date-time":
        return "Timestamp"
    if fmt == "date":
        return "Date"
    return {"string": "String", "number": "Number", "integer": "Integer", "boolean": "Boolean"}[schema["type"]]


def concrete(template: str, **values: str) -> str:
    """A path template of the API definition with a collection, tile, feature … filled in."""
    known = {**PATH_VALUES, **values}
    return re.sub(r"\{(\w+)\}", lambda m: known[m.group(1)], template)


def without_f(href: str) -> str:
    """A URL without its `f` parameter: the same resource, whatever its format."""
    parts = urlsplit(html.unescape(href))
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "f"])
    return parts.path + (f"?{query}" if query else "")


def anchors(page: str) -> set[str]:
    """The targets of an HTML page's links, without their `f`."""
    return {without_f(href) for href in re.findall(r'href="([^"]+)"', page)}
