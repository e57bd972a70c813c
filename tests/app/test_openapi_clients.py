"""The API definition as GIS clients read it: `limit` with the server's default and maximum, each collection's
items path with its property filters, `filter-lang` with the CQL name GDAL asks for — and the server answering
what the definition promises."""

from __future__ import annotations

from fastapi.testclient import TestClient

from spatial.layers import LAYERS
from spatial.queryables import queryables
from spatial.settings import Settings


def _operation(spec: dict, path: str) -> dict:
    return spec["paths"][path]["get"]


def _resolved(spec: dict, operation: dict) -> dict[str, dict]:
    shared = spec["components"]["parameters"]
    params = [shared[p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p for p in operation["parameters"]]
    return {p["name"]: p for p in params}


def test_limit_is_an_integer_with_the_servers_default_and_maximum(client: TestClient, settings: Settings) -> None:
    spec = client.get("/api").json()
    limit = spec["components"]["parameters"]["limit"]
    assert limit["in"] == "query" and limit["name"] == "limit"
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": settings.items_max_limit,
                               "default": settings.items_default_limit}
    # GDAL reads it through a local $ref on the items operations
    for path in ("/collections/{collectionId}/items", "/collections/zones/items"):
        assert {"$ref": "#/components/parameters/limit"} in _operation(spec, path)["parameters"]
    # and the server keeps to it
    page = client.get(f"/collections/admin_units/items?limit={settings.items_max_limit + 5}").json()
    assert page["numberReturned"] <= settings.items_max_limit
    assert client.get("/collections/admin_units/items").json()["numberReturned"] == settings.items_default_limit


def test_filter_lang_lists_the_cql_names(client: TestClient) -> None:
    spec = client.get("/api").json()
    schema = _resolved(spec, _operation(spec, "/collections/{collectionId}/items"))["filter-lang"]["schema"]
    assert schema == {"type": "string", "enum": ["cql2-text", "cql2-json", "cql-text"], "default": "cql2-text"}


def test_each_collection_lists_its_property_filters(client: TestClient) -> None:
    spec = client.get("/api").json()
    operation_ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]
    assert len(operation_ids) == len(set(operation_ids))
    for layer in LAYERS.values():
        params = _resolved(spec, _operation(spec, f"/collections/{layer.id}/items"))
        assert "collectionId" not in params and {"limit", "bbox", "filter", "filter-lang"} <= set(params)
        expected = {q.name for q in queryables(layer).values() if q.kind != "geometry"}
        assert expected <= set(params), layer.id
    zones = _resolved(spec, _operation(spec, "/collections/zones/items"))
    assert zones["kind"]["schema"]["enum"][0] == "region"
    assert _resolved(spec, _operation(spec, "/collections/axes/items"))["rank"]["schema"] == {"type": "integer"}
    assert _resolved(spec, _operation(spec, "/collections/plans/items"))["decision_date"]["schema"] == \
           {"type": "string", "format": "date"}


def test_declared_property_filters_work(client: TestClient) -> None:
    regions = client.get("/collections/zones/items?kind=region").json()
    assert sorted(f["properties"]["code"] for f in regions["features"]) == ["R1", "R2", "R3"]
    assert client.get("/collections/axes/items?rank=1").json()["numberReturned"] == 1


def test_gdal_cql_text_is_read_as_cql2(client: TestClient) -> None:
    """What GDAL's OAPIF driver sends for `-where "kind = 'region' AND code <> 'R2'"`, a LIKE/ILIKE and a date."""
    sent = {"(kind = 'region') AND (code <> 'R2')": ("zones", ["R1", "R3"]),
            "(name_vi ILIKE '%TRUNG%')": ("zones", ["C1"]),
            "(decision_date = '2023-06-13T') AND (decision_no LIKE '686%')": ("plans", ["686/QĐ-TTg"])}
    for text, (layer_id, expected) in sent.items():
        r = client.get(f"/collections/{layer_id}/items", params={"filter": text, "filter-lang": "cql-text"})
        assert r.status_code == 200, r.text
        key = "decision_no" if layer_id == "plans" else "code"
        assert sorted(f["properties"][key] for f in r.json()["features"]) == expected, text
    bad = client.get("/collections/zones/items", params={"filter": "kind = ", "filter-lang": "cql-text"})
    assert bad.status_code == 400 and bad.json()["parameter"] == "filter"
