"""The API definition written the way the OGC conformance tests read it (OGC API – Features Part 1 `oas30`
completeness and exception codes, parameter definitions; Part 2 `crs`, `bbox-crs`; Tiles `oas30`).

FastAPI describes a query parameter by its Python type, a response by the handler's default media type and a
validation error as a 422 it never sends. This pass, run once over the generated document (`app.routers.docs`):

- gives every query parameter `style: form, explode: false`, drops FastAPI's `nullable` (an absent parameter is
  simply absent), types `bbox` as an array of 4 or 6 numbers and `crs`, `bbox-crs`, `filter-crs` as URIs;
- lists in each operation's `200` response every media type it answers in: HTML where `f` offers it, and the
  schema, OpenAPI, Prometheus or PMTiles type of the few resources that are not plain JSON;
- documents the errors every operation can answer, as RFC 9457 problem details: 400 (a bad or unknown
  parameter, on every resource), 404 (a path naming nothing), 413/415/422 where a body is read, 500, and 503
  where the database is asked.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.dependencies import get_database, get_services, get_tiles
from app.problems import PROBLEM_JSON

URI_PARAMETERS = frozenset({"crs", "bbox-crs", "filter-crs"})
BBOX_SCHEMA: dict[str, Any] = {  # OGC API – Features 1.0.1, /req/core/fc-bbox-definition
    "type": "array", "oneOf": [{"minItems": 4, "maxItems": 4}, {"minItems": 6, "maxItems": 6}],
    "items": {"type": "number"},
}
# resources whose answer is not the JSON FastAPI assumes: path → the media types of their 200 response
MEDIA_TYPES = {
    "/collections/{collectionId}/queryables": ("application/schema+json",),
    "/collections/{collectionId}/schema": ("application/schema+json",),
    "/api": ("application/vnd.oai.openapi+json;version=3.0",),
    "/api.html": ("text/html",),
    "/metrics": ("text/plain; version=0.0.4; charset=utf-8",),
    "/pmtiles/{name}": ("application/vnd.pmtiles",),
}
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object", "description": "RFC 9457 problem details", "required": ["title", "status"],
    "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                   "detail": {"type": "string"}, "instance": {"type": "string"},
                   "parameter": {"type": "string", "description": "the parameter at fault"}},
}
ERRORS = {
    "400": "A parameter is invalid, or not one this resource takes",
    "404": "Nothing is there: the path names no collection, feature, tile matrix set or tile",
    "413": "The body is too large",
    "415": "The body is not of a media type read here",
    "422": "The geometry given is invalid",
    "500": "An unexpected error (logged)",
    "503": "The database does not answer (retry later)",
}
DATABASE_DEPENDENCIES = (get_database, get_tiles, get_services)
GEOMETRY_PARAMETERS = frozenset({"filter"})


def conformant(spec: dict[str, Any], app: FastAPI) -> dict[str, Any]:
    """`spec` (an OpenAPI 3.0 document of `app`) with parameters and responses described as above."""
    spec = _without_null_options(copy.deepcopy(spec))
    uses_database = _routes_using_database(app)
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            _parameters(operation.get("parameters", []))
            _success(operation, path)
            _errors(operation, database=(path, method.upper()) in uses_database or _per_collection(path))
    components = spec.setdefault("components", {})
    _parameters(list(components.get("parameters", {}).values()))
    schemas = components.setdefault("schemas", {})
    schemas.setdefault("Problem", PROBLEM_SCHEMA)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return spec


def _parameters(parameters: list[dict[str, Any]]) -> None:
    for param in parameters:
        if param.get("in") != "query":
            continue
        param["style"], param["explode"] = "form", False
        schema = param.setdefault("schema", {})
        schema.pop("nullable", None)
        if param["name"] == "bbox":
            param["schema"] = {**BBOX_SCHEMA, **({"description": schema["description"]} if "description" in schema
                                                 else {})}
        elif param["name"] in URI_PARAMETERS:
            schema["format"] = "uri"


def _query_names(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in operation.get("parameters", []) if p.get("in") == "query"}


def _success(operation: dict[str, Any], path: str) -> None:
    ok = operation.get("responses", {}).get("200")
    if ok is None:
        return
    content = ok.setdefault("content", {})
    if path in MEDIA_TYPES:
        content.pop("application/json", None)
        for media in MEDIA_TYPES[path]:
            content.setdefault(media, {})
    f = _query_names(operation).get("f")
    if f is not None and "html" in f.get("schema", {}).get("enum", ()):
        content.setdefault("text/html", {})


def _errors(operation: dict[str, Any], *, database: bool) -> None:
    responses = operation.setdefault("responses", {})
    codes = ["400", "500"]
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        codes.append("404")
    if "requestBody" in operation:
        codes += ["413", "415", "422"]
    if _query_names(operation).keys() & GEOMETRY_PARAMETERS:  # a geometry in a filter may be invalid
        codes.append("422")
    elif "422" in responses and "requestBody" not in operation:
        del responses["422"]  # FastAPI's validation error: LAPIS answers a bad parameter with a 400
    if database:
        codes.append("503")
    for code in codes:
        entry = responses.get(code)
        if entry is None or "HTTPValidationError" in str(entry):
            responses[code] = {"description": ERRORS[code],
                               "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _without_null_options(node: Any) -> Any:
    """FastAPI's `anyOf: [X, null]` for an optional value, as OpenAPI 3.0 writes it: X (an absent value is absent)."""
    if isinstance(node, list):
        return [_without_null_options(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _without_null_options(v) for k, v in node.items()}
    options = out.get("anyOf")
    if isinstance(options, list) and {"nullable": True} in options:
        rest = [o for o in options if o != {"nullable": True}]
        if len(rest) == 1:
            del out["anyOf"]
            out = {**rest[0], **out, "nullable": True}
    return out


def _per_collection(path: str) -> bool:
    """The items paths `app.openapi_items` lists per collection (copies of the database-backed items operation)."""
    return path.startswith("/collections/") and path.endswith("/items") and "{" not in path


def _routes_using_database(app: FastAPI) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        if isinstance(route, APIRoute) and _calls(route.dependant, DATABASE_DEPENDENCIES):
            found |= {(route.path, method) for method in route.methods}
    return found


def _calls(dependant: Dependant, targets: tuple[Any, ...]) -> bool:
    return dependant.call in targets or any(_calls(sub, targets) for sub in dependant.dependencies)
