"""The web map: `/map` (MapLibre GL JS from node_modules, served by the app — nothing from a CDN), its assets,
and the MapLibre style at `/styles/plan.json`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import FileResponse, Response

from app.problems import Problem
from spatial.json import dumps
from spatial.settings import PROJECT_ROOT
from spatial.tiles.style import plan_style

router = APIRouter(tags=["map"])
STATIC = Path(__file__).resolve().parent.parent / "static" / "map"
MAPLIBRE_DIST = PROJECT_ROOT / "node_modules" / "maplibre-gl" / "dist"
ASSETS = {"map.js": "text/javascript", "map.css": "text/css"}
VENDOR = {"maplibre-gl.js": "text/javascript", "maplibre-gl.css": "text/css",
          "maplibre-gl.js.map": "application/json"}


@router.get("/map", summary="The web map of the plan", response_class=Response)
async def map_page() -> Response:
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})


@router.get("/map/assets/{name}", include_in_schema=False)
async def map_asset(name: str) -> Response:
    if name not in ASSETS:
        raise Problem(404, "Not found", f"no viewer asset {name!r}", parameter="name")
    return FileResponse(STATIC / name, media_type=ASSETS[name], headers={"Cache-Control": "no-cache"})


@router.get("/map/vendor/{name}", include_in_schema=False)
async def vendor_asset(name: str) -> Response:
    if name not in VENDOR:
        raise Problem(404, "Not found", f"no vendored file {name!r}", parameter="name")
    path = MAPLIBRE_DIST / name
    if not path.exists():
        raise Problem(503, "Viewer not installed", "maplibre-gl is missing: run `npm ci` (make setup)")
    return FileResponse(path, media_type=VENDOR[name], headers={"Cache-Control": "public, max-age=86400"})


@router.get("/styles/plan.json", summary="MapLibre style of the plan (labels in Vietnamese, or English)")
async def style(request: Request, lang: Literal["vi", "en"] = Query("vi", description="Label language")) -> Response:
    base = str(request.base_url).rstrip("/")
    body = plan_style(tilejson_url=f"{base}/tiles/WebMercatorQuad/tilejson.json", lang=lang,
                      basemap_url=request.app.state.settings.basemap_url)
    return Response(dumps(body), media_type="application/json")
