"""The landing page (OGC API – Features `/`): links to everything, and each layer's count and extent."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from app import html
from app.dependencies import DatabaseDep, RegistryDep
from app.links import landing_tile_links
from app.negotiate import HTML, JSON, JsonOrHtml, base_url, json_response
from app.routers.docs import OPENAPI_JSON
from spatial.catalog import layer_summaries

router = APIRouter(tags=["landing"])


@router.get("/", summary="Landing page: what LAPIS serves, with each layer's count and extent")
async def landing(request: Request, fmt: JsonOrHtml, db: DatabaseDep, registry: RegistryDep) -> Response:
    base = base_url(request)
    async with db.acquire() as conn:
        summaries = await layer_summaries(conn, registry)
    body = {
        "title": "LAPIS — Long An Planning Information System",
        "description": "Quy hoạch tỉnh Long An thời kỳ 2021–2030, tầm nhìn đến năm 2050 "
                       "(Quyết định 686/QĐ-TTg, 13/06/2023)",
        "links": [
            {"rel": "self", "type": JSON, "title": "This document", "href": f"{base}/"},
            {"rel": "alternate", "type": HTML, "title": "This document as HTML", "href": f"{base}/?f=html"},
            {"rel": "service-desc", "type": OPENAPI_JSON, "title": "The API definition (OpenAPI 3.0)",
             "href": f"{base}/api"},
            {"rel": "service-doc", "type": HTML, "title": "The API documentation", "href": f"{base}/api.html"},
            {"rel": "conformance", "type": JSON, "title": "Conformance classes", "href": f"{base}/conformance"},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/conformance", "type": JSON,
             "title": "Conformance classes", "href": f"{base}/conformance"},
            {"rel": "data", "type": JSON, "title": "Collections", "href": f"{base}/collections"},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/data", "type": JSON, "title": "Collections",
             "href": f"{base}/collections"},
            *landing_tile_links(base),
            {"rel": "related", "type": JSON, "title": "Plan revisions: named, published states of the plan",
             "href": f"{base}/revisions"},
            {"rel": "related", "type": JSON, "title": "The change log: every published change, newest first",
             "href": f"{base}/changes"},
            {"rel": "alternate", "type": "application/atom+xml", "title": "The change log as an Atom feed",
             "href": f"{base}/changes?f=atom"},
        ],
        "layers": [
            {
                "id": s.layer.id,
                "title": s.layer.title_en,
                "title_vi": s.layer.title_vi,
                "count": s.count,
                "count_is_estimate": s.count_is_estimate,
                "bbox": list(s.bbox) if s.bbox else None,
            }
            for s in summaries
        ],
    }
    if fmt == "html":
        return html.landing_page(request, body)
    return json_response(body)
