"""The API definition written the way the OGC conformance tests read it (OGC API – Features Part 1 `oas30`
completeness, parameter definitions; Part 2 `crs`, `bbox-crs`; Tiles `oas30`).

FastAPI describes a query parameter by its Python type and a response by the handler's default media type. This
pass, run once over the generated document after `app.openapi_extras` (which gives parameters their exact shapes
and operations their problem answers) and `app.openapi_items` (`app.routers.docs`):

- gives every query parameter `style: form, explode: false` and drops FastAPI's `nullable` (an absent parameter
  is simply absent);
- lists in each operation's `200` response every media type it answers in: HTML where `f` offers it, and the
  schema, OpenAPI, Prometheus or PMTiles type of the few resources that are not plain JSON.
"""

from __future__ import annotations

import copy
from typing import Any

# resources whose answer is not the JSON FastAPI assumes: path → the media types of their 200 response
MEDIA_TYPES = {
    "/collections/{collectionId}/queryables": ("application/schema+json",),
    "/collections/{collectionId}/schema": ("application/schema+json",),
    "/api": ("application/vnd.oai.openapi+json;version=3.0",),
    "/api.html": ("text/html",),
    "/metrics": ("text/plain; version=0.0.4; charset=utf-8",),
    "/pmtiles/{name}": ("application/vnd.pmtiles",),
}


def conformant(spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` (an OpenAPI 3.0 document) with parameters and success responses described as above."""
    spec = _without_null_options(copy.deepcopy(spec))
    for path, operations in spec.get("paths", {}).items():
        for operation in operations.values():
            _parameters(operation.get("parameters", []))
            _success(operation, path)
    _parameters(list(spec.get("components", {}).get("parameters", {}).values()))
    return spec


def _parameters(parameters: list[dict[str, Any]]) -> None:
    for param in parameters:
        if param.get("in") != "query":
            continue
        param["style"], param["explode"] = "form", False
        param.setdefault("schema", {}).pop("nullable", None)


def _success(operation: dict[str, Any], path: str) -> None:
    ok = operation.get("responses", {}).get("200")
    if ok is None:
        return
    content = ok.setdefault("content", {})
    if path in MEDIA_TYPES:
        content.pop("application/json", None)
        for media in MEDIA_TYPES[path]:
            content.setdefault(media, {})
    f = next((p for p in operation.get("parameters", []) if p.get("in") == "query" and p.get("name") == "f"), None)
    if f is not None and "html" in f.get("schema", {}).get("enum", ()):
        content.setdefault("text/html", {})


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
