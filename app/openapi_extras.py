"""What the API definition says beyond what FastAPI infers from the routes' signatures.

Problem responses: every operation lists the 4xx/5xx answers it can give, each as `application/problem+json` with
the `Problem` schema (RFC 9457, plus LAPIS's `parameter` and `request_id`).

FastAPI documents a 422 "Validation Error" of its own shape for every operation with parameters; LAPIS answers those
mistakes with a 400 problem (app.problems), so that entry is replaced. Which statuses an operation lists follows
from its shape: any request can be refused (400: a Host not served, a NUL in the URL, a bad parameter); one with
path parameters can name something that does not exist (404); one with a body can send too much (413), the wrong
media type (415) or a geometry that cannot be used (422); anything that reads the database can find it gone (503).

Parameters parsed as text by `spatial` get the shape of what it accepts: the CRS parameters are URIs among the CRSs
offered (empty: the default, `allowEmptyValue`), bbox is an array of 4 or 6 numbers (OGC API – Features Part 1,
/req/core/fc-bbox-definition; sent comma-separated), the PMTiles archive name has its pattern, tile matrices are
named by their ids, and no text parameter may hold a NUL character (refused at the edge).

Besides, any request may meet an unexpected error (500, a problem carrying the request id) and a CQL2 filter may
hold an unusable geometry (422).
"""

from __future__ import annotations

import re
from typing import Any

from app.openapi_security import describe_security
from app.problems import PROBLEM_JSON
from app.routers.tiles import PMTILES_NAME
from spatial.crs import CRS84, SUPPORTED
from spatial.history.asof import RFC3339
from spatial.tiles.grid import MAX_ZOOM, TMS_ID

# the OGC URIs and their EPSG:n CURIEs (an empty value, the default CRS84, is allowed by `allowEmptyValue`)
CRS_VALUES = [*(crs.uri for crs in SUPPORTED), *(f"EPSG:{crs.code}" for crs in SUPPORTED if crs.uri != CRS84)]
CRS_SCHEMA: dict[str, Any] = {"type": "string", "format": "uri", "enum": CRS_VALUES}
EMPTY_IS_DEFAULT = frozenset({"crs", "bbox-crs", "filter-crs"})
PARAMETER_SCHEMAS: dict[str, dict[str, Any]] = {
    "crs": CRS_SCHEMA, "bbox-crs": CRS_SCHEMA, "filter-crs": CRS_SCHEMA,
    "bbox": {"type": "array", "oneOf": [{"minItems": 4, "maxItems": 4}, {"minItems": 6, "maxItems": 6}],
             "items": {"type": "number"}},
    "pmtiles": {"type": "string", "pattern": PMTILES_NAME.pattern},
    # the plan at an instant (spatial.history.asof), and a feature's versions before a version number
    "asof": {"type": "string", "format": "date-time", "pattern": RFC3339.pattern},
    "before": {"type": "string", "pattern": "^[0-9]{1,18}$"},
}
TILE_MATRICES = [str(z) for z in range(MAX_ZOOM + 1)]
NO_NUL = "^[^\\u0000]*$"
# what Python's str.split() takes for white space: /search ignores it, so a q of nothing else is empty
SPACE = "\\t\\n\\u000b\\f\\r\\u001c-\\u001f \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
PARAMETER_SCHEMAS["q"] = {"type": "string", "pattern": f"^[^\\u0000]*[^\\u0000{SPACE}][^\\u0000]*$"}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "about:blank (the status says it all)"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "What is wrong and what to do"},
        "parameter": {"type": "string", "description": "The parameter (or header, or body) that is wrong"},
        "instance": {"type": "string", "description": "The path of the request"},
        "request_id": {"type": "string", "description": "Names the request in the server's log (X-Request-ID)"},
    },
}
DESCRIPTIONS = {
    400: "Invalid request: a parameter, the Host header or the body (the problem names it)",
    401: "A bearer token is needed",
    403: "Not allowed from here",
    404: "Not found: the collection, feature, tile or tile matrix set named does not exist",
    413: "Content too large: the body, the file or its contents are over a configured limit",
    415: "Unsupported media type",
    422: "Unusable geometry: well-formed but empty, invalid, out of range or ambiguous on the ellipsoid",
    500: "An unexpected error (logged; the problem carries the request id)",
    503: "The database does not answer, or the query took longer than the configured timeout (see Retry-After)",
}
NO_DATABASE = {"/api", "/api.html", "/conformance", "/map", "/tileMatrixSets", "/tileMatrixSets/{tileMatrixSetId}",
               "/styles/plan.json", "/pmtiles/{name}"}
RESTRICTED = {"/metrics": (401, 403)}
VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def problem_statuses(path: str, operation: dict[str, Any]) -> list[int]:
    statuses = {400, 500}
    if "{" in path:
        statuses.add(404)
    if "requestBody" in operation:
        statuses |= {413, 415, 422}
    if any(p.get("in") == "query" and p.get("name") == "filter" for p in operation.get("parameters", [])):
        statuses.add(422)  # a geometry in a CQL2 filter
    if path not in NO_DATABASE:
        statuses.add(503)
    statuses.update(RESTRICTED.get(path, ()))
    return sorted(statuses)


def collections_schema(tiled: list[str]) -> dict[str, Any]:
    """`collections=a,b`: tiled layer ids separated by commas (blanks and empty items ignored, as parsed)."""
    name = "(?:" + "|".join(re.escape(layer_id) for layer_id in tiled) + ")"
    return {"type": "string", "pattern": rf"^\s*(?:{name}\s*)?(?:,\s*(?:{name}\s*)?)*$"}


def refine_parameters(operation: dict[str, Any], shapes: dict[str, dict[str, Any]]) -> None:
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        if parameter.get("in") == "query" and parameter["name"] in shapes:
            # the shape replaces FastAPI's `anyOf [string, null]`: an absent parameter is simply absent
            parameter["schema"] = {**{k: v for k, v in schema.items() if k != "anyOf"}, **shapes[parameter["name"]]}
            if parameter["name"] in EMPTY_IS_DEFAULT:
                parameter["allowEmptyValue"] = True
        elif _is_text(schema) and not {"enum", "pattern"} & set(schema):
            _text_schema(schema)["pattern"] = NO_NUL


def name_path_values(operation: dict[str, Any], layers: list[str]) -> None:
    """The collection ids, tile matrix sets and tile matrices a path may name."""
    values = {"collectionId": layers, "tileMatrixSetId": [TMS_ID], "tileMatrix": TILE_MATRICES}
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "path" and parameter["name"] in values:
            parameter["schema"] = {**parameter.get("schema", {}), "type": "string", "enum": values[parameter["name"]]}


def _is_text(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "string" or any(o.get("type") == "string" for o in schema.get("anyOf", []))


def _text_schema(schema: dict[str, Any]) -> dict[str, Any]:
    return schema if schema.get("type") == "string" else next(o for o in schema["anyOf"] if o.get("type") == "string")


def describe_problems(spec: dict[str, Any], layers: list[str], tiled: list[str]) -> dict[str, Any]:
    """`spec` (FastAPI's OpenAPI document, changed in place and returned) with every operation's problem answers
    and its parameters' exact shapes (`layers`: the collection ids, `tiled`: those with tiles)."""
    ref = {"$ref": "#/components/schemas/Problem"}
    shapes = {**PARAMETER_SCHEMAS, "collections": collections_schema(tiled)}
    for path, item in spec.get("paths", {}).items():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            refine_parameters(operation, shapes)
            name_path_values(operation, layers=tiled if "/tiles" in path else layers)
            responses = operation["responses"]
            if "HTTPValidationError" in str(responses.get("422", "")):
                del responses["422"]
            for status in problem_statuses(path, operation):
                responses.setdefault(str(status), {"description": DESCRIPTIONS[status],
                                                   "content": {PROBLEM_JSON: {"schema": ref}}})
            for code, response in responses.items():  # a route's own 4xx/5xx rows say only why: the body is a problem
                if code.startswith(("4", "5")) and "content" not in response:
                    response["content"] = {PROBLEM_JSON: {"schema": ref}}
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name in VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    schemas["Problem"] = PROBLEM_SCHEMA
    return describe_security(spec)  # the bearer scheme; sign-in needs, 401/403/429 of operations that read the caller
