"""OGC API – Tiles (Mapbox Vector Tiles): tile matrix sets, per-collection tilesets, the composite plan tileset,
TileJSON. Handlers parse, call `spatial.tiles`, and shape HTTP (ETag/304, gzip, Cache-Control)."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, Response

from app.dependencies import SettingsDep, SubsetDep, TileDep, TileLayerDep, TileMatrixSetDep, TilesDep
from app.negotiate import JSON, base_url, json_response
from app.preview import Preview, PreviewDep, preview_tile_response
from app.problems import Problem
from app.tile_response import MVT, RawResponse, tile_reply
from spatial.tiles.grid import CRS_URI, TMS_ID, TMS_URI, Tile, tile_matrix_limits, tile_matrix_set
from spatial.tiles.layers import TileLayer
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
TILE_RESPONSES: dict[int | str, dict] = {200: {"content": {MVT: {}}}, 204: {"description": "No feature in this tile"}}


async def _tile_response(request: Request, service: TileService, layers: tuple[TileLayer, ...], tile: Tile,
                         *, composite: bool, preview: Preview | None = None) -> Response:
    if preview is not None and preview.proposal is not None:
        return await preview_tile_response(request, service, layers, tile, composite, preview)
    return RawResponse(*await tile_reply(service, layers, tile, composite=composite,
                                         version=request.query_params.get("v"),
                                         accept_encoding=request.headers.get("accept-encoding", ""),
                                         if_none_match=request.headers.get("if-none-match")))


def _tileset_links(base: str, prefix: str, query: str = "") -> list[dict]:
    return [
        {"rel": "self", "type": JSON, "href": f"{base}{prefix}/{TMS_ID}{query}"},
        {"rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", "type": JSON,
         "href": f"{base}/tileMatrixSets/{TMS_ID}"},
        {"rel": "item", "type": MVT, "templated": True,
         "href": f"{base}{prefix}/{TMS_ID}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}{query}"},
        {"rel": "describedby", "type": JSON, "href": f"{base}{prefix}/{TMS_ID}/tilejson.json{query}"},
    ]


async def _tileset(request: Request, service: TileService, layers: tuple[TileLayer, ...], prefix: str, title: str,
                   query: str = "") -> dict:
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
        "tileMatrixSetLimits": tile_matrix_limits(_union(boxes), range(tj["minzoom"], tj["maxzoom"] + 1)),
        "layers": [{"id": layer.id, "title": layer.layer.title_en, "dataType": "vector",
                    "geometryDimension": {"MultiPolygon": 2, "MultiLineString": 1}.get(layer.layer.geometry_type or ""),
                    "minTileMatrix": str(v["minzoom"]), "maxTileMatrix": str(v["maxzoom"]),
                    "propertiesSchema": {"type": "object", "properties": {
                        name: {"type": "number" if kind == "Number" else "string"}
                        for name, kind in v["fields"].items()}}}
                   for layer, v in zip(layers, tj["vector_layers"], strict=True)],
    }


def _union(boxes: list) -> tuple[float, float, float, float] | None:
    present = [b for b in boxes if b is not None]
    if not present:
        return None
    return (min(b[0] for b in present), min(b[1] for b in present), max(b[2] for b in present),
            max(b[3] for b in present))


async def _tilejson(request: Request, service: TileService, layers: tuple[TileLayer, ...], prefix: str, title: str,
                    subset_param: str = "") -> Response:
    versions = await service.versions()
    boxes = [await service.bounds(layer, versions) for layer in layers]
    query = f"?v={await service.data_version(layers)}" + (f"&{subset_param}" if subset_param else "")
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
async def tile_matrix_set_route(_tms: TileMatrixSetDep) -> Response:
    return json_response(tile_matrix_set())


@router.get("/tiles", summary="The composite plan tilesets")
async def composite_tilesets(request: Request) -> Response:
    base = base_url(request)
    return json_response({"links": [{"rel": "self", "type": JSON, "href": f"{base}/tiles"}],
                          "tilesets": [{"title": "Long An plan (all layers)", "dataType": "vector", "crs": CRS_URI,
                                        "tileMatrixSetURI": TMS_URI, "links": _tileset_links(base, "/tiles")}]})


@router.get("/tiles/{tileMatrixSetId}", summary="The composite plan tileset's metadata")
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
@router.get("/tiles/{tileMatrixSetId}/{z}/{y}/{x}", summary="A composite MVT tile of every plan layer",
            responses=TILE_RESPONSES)
@router.get("/tiles/{tileMatrixSetId}/{z}/{y}/{x}.mvt", include_in_schema=False)
@router.get("/tiles/{tileMatrixSetId}/{z}/{y}/{x}.pbf", include_in_schema=False)
async def composite_tile(request: Request, subset: SubsetDep, tile: TileDep, service: TilesDep,
                         preview: PreviewDep) -> Response:
    return await _tile_response(request, service, subset.layers, tile, composite=True, preview=preview)


@router.get("/collections/{collectionId}/tiles", summary="A collection's tilesets")
async def collection_tilesets(request: Request, layer: TileLayerDep) -> Response:
    base = base_url(request)
    prefix = f"/collections/{layer.id}/tiles"
    return json_response({"links": [{"rel": "self", "type": JSON, "href": f"{base}{prefix}"}],
                          "tilesets": [{"title": layer.layer.title_en, "dataType": "vector", "crs": CRS_URI,
                                        "tileMatrixSetURI": TMS_URI, "links": _tileset_links(base, prefix)}]})


@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}", summary="A collection's tileset metadata")
async def collection_tileset(request: Request, layer: TileLayerDep, _tms: TileMatrixSetDep,
                             service: TilesDep) -> Response:
    prefix = f"/collections/{layer.id}/tiles"
    return json_response(await _tileset(request, service, (layer,), prefix, layer.layer.title_en))


@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}/tilejson.json",
            summary="TileJSON 3.0 of a collection")
async def collection_tilejson(request: Request, layer: TileLayerDep, _tms: TileMatrixSetDep,
                              service: TilesDep) -> Response:
    return await _tilejson(request, service, (layer,), f"/collections/{layer.id}/tiles", layer.layer.title_en)


@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}/{z}/{y}/{x}", summary="A collection's MVT tile",
            responses=TILE_RESPONSES)
@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}/{z}/{y}/{x}.mvt", include_in_schema=False)
@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}/{z}/{y}/{x}.pbf", include_in_schema=False)
async def collection_tile(request: Request, layer: TileLayerDep, tile: TileDep, service: TilesDep,
                          preview: PreviewDep) -> Response:
    return await _tile_response(request, service, (layer,), tile, composite=False, preview=preview)


@router.get("/pmtiles/{name}", summary="A PMTiles archive (HTTP range requests), e.g. from `lapis tiles export`",
            responses={206: {"description": "The requested byte range"}})
async def pmtiles_archive(name: str, settings: SettingsDep) -> Response:
    folder = settings.pmtiles_path
    if not PMTILES_NAME.match(name) or not (folder / name).is_file():
        raise Problem(404, "Unknown archive", f"no PMTiles archive {name!r} in the export folder", parameter="name")
    return FileResponse(folder / name, media_type="application/vnd.pmtiles",
                        headers={"Cache-Control": "public, no-cache"})
