"""The API definition at /api (OpenAPI 3.0 JSON) and its documentation page at /api.html, rendered by
Swagger UI from node_modules (served by the app itself: no CDN)."""

from __future__ import annotations

import copy
import html
from typing import Any
from weakref import WeakKeyDictionary

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import HTMLResponse, Response

from app.dependencies import services_of
from app.negotiate import JsonOrHtml, base_url
from app.openapi_conformance import conformant
from app.openapi_edits import describe_editing
from app.openapi_extras import describe_problems
from app.openapi_items import items_for_clients
from spatial.json import dumps

router = APIRouter(tags=["API definition"])
SWAGGER_PATH = "/static/swagger-ui"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"
_converted: WeakKeyDictionary[FastAPI, dict[str, Any]] = WeakKeyDictionary()  # each app's document, made once


def to_openapi30(node: Any) -> Any:
    """FastAPI writes OpenAPI 3.1; OGC API – Features asks for 3.0. The differences in what FastAPI
    emits are nullable unions (`anyOf [X, {type: null}]`) and `examples` lists in schemas."""
    if isinstance(node, list):
        return [to_openapi30(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_openapi30(v) for k, v in node.items()}
    for key in ("anyOf", "oneOf"):
        options = out.get(key)
        if isinstance(options, list) and {"type": "null"} in options:
            rest = [o for o in options if o != {"type": "null"}]
            out.pop(key)
            if len(rest) == 1:
                out.update(rest[0])
            else:
                out[key] = rest
            out["nullable"] = True
    if out.get("type") == "null":
        out.pop("type")
        out["nullable"] = True
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), int | float) and not isinstance(out.get(bound), bool):
            out[limit] = out.pop(bound)
            out[bound] = True
    if "const" in out:
        out["enum"] = [out.pop("const")]
    if "examples" in out and isinstance(out["examples"], list) and "schema" not in out:
        examples = out.pop("examples")
        if examples:
            out["example"] = examples[0]
    return out


def openapi30(request: Request) -> dict[str, Any]:
    app: FastAPI = request.app
    spec = _converted.get(app)
    if spec is None:
        services = services_of(app)
        tiled = [layer.id for layer in services.tiles.tile_layers(None)]
        described = describe_problems(copy.deepcopy(app.openapi()), list(services.registry), tiled)
        spec = items_for_clients(to_openapi30(described), services.settings, services.registry)
        spec = describe_editing(spec, [layer.id for layer in services.registry.values() if layer.editable])
        spec = conformant(spec)
        spec["openapi"] = "3.0.3"
        _converted[app] = spec
    return {**spec, "servers": [{"url": base_url(request)}]}


@router.get("/api", summary="The API definition (OpenAPI 3.0)", response_class=Response,
            responses={200: {"description": "The OpenAPI document (f=html: its Swagger UI page)",
                             "content": {OPENAPI_JSON: {}, "text/html": {}}}})
async def api(request: Request, fmt: JsonOrHtml) -> Response:
    if fmt == "html":
        return await api_html(request)
    return Response(dumps(openapi30(request)), media_type=OPENAPI_JSON)


# Started from a file, not an inline script: the pages' Content-Security-Policy runs scripts from this server only.
SWAGGER_INIT = b"""const box = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({url: box.dataset.url, dom_id: "#swagger-ui"});
"""


@router.get("/api.html", summary="The API documentation (Swagger UI, served locally)", response_class=HTMLResponse)
async def api_html(request: Request) -> Response:
    base = html.escape(base_url(request))
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>LAPIS API</title>
<link rel="stylesheet" href="{base}{SWAGGER_PATH}/swagger-ui.css"></head><body>
<div id="swagger-ui" data-url="{base}/api?f=json"></div>
<script src="{base}{SWAGGER_PATH}/swagger-ui-bundle.js"></script>
<script src="{base}/api.js"></script>
</body></html>"""
    return Response(page.encode(), media_type="text/html")


@router.get("/api.js", include_in_schema=False)
async def api_js() -> Response:
    return Response(SWAGGER_INIT, media_type="text/javascript")
