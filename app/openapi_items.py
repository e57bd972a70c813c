"""The items operations of the API definition, written the way GIS clients read them.

- `limit` is one shared parameter (`#/components/parameters/limit`) that is an integer with the server's default
  and maximum: GDAL's OAPIF driver (3.8 and later) reads them there and pages at min(max(1000, default), maximum)
  features a request instead of 10.
- Each collection's items path is also listed on its own (`/collections/zones/items`), with a query parameter
  for each of its queryable properties (the `property=value` filters the server takes, OGC API – Features
  Part 3 queryables-query-parameters). GDAL looks up the parameters of a layer's own path and sends only
  properties it finds there to the server.
- `filter-lang` lists `cql-text` besides `cql2-text` and `cql2-json`: the pre-standard name is the one GDAL's
  OAPIF driver (3.6 to at least 3.12) looks for before it sends an attribute filter (`-where`) as a CQL
  `filter`; LAPIS reads it as CQL2 text (`spatial.cql.parse`).
"""

from __future__ import annotations

import copy
from typing import Any

from spatial.cql import LEGACY_CQL_TEXT
from spatial.queryables import queryables
from spatial.registry import Layer, Registry
from spatial.settings import Settings

ITEMS_PATH = "/collections/{collectionId}/items"
LIMIT_REF = {"$ref": "#/components/parameters/limit"}
FILTER_LANGS = ["cql2-text", "cql2-json", LEGACY_CQL_TEXT]
SCHEMA_OF_KIND: dict[str, dict[str, Any]] = {
    "text": {"type": "string"}, "date": {"type": "string", "format": "date"},
    "timestamp": {"type": "string", "format": "date-time"}, "integer": {"type": "integer"},
    "number": {"type": "number"}, "boolean": {"type": "boolean"},
}


def limit_parameter(settings: Settings) -> dict[str, Any]:
    return {
        "name": "limit", "in": "query", "required": False, "style": "form", "explode": False,
        "description": f"Page size: at most {settings.items_max_limit} features a page (default "
                       f"{settings.items_default_limit}); follow the `next` link for the next page",
        "schema": {"type": "integer", "minimum": 1, "maximum": settings.items_max_limit,
                   "default": settings.items_default_limit},
    }


def _shared_parameters(operation: dict[str, Any]) -> None:
    """`limit` as the shared parameter; `filter-lang` with its values and default."""
    params = operation.get("parameters", [])
    for i, param in enumerate(params):
        if param.get("name") == "limit":
            params[i] = dict(LIMIT_REF)
        elif param.get("name") == "filter-lang":
            param["schema"] = {"type": "string", "enum": FILTER_LANGS, "default": "cql2-text"}


def _property_parameters(layer: Layer) -> list[dict[str, Any]]:
    return [{"name": q.name, "in": "query", "required": False,
             "description": f"Only features whose {q.name} equals this value",
             "schema": {**SCHEMA_OF_KIND[q.kind], **({"enum": list(q.enum)} if q.enum else {})}}
            for q in queryables(layer).values() if q.kind != "geometry"]


def _collection_operation(template: dict[str, Any], layer: Layer) -> dict[str, Any]:
    operation = copy.deepcopy(template)
    operation["parameters"] = [p for p in operation.get("parameters", []) if p.get("name") != "collectionId"]
    operation["parameters"] += _property_parameters(layer)
    operation["operationId"] = f"{template.get('operationId', 'items')}_{layer.id}"
    operation["summary"] = f"Features of {layer.title_en} ({layer.id})"
    return operation


def items_for_clients(spec: dict[str, Any], settings: Settings, registry: Registry) -> dict[str, Any]:
    """`spec` (an OpenAPI 3.0 document of the app) with the items operations described above."""
    spec = copy.deepcopy(spec)
    template = spec.get("paths", {}).get(ITEMS_PATH, {}).get("get")
    if template is None:
        return spec
    _shared_parameters(template)
    spec.setdefault("components", {}).setdefault("parameters", {})["limit"] = limit_parameter(settings)
    for layer in registry.values():
        spec["paths"][f"/collections/{layer.id}/items"] = {"get": _collection_operation(template, layer)}
    return spec
