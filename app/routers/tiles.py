"""OGC API – Tiles (Mapbox Vector Tiles): tile matrix sets, per-collection tilesets, the composite plan tileset,
TileJSON. Handlers parse, call `spatial.tiles`, and shape HTTP (ETag/304, gzip, Cache-Control)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import FileResponse, Response

from app.problems import Problem
from spatial.json import dumps
from spatial.pool import Database
from spatial.tiles.cache import RenderedTile
from spatial.tiles.grid import CRS_URI, TMS_ID, TMS_URI, Tile, TileOutOfRange, tile_matrix_set
from spatial.tiles.layers import TileLayer
from spatial.tiles.service import TILE_SERVER_SETTINGS, TileService, UnknownTileLayer, tile_layers
from spatial.tiles.tilejson import tilejson
from spatial.tiles.versions import version_tag

router = APIRouter(tags=["tiles"])
MVT = "application/vnd.mapbox-vector-tile"
JSON = "application/json"
PMTILES_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.pmtiles$")
Z = Annotated[int, Path(description="Zoom level (tileMatrix)")]
Y = Annotated[int, Path(description="Row (tileRow)")]
X = Annotated[int, Path(description="Column (tileCol)")]


def tile_service(request: Request) -> TileService:
    """The app's TileService, made on first use from its settings, with a pool of its own that plans each tile
    query for its own zoom (the best index differs between a z8 and a z14 tile)."""
    service = getattr(request.app.state, "tiles", None)
    if service is None:
        settings = request.app.state.settings
        app_db = request.app.state.db
        db = Database(app_db.url, min_size=1, max_size=settings.pool_max_size,
                      statement_timeout_ms=settings.statement_timeout_ms,
                      server_settings=TILE_SERVER_SETTINGS)
        service = TileService(db, cache=settings.tile_cache_enabled,
                              cache_size=settings.tile_cache_size,
                              cache_dir=settings.tile_cache_dir if settings.tile_cache_enabled else None,
                              min_feature_px=settings.tile_min_feature_px,
                              max_features=settings.tile_max_features)
        request.app.state.tiles = service
    return service


def _json(body: object) -> Response:
    return Response(dumps(body), media_type=JSON)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _check_tms(tile_matrix_set_id: str) -> None:
    if tile_matrix_set_id != TMS_ID:
        raise Problem(404, "Unknown tile matrix set", f"only {TMS_ID} is offered", parameter="tileMatrixSetId")


def _collection(collection_id: str) -> TileLayer:
    try:
        return tile_layers([collection_id])[0]
    except UnknownTileLayer as exc:
        raise Problem(404, "Unknown collection", str(exc), parameter="collectionId") from None


def _subset(collections: str | None) -> tuple[TileLayer, ...]:
    ids = [c.strip() for c in collections.split(",") if c.strip()] if collections else []
    try:
        return tile_layers(ids)
    except UnknownTileLayer as exc:
        raise Problem(400, "Invalid parameter", str(exc), parameter="collections") from None


def _tile(z: int, y: int, x: int) -> Tile:
    try:
        return Tile(z, x, y)
    except TileOutOfRange as exc:
        raise Problem(404, "Tile out of range", str(exc), parameter=exc.parameter) from None


def _etag_matches(header: str | None, tile: RenderedTile) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    wanted = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return tile.etag in wanted or _gzip_etag(tile) in wanted


def _gzip_etag(tile: RenderedTile) -> str:
    return tile.etag[:-1] + '-gz"'


async def _tile_response(request: Request, service: TileService, layers: tuple[TileLayer, ...], tile: Tile,
                         *, composite: bool) -> Response:
    versions = await service.versions()
    rendered = await service.render(layers, tile, composite=composite, versions=versions)
    current = version_tag(versions, [layer.id for layer in layers])
    versioned = request.query_params.get("v") == current
    headers = {
        "Cache-Control": "public, max-age=31536000, immutable" if versioned else "public, no-cache",
        "Vary": "Accept-Encoding",
        "X-Data-Version": current,
    }
    gzip_ok = "gzip" in request.headers.get("accept-encoding", "").lower()
    etag = _gzip_etag(rendered) if gzip_ok and not rendered.empty else rendered.etag
    headers["ETag"] = etag
    if _etag_matches(request.headers.get("if-none-match"), rendered):
        return Response(status_code=304, headers=headers)
    if rendered.empty:
        return Response(status_code=204, headers=headers)
    if gzip_ok:
        headers["Content-Encoding"] = "gzip"
        return Response(rendered.gzipped, media_type=MVT, headers=headers)
    return Response(rendered.data, media_type=MVT, headers=headers)


def _tileset_links(base: str, prefix: str, query: str = "") -> list[dict]:
    return [
        {"rel": "self", "type": JSON, "href": f"{base}{prefix}/{TMS_ID}{query}"},
        {"rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", "type": JSON,
         "href": f"{base}/tileMatrixSets/{TMS_ID}"},
        {"rel": "item", "type": MVT, "templated": True,
         "href": f"{base}{prefix}/{TMS_ID}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}{query}"},
        {"rel": "describedby", "type": JSON, "href": f"{base}{prefix}/{TMS_ID}/tilejson.json{query}"},
    ]


async def _tileset(request: Request, layers: tuple[TileLayer, ...], prefix: str, title: str,
                   query: str = "") -> dict:
    service = tile_service(request)
    versions = await service.versions()
    boxes = [await service.bounds(layer, versions) for layer in layers]
    tj = tilejson(name=title, description=title, tiles_url="", layers=layers, boxes=boxes,
                  composite=prefix == "/tiles")
    return {
        "title": title,
        "dataType": "vector",
        "crs": CRS_URI,
        "tileMatrixSetURI": TMS_URI,
        "links": _tileset_links(_base(request), prefix, query),
        "boundingBox": {"lowerLeft": tj["bounds"][:2], "upperRight": tj["bounds"][2:],
                        "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
        "tileMatrixSetLimits": [{"tileMatrix": str(z)} for z in range(tj["minzoom"], tj["maxzoom"] + 1)],
        "layers": [{"id": layer.id, "title": layer.layer.title_en, "dataType": "vector",
                    "geometryDimension": {"MultiPolygon": 2, "MultiLineString": 1}.get(layer.layer.geometry_type or ""),
                    "minTileMatrix": str(v["minzoom"]), "maxTileMatrix": str(v["maxzoom"]),
                    "propertiesSchema": {"type": "object", "properties": {
                        name: {"type": "number" if kind == "Number" else "string"}
                        for name, kind in v["fields"].items()}}}
                   for layer, v in zip(layers, tj["vector_layers"], strict=True)],
    }


async def _tilejson(request: Request, layers: tuple[TileLayer, ...], prefix: str, title: str,
                    collections: str | None = None) -> Response:
    service = tile_service(request)
    versions = await service.versions()
    boxes = [await service.bounds(layer, versions) for layer in layers]
    query = f"?v={await service.data_version(layers)}"
    if collections:
        query += f"&collections={','.join(layer.id for layer in layers)}"
    url = f"{_base(request)}{prefix}/{TMS_ID}/{{z}}/{{y}}/{{x}}{query}"
    return _json(tilejson(name=title, description=title, tiles_url=url, layers=layers, boxes=boxes,
                          composite=prefix == "/tiles"))


@router.get("/tileMatrixSets", summary="Tile matrix sets offered")
async def tile_matrix_sets(request: Request) -> Response:
    base = _base(request)
    return _json({"tileMatrixSets": [{"id": TMS_ID, "title": "Google Maps Compatible for the World",
                                      "uri": TMS_URI, "links": [{"rel": "self", "type": JSON,
                                                                 "href": f"{base}/tileMatrixSets/{TMS_ID}"}]}]})


@router.get("/tileMatrixSets/{tileMatrixSetId}", summary="A tile matrix set")
async def tile_matrix_set_route(tileMatrixSetId: str) -> Response:  # noqa: N803 - OGC parameter name
    _check_tms(tileMatrixSetId)
    return _json(tile_matrix_set())


@router.get("/tiles", summary="The composite plan tilesets")
async def composite_tilesets(request: Request) -> Response:
    base = _base(request)
    return _json({"links": [{"rel": "self", "type": JSON, "href": f"{base}/tiles"}],
                  "tilesets": [{"title": "Long An plan (all layers)", "dataType": "vector", "crs": CRS_URI,
                                "tileMatrixSetURI": TMS_URI, "links": _tileset_links(base, "/tiles")}]})


@router.get("/tiles/{tileMatrixSetId}", summary="The composite plan tileset's metadata")
async def composite_tileset(request: Request, tileMatrixSetId: str,  # noqa: N803
                            collections: str | None = Query(None, description="Subset: a,b,c")) -> Response:
    _check_tms(tileMatrixSetId)
    layers = _subset(collections)
    query = f"?collections={','.join(layer.id for layer in layers)}" if collections else ""
    return _json(await _tileset(request, layers, "/tiles", "Long An plan (all layers)", query))


@router.get("/tiles/{tileMatrixSetId}/tilejson.json", summary="TileJSON 3.0 of the composite plan tileset")
async def composite_tilejson(request: Request, tileMatrixSetId: str,  # noqa: N803
                             collections: str | None = Query(None, description="Subset: a,b,c")) -> Response:
    _check_tms(tileMatrixSetId)
    return await _tilejson(request, _subset(collections), "/tiles", "Long An plan", collections)


@router.get("/tiles/{tileMatrixSetId}/{z}/{y}/{x}", summary="A composite MVT tile of every plan layer",
            responses={200: {"content": {MVT: {}}}, 204: {"description": "No feature in this tile"}})
async def composite_tile(request: Request, tileMatrixSetId: str, z: Z, y: Y, x: X,  # noqa: N803
                         collections: str | None = Query(None, description="Subset: a,b,c")) -> Response:
    _check_tms(tileMatrixSetId)
    layers = _subset(collections)
    return await _tile_response(request, tile_service(request), layers, _tile(z, y, x), composite=True)


@router.get("/collections/{collectionId}/tiles", summary="A collection's tilesets")
async def collection_tilesets(request: Request, collectionId: str) -> Response:  # noqa: N803
    layer = _collection(collectionId)
    base = _base(request)
    prefix = f"/collections/{layer.id}/tiles"
    return _json({"links": [{"rel": "self", "type": JSON, "href": f"{base}{prefix}"}],
                  "tilesets": [{"title": layer.layer.title_en, "dataType": "vector", "crs": CRS_URI,
                                "tileMatrixSetURI": TMS_URI, "links": _tileset_links(base, prefix)}]})


@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}", summary="A collection's tileset metadata")
async def collection_tileset(request: Request, collectionId: str, tileMatrixSetId: str) -> Response:  # noqa: N803
    layer = _collection(collectionId)
    _check_tms(tileMatrixSetId)
    return _json(await _tileset(request, (layer,), f"/collections/{layer.id}/tiles", layer.layer.title_en))


@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}/tilejson.json",
            summary="TileJSON 3.0 of a collection")
async def collection_tilejson(request: Request, collectionId: str, tileMatrixSetId: str) -> Response:  # noqa: N803
    layer = _collection(collectionId)
    _check_tms(tileMatrixSetId)
    return await _tilejson(request, (layer,), f"/collections/{layer.id}/tiles", layer.layer.title_en)


@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}/{z}/{y}/{x}", summary="A collection's MVT tile",
            responses={200: {"content": {MVT: {}}}, 204: {"description": "No feature in this tile"}})
async def collection_tile(request: Request, collectionId: str, tileMatrixSetId: str,  # noqa: N803
                          z: Z, y: Y, x: X) -> Response:
    layer = _collection(collectionId)
    _check_tms(tileMatrixSetId)
    return await _tile_response(request, tile_service(request), (layer,), _tile(z, y, x), composite=False)


@router.get("/pmtiles/{name}", summary="A PMTiles archive (HTTP range requests), e.g. from `lapis tiles export`",
            responses={206: {"description": "The requested byte range"}})
async def pmtiles_archive(request: Request, name: str) -> Response:
    folder = request.app.state.settings.pmtiles_path
    if not PMTILES_NAME.match(name) or not (folder / name).is_file():
        raise Problem(404, "Unknown archive", f"no PMTiles archive {name!r} in the export folder", parameter="name")
    return FileResponse(folder / name, media_type="application/vnd.pmtiles",
                        headers={"Cache-Control": "public, no-cache"})
