"""OGC API – Tiles (Mapbox Vector Tiles): tile matrix sets, per-collection tilesets, the composite plan tileset,
TileJSON. Handlers parse, call `spatial.tiles`, and shape HTTP (ETag/304, gzip, Cache-Control)."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Path, Query, Request
from starlette.applications import Starlette
from starlette.responses import FileResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.negotiate import JSON, base_url, json_response
from app.problems import Problem
from spatial.pool import Database
from spatial.tiles.cache import RenderedTile
from spatial.tiles.grid import CRS_URI, TMS_ID, TMS_URI, Tile, TileOutOfRange, tile_matrix_set
from spatial.tiles.layers import TileLayer
from spatial.tiles.service import TILE_SERVER_SETTINGS, TileService, UnknownTileLayer
from spatial.tiles.tilejson import tilejson
from spatial.tiles.versions import version_tag

router = APIRouter(tags=["tiles"])
MVT = "application/vnd.mapbox-vector-tile"
PMTILES_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.pmtiles$")
Z = Annotated[int, Path(description="Zoom level (tileMatrix)")]
Y = Annotated[int, Path(description="Row (tileRow)")]
X = Annotated[int, Path(description="Column (tileCol)")]


def tile_service(request: Request) -> TileService:
    return service_of(request.app)


def service_of(app: Starlette) -> TileService:
    """The app's TileService, made on first use from its settings, with a pool of its own that plans each tile
    query for its own zoom (the best index differs between a z8 and a z14 tile) and skips the per-release reset."""
    service = getattr(app.state, "tiles", None)
    if service is None:
        settings = app.state.settings
        db = Database(app.state.db.url, min_size=1, max_size=settings.pool_max_size,
                      statement_timeout_ms=settings.statement_timeout_ms,
                      server_settings=TILE_SERVER_SETTINGS, reset_on_release=False)
        service = TileService(db, cache=settings.tile_cache_enabled,
                              cache_size=settings.tile_cache_size,
                              cache_dir=settings.tile_cache_dir if settings.tile_cache_enabled else None,
                              min_feature_px=settings.tile_min_feature_px,
                              max_features=settings.tile_max_features,
                              cap_order=settings.tile_cap_order,
                              registry=app.state.registry)
        app.state.tiles = service
    return service


def _check_tms(tile_matrix_set_id: str) -> None:
    if tile_matrix_set_id != TMS_ID:
        raise Problem(404, "Unknown tile matrix set", f"only {TMS_ID} is offered", parameter="tileMatrixSetId")


def _collection(request: Request, collection_id: str) -> TileLayer:
    try:
        return tile_service(request).tile_layers([collection_id])[0]
    except UnknownTileLayer as exc:
        raise Problem(404, "Unknown collection", str(exc), parameter="collectionId") from None


def _subset(request: Request, collections: str | None) -> tuple[TileLayer, ...]:
    ids = [c.strip() for c in collections.split(",") if c.strip()] if collections else []
    try:
        return tile_service(request).tile_layers(ids)
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


Headers = list[tuple[bytes, bytes]]
_VARY = (b"vary", b"accept-encoding")
_MVT_TYPE = (b"content-type", MVT.encode())
_GZIP = (b"content-encoding", b"gzip")
_IMMUTABLE = (b"cache-control", b"public, max-age=31536000, immutable")
_REVALIDATE = (b"cache-control", b"public, no-cache")


async def tile_reply(service: TileService, layers: tuple[TileLayer, ...], tile: Tile, *, composite: bool,
                     version: str | None, accept_encoding: str, if_none_match: str | None
                     ) -> tuple[int, Headers, bytes]:
    """(status, headers, body) of a tile request. With the cache on, the data versions read for this request key
    the cache and tag the response (X-Data-Version; `v=` equal to it makes the response immutable); with it off,
    no version is read at all and every tile comes straight from the database."""
    if service.cache is not None:
        versions = await service.versions()
        rendered = await service.render(layers, tile, composite=composite, versions=versions)
        current = version_tag(versions, [layer.id for layer in layers])
        headers = [_IMMUTABLE if version == current else _REVALIDATE, _VARY, (b"x-data-version", current.encode())]
    else:
        rendered = await service.render_fresh(layers, tile, composite=composite)
        headers = [_REVALIDATE, _VARY]
    gzip_ok = "gzip" in accept_encoding.lower()
    headers.append((b"etag", (_gzip_etag(rendered) if gzip_ok and not rendered.empty else rendered.etag).encode()))
    if _etag_matches(if_none_match, rendered):
        return 304, headers, b""
    if rendered.empty:
        return 204, headers, b""
    body = rendered.gzipped if gzip_ok else rendered.data
    if gzip_ok:
        headers.append(_GZIP)
    headers += [_MVT_TYPE, (b"content-length", str(len(body)).encode())]
    return 200, headers, body


class RawResponse(Response):
    """A response whose status, header list and body are already made (no header re-encoding)."""

    def __init__(self, status: int, headers: Headers, body: bytes) -> None:
        self.status_code = status
        self.raw_headers = headers
        self.body = body
        self.background = None


async def _tile_response(request: Request, service: TileService, layers: tuple[TileLayer, ...], tile: Tile,
                         *, composite: bool) -> Response:
    return RawResponse(*await tile_reply(service, layers, tile, composite=composite,
                                         version=request.query_params.get("v"),
                                         accept_encoding=request.headers.get("accept-encoding", ""),
                                         if_none_match=request.headers.get("if-none-match")))


# A well-formed tile request: the composite tileset or one collection's, WebMercatorQuad, decimal z/y/x.
FAST_TILE_PATH = re.compile(rf"^/(?:collections/([A-Za-z0-9_]+)/)?tiles/{TMS_ID}/(\d{{1,2}})/(\d{{1,9}})/(\d{{1,9}})$")


class TileFastPath:
    """Serves well-formed GET tile requests before FastAPI's routing, dependency injection and middleware stack
    (measured: a sizeable share of a tile's server time). Anything it does not fully understand — another method,
    an unknown collection, a tile out of range, a bad `collections` list — goes on to the FastAPI routes below,
    which answer it (problem+json and all); the routes stay the documented API. Errors while rendering go
    through the app's own exception handlers, exactly as from a route."""

    def __init__(self, app: ASGIApp, lapis: Starlette) -> None:
        self.app = app
        self.lapis = lapis

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or (
                match := FAST_TILE_PATH.match(scope["path"])) is None:
            return await self.app(scope, receive, send)
        collection, z, y, x = match.groups()
        query = parse_qs(scope["query_string"].decode("latin-1")) if scope["query_string"] else {}
        service = service_of(self.lapis)
        try:
            tile = Tile(int(z), int(x), int(y))
            if collection is not None:
                layers = service.tile_layers([collection])
            else:
                ids = [c.strip() for c in query.get("collections", [""])[-1].split(",") if c.strip()]
                layers = service.tile_layers(ids)
        except (TileOutOfRange, UnknownTileLayer):
            return await self.app(scope, receive, send)
        accept_encoding, if_none_match = "", None
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                accept_encoding = value.decode("latin-1")
            elif name == b"if-none-match":
                if_none_match = value.decode("latin-1")
        try:
            status, headers, body = await tile_reply(
                service, layers, tile, composite=collection is None,
                version=query.get("v", [None])[-1], accept_encoding=accept_encoding, if_none_match=if_none_match)
        except Exception as exc:
            handler = next((h for cls in type(exc).__mro__
                            if (h := self.lapis.exception_handlers.get(cls)) is not None), None)
            if handler is None:
                raise
            response = await handler(Request(scope, receive), exc)
            return await response(scope, receive, send)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def install_fast_path(app: Starlette) -> None:
    """Put TileFastPath in front of the app's routes (outermost but for Starlette's error middleware)."""
    app.add_middleware(TileFastPath, lapis=app)


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
        "links": _tileset_links(base_url(request), prefix, query),
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
    url = f"{base_url(request)}{prefix}/{TMS_ID}/{{z}}/{{y}}/{{x}}{query}"
    return json_response(tilejson(name=title, description=title, tiles_url=url, layers=layers, boxes=boxes,
                                  composite=prefix == "/tiles"))


@router.get("/tileMatrixSets", summary="Tile matrix sets offered")
async def tile_matrix_sets(request: Request) -> Response:
    base = base_url(request)
    self_link = {"rel": "self", "type": JSON, "href": f"{base}/tileMatrixSets/{TMS_ID}"}
    return json_response({"tileMatrixSets": [{"id": TMS_ID, "title": "Google Maps Compatible for the World",
                                              "uri": TMS_URI, "links": [self_link]}]})


@router.get("/tileMatrixSets/{tileMatrixSetId}", summary="A tile matrix set")
async def tile_matrix_set_route(tileMatrixSetId: str) -> Response:  # noqa: N803 - OGC parameter name
    _check_tms(tileMatrixSetId)
    return json_response(tile_matrix_set())


@router.get("/tiles", summary="The composite plan tilesets")
async def composite_tilesets(request: Request) -> Response:
    base = base_url(request)
    return json_response({"links": [{"rel": "self", "type": JSON, "href": f"{base}/tiles"}],
                          "tilesets": [{"title": "Long An plan (all layers)", "dataType": "vector", "crs": CRS_URI,
                                        "tileMatrixSetURI": TMS_URI, "links": _tileset_links(base, "/tiles")}]})


@router.get("/tiles/{tileMatrixSetId}", summary="The composite plan tileset's metadata")
async def composite_tileset(request: Request, tileMatrixSetId: str,  # noqa: N803
                            collections: str | None = Query(None, description="Subset: a,b,c")) -> Response:
    _check_tms(tileMatrixSetId)
    layers = _subset(request, collections)
    query = f"?collections={','.join(layer.id for layer in layers)}" if collections else ""
    return json_response(await _tileset(request, layers, "/tiles", "Long An plan (all layers)", query))


@router.get("/tiles/{tileMatrixSetId}/tilejson.json", summary="TileJSON 3.0 of the composite plan tileset")
async def composite_tilejson(request: Request, tileMatrixSetId: str,  # noqa: N803
                             collections: str | None = Query(None, description="Subset: a,b,c")) -> Response:
    _check_tms(tileMatrixSetId)
    return await _tilejson(request, _subset(request, collections), "/tiles", "Long An plan", collections)


@router.get("/tiles/{tileMatrixSetId}/{z}/{y}/{x}", summary="A composite MVT tile of every plan layer",
            responses={200: {"content": {MVT: {}}}, 204: {"description": "No feature in this tile"}})
async def composite_tile(request: Request, tileMatrixSetId: str, z: Z, y: Y, x: X,  # noqa: N803
                         collections: str | None = Query(None, description="Subset: a,b,c")) -> Response:
    _check_tms(tileMatrixSetId)
    layers = _subset(request, collections)
    return await _tile_response(request, tile_service(request), layers, _tile(z, y, x), composite=True)


@router.get("/collections/{collectionId}/tiles", summary="A collection's tilesets")
async def collection_tilesets(request: Request, collectionId: str) -> Response:  # noqa: N803
    layer = _collection(request, collectionId)
    base = base_url(request)
    prefix = f"/collections/{layer.id}/tiles"
    return json_response({"links": [{"rel": "self", "type": JSON, "href": f"{base}{prefix}"}],
                          "tilesets": [{"title": layer.layer.title_en, "dataType": "vector", "crs": CRS_URI,
                                        "tileMatrixSetURI": TMS_URI, "links": _tileset_links(base, prefix)}]})


@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}", summary="A collection's tileset metadata")
async def collection_tileset(request: Request, collectionId: str, tileMatrixSetId: str) -> Response:  # noqa: N803
    layer = _collection(request, collectionId)
    _check_tms(tileMatrixSetId)
    return json_response(await _tileset(request, (layer,), f"/collections/{layer.id}/tiles", layer.layer.title_en))


@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}/tilejson.json",
            summary="TileJSON 3.0 of a collection")
async def collection_tilejson(request: Request, collectionId: str, tileMatrixSetId: str) -> Response:  # noqa: N803
    layer = _collection(request, collectionId)
    _check_tms(tileMatrixSetId)
    return await _tilejson(request, (layer,), f"/collections/{layer.id}/tiles", layer.layer.title_en)


@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}/{z}/{y}/{x}", summary="A collection's MVT tile",
            responses={200: {"content": {MVT: {}}}, 204: {"description": "No feature in this tile"}})
async def collection_tile(request: Request, collectionId: str, tileMatrixSetId: str,  # noqa: N803
                          z: Z, y: Y, x: X) -> Response:
    layer = _collection(request, collectionId)
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
