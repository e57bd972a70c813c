"""The web map: `/map` (MapLibre GL JS and, for its edit mode, Mapbox GL Draw from node_modules, served by the app —
nothing from a CDN), its assets, and the MapLibre style at `/styles/plan.json`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import FileResponse, Response

from app.dependencies import RegistryDep, SettingsDep
from app.negotiate import base_url, json_response
from app.problems import Problem
from app.routers.tiles import PMTILES_NAME
from spatial.errors import InvalidParameter, NotFound
from spatial.settings import PROJECT_ROOT
from spatial.tiles.style import plan_style

router = APIRouter(tags=["map"])
STATIC = Path(__file__).resolve().parent.parent / "static" / "map"
ASSETS = {"map.js": "text/javascript", "check.js": "text/javascript", "map.css": "text/css",
          "page-map.js": "text/javascript", "bounds.js": "text/javascript",
          # the edit mode (sign-in, drawing and attributes, proposals, uploads)
          **{f"{name}.js": "text/javascript" for name in (
              "edit-api", "edit-i18n", "edit-form", "edit-session", "edit", "proposals", "upload")}}
NODE_MODULES = PROJECT_ROOT / "node_modules"
VENDOR = {  # name -> (file under node_modules, media type)
    "maplibre-gl.js": ("maplibre-gl/dist/maplibre-gl.js", "text/javascript"),
    "maplibre-gl.css": ("maplibre-gl/dist/maplibre-gl.css", "text/css"),
    "maplibre-gl.js.map": ("maplibre-gl/dist/maplibre-gl.js.map", "application/json"),
    "pmtiles.js": ("pmtiles/dist/pmtiles.js", "text/javascript"),
    "mapbox-gl-draw.js": ("@mapbox/mapbox-gl-draw/dist/mapbox-gl-draw.js", "text/javascript"),
    "mapbox-gl-draw.js.map": ("@mapbox/mapbox-gl-draw/dist/mapbox-gl-draw.js.map", "application/json"),
}
# the plan's past (feature history, the plan as of an instant, comparing revisions)
ASSETS.update({"history.css": "text/css", **{f"{name}.js": "text/javascript"
                                             for name in ("history-core", "timeslider", "compare", "history")}})


@router.get("/map", summary="The web map of the plan", response_class=Response,
            responses={200: {"content": {"text/html": {}}}})
async def map_page(
        lang: Literal["vi", "en"] = Query("vi", description="Language of the map (read by the page itself)"),
        pmtiles: str | None = Query(None, description="Draw this archive under /pmtiles/ instead of the tile "
                                    "endpoints (read by the page itself)")) -> Response:
    """The page reads its parameters itself; they are declared here because a resource refuses undeclared ones,
    and checked as `/styles/plan.json` checks them."""
    check_pmtiles_name(pmtiles)
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})


@router.get("/map/assets/{name}", include_in_schema=False)
async def map_asset(name: str) -> Response:
    if name not in ASSETS:
        raise NotFound(f"no viewer asset {name!r}", parameter="name")
    return FileResponse(STATIC / name, media_type=ASSETS[name], headers={"Cache-Control": "no-cache"})


@router.get("/map/vendor/{name}", include_in_schema=False)
async def vendor_asset(name: str) -> Response:
    if name not in VENDOR:
        raise NotFound(f"no vendored file {name!r}", parameter="name")
    relative, media_type = VENDOR[name]
    path = NODE_MODULES / relative
    if not path.exists():
        raise Problem(503, "Viewer not installed", f"{relative} is missing: run `npm ci` (make setup)")
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})


@router.get("/styles/plan.json", summary="MapLibre style of the plan (labels in Vietnamese, or English)")
async def style(request: Request, settings: SettingsDep, registry: RegistryDep,
                lang: Literal["vi", "en"] = Query("vi", description="Label language"),
                pmtiles: str | None = Query(None, description="Use this archive under /pmtiles/ as the tile source "
                                            "(the viewer's static mode; needs the pmtiles:// protocol)")) -> Response:
    base = base_url(request)
    check_pmtiles_name(pmtiles)
    source = f"pmtiles://{base}/pmtiles/{pmtiles}" if pmtiles else f"{base}/tiles/WebMercatorQuad/tilejson.json"
    return json_response(plan_style(tilejson_url=source, lang=lang, basemap_url=settings.basemap_url,
                                    registry=registry))


def check_pmtiles_name(pmtiles: str | None) -> None:
    if pmtiles is not None and not PMTILES_NAME.match(pmtiles):
        raise InvalidParameter("pmtiles must be an archive name like plan.pmtiles", parameter="pmtiles")
