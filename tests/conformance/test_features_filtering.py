"""OGC API – Features – Part 3: Filtering (OGC 19-079r2, Annex A), conformance classes Queryables, Queryables as
Query Parameters, Filter and Features Filter, one test per abstract test. The Filter tests run with the inputs the
ATS gives by default — `{queryable} IS NULL` as the valid filter, `THIS IS NOT A FILTER` as the invalid one, an
envelope of the collection's extent as the spatial one — in CQL2 text and CQL2 JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conformance.ats import (
    CQL2,
    CRS84,
    FEATURES_3,
    GEOJSON,
    QUERYABLES_REL,
    SCHEMA_JSON,
    all_features,
    api,
    collections,
    filtered,
    ids,
    items_href,
    link,
    matching_ids,
    media_type,
    ok_json,
    parameters,
    queryables,
    spatial_collections,
)
from tests.helpers import transformer

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
LANGS = ("cql2-text", "cql2-json")


def _text_or_json(text: str, tree: dict[str, Any], lang: str) -> str:
    return text if lang == "cql2-text" else json.dumps(tree)


def _is_null(name: str, lang: str, negate: bool = False) -> str:
    tree: dict[str, Any] = {"op": "isNull", "args": [{"property": name}]}
    if negate:
        tree = {"op": "not", "args": [tree]}
    return _text_or_json(f"{name} IS {'NOT ' if negate else ''}NULL", tree, lang)


def _envelope(name: str, box: tuple[float, ...], lang: str) -> str:
    text = f"S_INTERSECTS({name},BBOX({','.join(map(str, box))}))"
    return _text_or_json(text, {"op": "s_intersects", "args": [{"property": name}, {"bbox": list(box)}]}, lang)


def _spatial_queryable(client: TestClient, collection_id: str) -> str:
    return next(name for name, schema in queryables(client, collection_id).items()
                if schema.get("format", "").startswith("geometry-"))


# -- Queryables --------------------------------------------------------------------------------------------------
def test_ats_queryables_get_queryables(client: TestClient) -> None:
    """/conf/queryables/get-queryables: every collection's queryables answer 200 as application/schema+json: a
    JSON Schema (2019-09 or 2020-12) whose $id is the resource's URI and whose properties are the queryables,
    each with its type (or a geometry format)."""
    for collection in collections(client):
        href = link(collection, QUERYABLES_REL)["href"]
        schema = ok_json(client, href, SCHEMA_JSON)
        assert schema["$schema"] in ("https://json-schema.org/draft/2019-09/schema",
                                     "https://json-schema.org/draft/2020-12/schema")
        assert schema["$id"] == href and schema["type"] == "object" and schema["properties"]
        for name, entry in schema["properties"].items():
            assert "type" in entry or entry.get("format", "").startswith("geometry-"), (collection["id"], name)


def test_ats_queryables_queryables_link(client: TestClient) -> None:
    """/conf/queryables/queryables-link: each collection, and each filterable resource (its items, in a Link
    header and among its links), references its queryables with rel ogc-rel:queryables."""
    for collection in collections(client):
        expected = f"http://testserver/collections/{collection['id']}/queryables"
        assert link(collection, QUERYABLES_REL)["href"] == expected
        response = client.get(items_href(collection), params={"limit": 1})
        assert response.links[QUERYABLES_REL]["url"] == expected
        assert link(response.json(), QUERYABLES_REL)["href"] == expected


def _typed_values(schema: dict[str, Any], features: list[dict[str, Any]], name: str) -> list[Any]:
    return sorted({f["properties"][name] for f in features if f["properties"].get(name) is not None}, key=str)[:3]


def test_ats_queryables_query_parameters_parameters(client: TestClient) -> None:
    """/conf/queryables-query-parameters/parameters: each simple-valued queryable is a query parameter of the
    collection's items, declared in the API definition with the queryable's schema; a value selects exactly the
    features that have it; a value outside the queryable's enum, or of the wrong type, is a 400."""
    spec = api(client)
    for collection in collections(client):
        declared = parameters(spec, f"/collections/{collection['id']}/items")
        features = all_features(client, items_href(collection))
        for name, schema in queryables(client, collection["id"]).items():
            if schema.get("format", "").startswith("geometry-"):
                continue
            param = declared[name]
            assert param["in"] == "query" and not param.get("required", False)
            assert {k: v for k, v in param["schema"].items() if k != "title"} == \
                {k: v for k, v in schema.items() if k != "title"}, (collection["id"], name)
            if "enum" in schema:
                bad = client.get(items_href(collection), params={name: "not-a-listed-value"})
                assert bad.status_code == 400 and bad.json()["parameter"] == name
            if schema.get("type") in ("integer", "number"):
                assert client.get(items_href(collection), params={name: "many"}).status_code == 400
            for value in _typed_values(schema, features, name):
                text = str(value).lower() if isinstance(value, bool) else str(value)
                got = ids(all_features(client, items_href(collection), **{name: text}))
                assert got == {f["id"] for f in features if f["properties"].get(name) == value}, (name, value)


# -- Filter ------------------------------------------------------------------------------------------------------
def test_ats_filter_get_conformance(client: TestClient) -> None:
    """/conf/filter/get-conformance (and features-filter, queryables, queryables-query-parameters): the classes
    are declared, with the filter language tested here."""
    classes = set(ok_json(client, "/conformance")["conformsTo"])
    assert {f"{FEATURES_3}/{c}" for c in ("filter", "features-filter", "queryables",
                                          "queryables-query-parameters")} <= classes
    assert {f"{CQL2}/cql2-text", f"{CQL2}/cql2-json"} <= classes


@pytest.mark.parametrize("lang", LANGS)
def test_ats_filter_filter_param(client: TestClient, lang: str) -> None:
    """/conf/filter/filter-param: `filter` with `filter-lang` selects the matching features (IS NULL: those whose
    value is null; IS NOT NULL: the rest), and an invalid filter is a 400."""
    for collection in collections(client):
        every = ids(all_features(client, items_href(collection)))
        for name in queryables(client, collection["id"]):
            null = matching_ids(client, collection["id"], _is_null(name, lang), lang)
            not_null = matching_ids(client, collection["id"], _is_null(name, lang, negate=True), lang)
            assert not null & not_null and null | not_null == every, (collection["id"], name)
            if name not in ("id", "geometry", "created_at", "updated_at"):
                listed = {f["id"]: f for f in all_features(client, items_href(collection))}
                assert all(listed[i]["properties"].get(name) is None for i in null), (collection["id"], name)
        invalid = filtered(client, collection["id"], "THIS IS NOT A FILTER" if lang == "cql2-text" else "{not json",
                           lang)
        assert invalid.status_code == 400 and invalid.json()["parameter"] == "filter"


def test_ats_filter_filter_lang_default(client: TestClient) -> None:
    """/conf/filter/filter-lang-default: without `filter-lang` a filter is CQL2 text (the default the API
    definition gives), valid or not."""
    spec = api(client)
    lang = parameters(spec, "/collections/{collectionId}/items")["filter-lang"]
    assert lang["schema"]["default"] == "cql2-text" and {"cql2-text", "cql2-json"} <= set(lang["schema"]["enum"])
    for collection in collections(client):
        response = client.get(items_href(collection), params={"filter": "code IS NULL", "limit": 1000})
        assert response.status_code == 200 and media_type(response) == GEOJSON
        assert ids(response.json()["features"]) == matching_ids(client, collection["id"], "code IS NULL")
        assert client.get(items_href(collection), params={"filter": "THIS IS NOT A FILTER"}).status_code == 400


@pytest.mark.parametrize("lang", LANGS)
def test_ats_filter_expression_construction(client: TestClient, lang: str) -> None:
    """/conf/filter/expression-construction: a filter naming something that is not a queryable is a 400."""
    for collection in collections(client):
        response = filtered(client, collection["id"], _is_null("this_is_not_a_queryable", lang), lang)
        assert response.status_code == 400 and "this_is_not_a_queryable" in response.json()["detail"]


@pytest.mark.parametrize("lang", LANGS)
def test_ats_filter_filter_crs_wgs84(client: TestClient, lang: str) -> None:
    """/conf/filter/filter-crs-wgs84: spatial literals are CRS84 by default — the collection's extent matches every
    feature, coordinates out of CRS84's range are a 400."""
    for collection in spatial_collections(client):
        name = _spatial_queryable(client, collection["id"])
        every = ids(all_features(client, items_href(collection)))
        extent = tuple(collection["extent"]["spatial"]["bbox"][0])
        assert matching_ids(client, collection["id"], _envelope(name, extent, lang), lang) == every
        far = filtered(client, collection["id"], _envelope(name, (1e6, 1e6, 2e6, 2e6), lang), lang)
        assert far.status_code == 400


def _extent_in(uri: str, extent: tuple[float, float, float, float]) -> tuple[float, ...]:
    west, south, east, north = extent
    if uri == CRS84:
        return extent
    if uri == f"{EPSG}4326":
        return south, west, north, east
    return transformer("EPSG:4326", f"EPSG:{uri.removeprefix(EPSG)}").transform_bounds(
        west - 1e-4, south - 1e-4, east + 1e-4, north + 1e-4, densify_pts=21)


@pytest.mark.parametrize("lang", LANGS)
def test_ats_filter_filter_crs_param(client: TestClient, lang: str) -> None:
    """/conf/filter/filter-crs-param: with `filter-crs`, spatial literals are in that CRS — the collection's
    extent written in each of its CRSs matches every feature; an unknown CRS is a 400."""
    for collection in spatial_collections(client):
        name = _spatial_queryable(client, collection["id"])
        every = ids(all_features(client, items_href(collection)))
        extent = tuple(collection["extent"]["spatial"]["bbox"][0])
        for uri in collection["crs"]:
            found = matching_ids(client, collection["id"], _envelope(name, _extent_in(uri, extent), lang), lang,
                                 **{"filter-crs": uri})
            assert found == every, (collection["id"], uri)
        unknown = filtered(client, collection["id"], _envelope(name, extent, lang), lang,
                           **{"filter-crs": "http://www.opengis.net/def/crs/OGC/0/does_not_exist"})
        assert unknown.status_code == 400 and unknown.json()["parameter"] == "filter-crs"


@pytest.mark.parametrize("lang", LANGS)
def test_ats_filter_mixing_expression(client: TestClient, lang: str) -> None:
    """/conf/filter/mixing-expression: `filter` and `bbox` together are ANDed — the extent with the extent keeps
    every feature, the extent with a box elsewhere none."""
    for collection in spatial_collections(client):
        name = _spatial_queryable(client, collection["id"])
        every = ids(all_features(client, items_href(collection)))
        extent = tuple(collection["extent"]["spatial"]["bbox"][0])
        both = matching_ids(client, collection["id"], _envelope(name, extent, lang), lang,
                            bbox=",".join(map(str, extent)))
        assert both == every
        elsewhere = matching_ids(client, collection["id"], _envelope(name, extent, lang), lang, bbox="0,40,10,50")
        assert elsewhere == set()


# -- Features Filter ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
def test_ats_features_filter_filter_on_items(client: TestClient, lang: str) -> None:
    """/conf/features-filter/filter-on-items: the Filter tests hold on /collections/{id}/items with GeoJSON answers
    — 200 for a valid filter (a property compared with a value selects what it should), 400 for an invalid one."""
    for collection in collections(client):
        features = all_features(client, items_href(collection))
        codes = sorted({f["properties"]["code"] for f in features if f["properties"].get("code")})
        if not codes:
            continue
        tree = {"op": "=", "args": [{"property": "code"}, codes[0]]}
        got = matching_ids(client, collection["id"], _text_or_json(f"code = '{codes[0]}'", tree, lang), lang)
        assert got == {f["id"] for f in features if f["properties"]["code"] == codes[0]}
        bad = filtered(client, collection["id"], "code = = 1" if lang == "cql2-text" else '{"op": "="}', lang)
        assert bad.status_code == 400
