"""OGC API – Tiles (Mapbox Vector Tiles): tile matrix sets, per-collection tilesets, the composite plan tileset,
TileJSON. Handlers parse, call `spatial.tiles`, and shape HTTP (ETag/304, gzip, Cache-Control)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import FileResponse, Response

from app.dependencies import AsOfDep, SettingsDep, SubsetDep, TileDep, TileLayerDep, TileMatrixSetDep, TilesDep
from app.negotiate import JSON, base_url, json_response
from app.preview import Preview, PreviewDep, preview_tile_response
from app.problems import Problem
from app.tile_response import MVT, RawResponse, asof_tile_reply, tile_reply
from spatial.errors import InvalidParameter
from spatial.tiles.grid import CRS_URI, TMS_ID, TMS_URI, Tile, tile_matrix_set
from spatial.tiles.layers import TileLayer
from spatial.tiles.limits import LayerExtent, layer_min_zooms
from spatial.tiles.service import TileService
from spatial.tiles.tilejson import tilejson

router = APIRouter(tags=["tiles"])
TILES_CONF = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf"
# OGC conformance classes of the routes below (listed at /conformance)
CONFORMANCE = (
    f"{TILES_CONF}/core",
    f"{TILES_CONF}/tileset",  # tileset metadata with its tile matrix set, limits, layers and templated links
    f"{TILES_CONF}/tilesets-list",  # /tiles and /collections/{id}/tiles list the tilesets
    f"{TILES_CONF}/dataset-tilesets",  # the composite plan tileset /tiles/…
    f"{TILES_CONF}/geodata-tilesets",  # each collection's tileset /collections/{id}/tiles/…
    f"{TILES_CONF}/collections-selection",  # `collections=` on the composite tileset
    f"{TILES_CONF}/mvt",
    f"{TILES_CONF}/oas30",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
)
PMTILES_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.pmtiles$")
TILE_RESPONSES: dict[int | str, dict] = {200: {"content": {MVT: {}}}, 204: {"description": "No feature in this tile"},
                                         304: {"description": "Not modified (If-None-Match)"}}
# operationId suffixes of OGC API – Tiles (/req/oas30/operation-id): tools find the tile operations by them
OP = "lapis"
# `v=` in a tile URL is the data version TileJSON stamps it with: the same tile, cacheable for good when current
Version = Annotated[str | None, Query(description="Data version the URL was made for (TileJSON's tile URL has "
                                                  "it): the answer is then cacheable as immutable")]


async def _tile_response(request: Request, service: TileService, layers: tuple[TileLayer, ...], tile: Tile,
                         *, composite: bool, version: str | None, preview: Preview | None = None,
                         asof: datetime | None = None) -> Response:
    if preview is not None and preview.proposal is not None:
        if asof is not None:
            raise InvalidParameter("asof: a proposal's preview is of the plan as it is now", parameter="asof")
        return await preview_tile_response(request, service, layers, tile, composite, preview)
    if asof is not None:  # the plan then: from the history, never the tile cache (the fast path leaves these here)
        return RawResponse(*await asof_tile_reply(service, layers, tile, asof, composite=composite,
                                                  accept_encoding=request.headers.get("accept-encoding", ""),
                                                  if_none_match=request.headers.get("if-none-match")))
    return RawResponse(*await tile_reply(service, layers, tile, composite=composite, version=version,
                                         accept_encoding=request.headers.get("accept-encoding", ""),
                                         if_none_match=request.headers.get("if-none-match")))


def _listed_tileset_links(base: str, prefix: str, query: str = "") -> list[dict]:
    """A tileset as a tilesets list gives it: its metadata (self) and its tile matrix set (tiling-scheme)."""
    return [
        {"rel": "self", "type": JSON, "href": f"{base}{prefix}/{TMS_ID}{query}"},
        {"rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", "type": JSON,
         "href": f"{base}/tileMatrixSets/{TMS_ID}"},
    ]


def _tileset_links(base: str, prefix: str, query: str = "") -> list[dict]:
    """A tileset's metadata links: those, the tile URL template and the TileJSON."""
    return [
        *_listed_tileset_links(base, prefix, query),
        {"rel": "item", "type": MVT, "templated": True,
         "href": f"{base}{prefix}/{TMS_ID}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}{query}"},
        {"rel": "describedby", "type": JSON, "href": f"{base}{prefix}/{TMS_ID}/tilejson.json{query}"},
    ]


async def _extents(service: TileService, layers: tuple[TileLayer, ...]) -> list[LayerExtent]:
    versions = await service.versions()
    return [await service.extent(layer, versions) for layer in layers]


def _min_zooms(service: TileService, layers: tuple[TileLayer, ...], extents: list[LayerExtent],
               composite: bool) -> list[int]:
    return layer_min_zooms(layers, extents, composite=composite, min_feature_px=service.min_feature_px)


async def _tileset(request: Request, service: TileService, layers: tuple[TileLayer, ...], prefix: str, title: str,
                   query: str = "") -> dict:
    composite = prefix == "/tiles"
    extents = await _extents(service, layers)
    tj = tilejson(name=title, description=title, tiles_url="", layers=layers, boxes=[e.box for e in extents],
                  composite=composite, min_zooms=_min_zooms(service, layers, extents, composite))
    limits = await service.limits(layers, composite=composite)
    return {
        "title": title,
        "dataType": "vector",
        "crs": CRS_URI,
        "tileMatrixSetURI": TMS_URI,
        "links": _tileset_links(base_url(request), prefix, query),
        "boundingBox": {"lowerLeft": tj["bounds"][:2], "upperRight": tj["bounds"][2:],
                        "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
        "tileMatrixSetLimits": limits.matrix_limits(),
        "layers": [{"id": layer.id, "title": layer.layer.title_en, "dataType": "vector",
                    "geometryDimension": {"MultiPolygon": 2, "MultiLineString": 1}.get(layer.layer.geometry_type or ""),
                    "minTileMatrix": str(v["minzoom"]), "maxTileMatrix": str(v["maxzoom"]),
                    "propertiesSchema": {"type": "object", "properties": {
                        name: {"type": "number" if kind == "Number" else "string"}
                        for name, kind in v["fields"].items()}}}
                   for layer, v in zip(layers, tj["vector_layers"], strict=True)],
    }


async def _tilejson(request: Request, service: TileService, layers: tuple[TileLayer, ...], prefix: str, title: str,
                    subset_param: str = "") -> Response:
    composite = prefix == "/tiles"
    extents = await _extents(service, layers)
    query = f"?v={await service.data_version(layers)}" + (f"&{subset_param}" if subset_param else "")
    url = f"{base_url(request)}{prefix}/{TMS_ID}/{{z}}/{{y}}/{{x}}{query}"
    return json_response(tilejson(name=title, description=title, tiles_url=url, layers=layers,
                                  boxes=[e.box for e in extents], composite=composite,
                                  min_zooms=_min_zooms(service, layers, extents, composite)))


@router.get("/tileMatrixSets", summary="Tile matrix sets offered", operation_id="getTileMatrixSetsList")
async def tile_matrix_sets(request: Request) -> Response:
    base = base_url(request)
    self_link = {"rel": "self", "type": JSON, "href": f"{base}/tileMatrixSets/{TMS_ID}"}
    return json_response({"tileMatrixSets": [{"id": TMS_ID, "title": "Google Maps Compatible for the World",
                                              "uri": TMS_URI, "links": [self_link]}]})


@router.get("/tileMatrixSets/{tileMatrixSetId}", summary="A tile matrix set", operation_id="getTileMatrixSet")
async def tile_matrix_set_route(_tms: TileMatrixSetDep) -> Response:
    return json_response(tile_matrix_set())


@router.get("/tiles", summary="The composite plan tilesets", operation_id=f"{OP}.dataset.vector.getTileSetsList")
async def composite_tilesets(request: Request) -> Response:
    base = base_url(request)
    return json_response({"links": [{"rel": "self", "type": JSON, "href": f"{base}/tiles"}],
                          "tilesets": [{"title": "Long An plan (all layers)", "dataType": "vector", "crs": CRS_URI,
                                        "tileMatrixSetURI": TMS_URI,
                                        "links": _listed_tileset_links(base, "/tiles")}]})


@router.get("/tiles/{tileMatrixSetId}", summary="The composite plan tileset's metadata",
            operation_id=f"{OP}.dataset.vector.getTileSet")
async def composite_tileset(request: Request, _tms: TileMatrixSetDep, subset: SubsetDep,
                            service: TilesDep) -> Response:
    query = f"?{subset.param}" if subset.param else ""
    return json_response(await _tileset(request, service, subset.layers, "/tiles", "Long An plan (all layers)", query))


@router.get("/tiles/{tileMatrixSetId}/tilejson.json", summary="TileJSON 3.0 of the composite plan tileset")
async def composite_tilejson(request: Request, _tms: TileMatrixSetDep, subset: SubsetDep,
                             service: TilesDep) -> Response:
    return await _tilejson(request, service, subset.layers, "/tiles", "Long An plan", subset.param)


# A tile URL may also end in .mvt or .pbf (what GDAL's MVT driver and other tools expect of a tile file): the same
# tile, unlisted in the API definition; the tile fast path takes these URLs too.
@router.get("/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
            summary="A composite MVT tile of every plan layer (or of the `collections` named, in their order)",
            response_class=Response, responses=TILE_RESPONSES, operation_id=f"{OP}.dataset.vector.getTile")
@router.get("/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}.mvt", include_in_schema=False)
@router.get("/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}.pbf", include_in_schema=False)
async def composite_tile(request: Request, subset: SubsetDep, tile: TileDep, service: TilesDep,
                         preview: PreviewDep, asof: AsOfDep,
                         v: Version = None) -> Response:
    return await _tile_response(request, service, subset.layers, tile, composite=True, version=v,
                                preview=preview, asof=asof)


@router.get("/collections/{collectionId}/tiles", summary="A collection's tilesets",
            operation_id=f"{OP}.collection.vector.getTileSetsList")
async def collection_tilesets(request: Request, layer: TileLayerDep) -> Response:
    base = base_url(request)
    prefix = f"/collections/{layer.id}/tiles"
    return json_response({"links": [{"rel": "self", "type": JSON, "href": f"{base}{prefix}"}],
                          "tilesets": [{"title": layer.layer.title_en, "dataType": "vector", "crs": CRS_URI,
                                        "tileMatrixSetURI": TMS_URI,
                                        "links": _listed_tileset_links(base, prefix)}]})


@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}", summary="A collection's tileset metadata",
            operation_id=f"{OP}.collection.vector.getTileSet")
async def collection_tileset(request: Request, layer: TileLayerDep, _tms: TileMatrixSetDep,
                             service: TilesDep) -> Response:
    prefix = f"/collections/{layer.id}/tiles"
    return json_response(await _tileset(request, service, (layer,), prefix, layer.layer.title_en))


@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}/tilejson.json",
            summary="TileJSON 3.0 of a collection")
async def collection_tilejson(request: Request, layer: TileLayerDep, _tms: TileMatrixSetDep,
                              service: TilesDep) -> Response:
    return await _tilejson(request, service, (layer,), f"/collections/{layer.id}/tiles", layer.layer.title_en)


@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
            summary="A collection's MVT tile", response_class=Response, responses=TILE_RESPONSES,
            operation_id=f"{OP}.collection.vector.getTile")
@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}.mvt",
            include_in_schema=False)
@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}.pbf",
            include_in_schema=False)
async def collection_tile(request: Request, layer: TileLayerDep, tile: TileDep, service: TilesDep,
                          preview: PreviewDep, asof: AsOfDep,
                         v: Version = None) -> Response:
    return await _tile_response(request, service, (layer,), tile, composite=False, version=v,
                                preview=preview, asof=asof)


@router.get("/pmtiles/{name}", summary="A PMTiles archive (HTTP range requests), e.g. from `lapis tiles export`",
            responses={206: {"description": "The requested byte range"}})
async def pmtiles_archive(name: str, settings: SettingsDep) -> Response:
    folder = settings.pmtiles_path
    if not PMTILES_NAME.match(name) or not (folder / name).is_file():
        raise Problem(404, "Unknown archive", f"no PMTiles archive {name!r} in the export folder", parameter="name")
    return FileResponse(folder / name, media_type="application/vnd.pmtiles",
                        headers={"Cache-Control": "public, no-cache"})
