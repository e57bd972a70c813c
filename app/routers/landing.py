from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from spatial.catalog import layer_summaries
from spatial.json import dumps

router = APIRouter(tags=["landing"])


@router.get("/", summary="Landing page: what LAPIS serves, with each layer's count and extent")
async def landing(request: Request) -> Response:
    base = str(request.base_url).rstrip("/")
    async with request.app.state.db.acquire() as conn:
        summaries = await layer_summaries(conn)
    body = {
        "title": "LAPIS — Long An Planning Information System",
        "description": "Quy hoạch tỉnh Long An thời kỳ 2021–2030, tầm nhìn đến năm 2050 "
                       "(Quyết định 686/QĐ-TTg, 13/06/2023)",
        "links": [
            {"rel": "self", "type": "application/json", "href": f"{base}/"},
            {"rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0",
             "href": f"{base}/openapi.json"},
            {"rel": "data", "type": "application/json", "href": f"{base}/collections"},
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
    return Response(dumps(body), media_type="application/json")
