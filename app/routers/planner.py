"""Planner queries over HTTP: GET/POST /locate, POST /classify, GET /search. Parsing and responses only;
the queries are in `spatial.queries` (one statement each, JSON built by PostgreSQL)."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path as FilePath
from typing import IO, Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from app.bodies import JSON_BODY, json_body, media_type, multipart_file, receive_body
from app.dependencies import (
    AsOfDep,
    PlannerDatabaseDep,
    RegistryDep,
    SettingsDep,
    UploadDatabaseDep,
    crs_parameter,
    optional_crs_parameter,
)
from app.negotiate import CSV, GEOJSON, JSON, output_format
from app.problems import Problem
from spatial.crs import SupportedCrs, parse_crs
from spatial.errors import UnsupportedFormat
from spatial.io.sources import ZipLimits
from spatial.queries import classify_input, locate, search
from spatial.queries.classify import classify_stream
from spatial.settings import Settings

router = APIRouter(tags=["planner"])
BodyCrs = Annotated[SupportedCrs, Depends(crs_parameter("CRS of the body's coordinates (OGC URI); default CRS84"))]
InputCrs = Annotated[SupportedCrs | None, Depends(optional_crs_parameter(
    "CRS of the input when it does not say (OGC URI)"))]
ClassifyFormat = Annotated[str, Depends(output_format(("geojson", "json", "csv"), "geojson (default) or csv"))]

LOCATE_EXAMPLE = {
    "point": {"lon": 106.41, "lat": 10.535},
    "admin_units": [{"id": 2, "code": "794", "name_vi": "Tân An", "name_en": "Tan An City", "level": "district",
                     "gso_code": "794"}],
    "zones": [{"id": 1, "code": "R1", "name_vi": "Vùng đô thị và công nghiệp", "name_en": "Urban and industrial region",
               "kind": "region"}],
    "corridors": [],
    "nearest_axis": {"id": 3, "code": "TDL3", "name_vi": "Trục động lực song hành quốc lộ 62",
                     "name_en": "Axis parallel to NH62", "distance_m": 3702.3},
    "projects": [{"id": 9, "code": "DA-QL62", "name_vi": "Nâng cấp Quốc lộ 62", "name_en": "National Road 62 upgrade",
                  "category": "national_road", "status": "planned", "distance_m": 553.1}],
    "radius_m": 2000,
}
POLYGON_EXAMPLE = {"type": "Polygon", "coordinates": [[[106.40, 10.50], [106.45, 10.50], [106.45, 10.55],
                                                       [106.40, 10.55], [106.40, 10.50]]]}
POSITION = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 3}
POLYGON_SCHEMA = {
    "type": "object", "required": ["type", "coordinates"],
    "properties": {"type": {"type": "string", "enum": ["Polygon"]},
                   "coordinates": {"type": "array", "minItems": 1,
                                   "items": {"type": "array", "minItems": 4, "items": POSITION}}},
}
FEATURE_COLLECTION_SCHEMA = {
    "type": "object", "required": ["type", "features"],
    "properties": {"type": {"type": "string", "enum": ["FeatureCollection"]},
                   "features": {"type": "array", "minItems": 1, "items": {
                       "type": "object", "required": ["type", "geometry"],
                       "properties": {"type": {"type": "string", "enum": ["Feature"]},
                                      "properties": {"type": "object"}, "geometry": POLYGON_SCHEMA}}}},
}


@dataclass(frozen=True)
class PointQuery:
    x: float  # first axis of `crs` (latitude for EPSG:4326)
    y: float
    crs: SupportedCrs
    radius: float  # metres, for nearby projects


def point_query(
    lon: float = Query(..., description="Longitude (or easting in a projected crs)", allow_inf_nan=False),
    lat: float = Query(..., description="Latitude (or northing in a projected crs)", allow_inf_nan=False),
    crs: str | None = Query(None, description="CRS of lon/lat (OGC URI); default CRS84; e.g. EPSG 9210"),
    radius: float = Query(locate.DEFAULT_RADIUS_M, ge=locate.MIN_RADIUS_M, le=locate.MAX_RADIUS_M,
                          allow_inf_nan=False, description="Radius for nearby projects, metres"),
) -> PointQuery:
    """GET /locate's parameters: a point in the CRS's own axis order, and the search radius. Coordinates are
    rounded to 12 decimals (far below a millimetre): a subnormal number such as 5e-324 would make PostgreSQL's
    arithmetic on it underflow, an error for a point that is simply 0."""
    point_crs = parse_crs(crs, "crs")
    x, y = (round(lat, 12), round(lon, 12)) if point_crs.lat_first else (round(lon, 12), round(lat, 12))
    return PointQuery(x, y, point_crs, radius)


def _json_text(text: str) -> Response:
    return Response(text.encode(), media_type=JSON)


@router.get("/locate", summary="What contains a point, the nearest axis and the projects nearby",
            response_class=Response,
            responses={200: {"content": {JSON: {"example": LOCATE_EXAMPLE}},
                             "description": "admin_units (district first, then province), zones (regions, centre, "
                                            "others), corridors, nearest_axis {distance_m}, projects within "
                                            "radius_m {distance_m}; distances on the ellipsoid"}})
async def locate_get(point: Annotated[PointQuery, Depends(point_query)], db: PlannerDatabaseDep,
                     asof: AsOfDep) -> Response:
    async with db.acquire() as conn:
        return _json_text(await locate.locate_point(conn, point.x, point.y, point.crs, point.radius, asof))


@router.post("/locate", summary="Overlap of a parcel with admin units, zones and corridors",
             response_class=Response,
             openapi_extra={"requestBody": {"required": True, "content": {
                 GEOJSON: {"schema": POLYGON_SCHEMA, "example": POLYGON_EXAMPLE},
                 JSON: {"schema": POLYGON_SCHEMA, "example": POLYGON_EXAMPLE}}}},
             responses={200: {"content": {JSON: {}}, "description": "area_m2 (ellipsoid), overlaps sorted by "
                              "share_pct {layer, code, kind, area_m2, share_pct}, primary_region, "
                              "primary_admin_unit"}})
async def locate_post(request: Request, crs: BodyCrs, settings: SettingsDep, db: PlannerDatabaseDep,
                      asof: AsOfDep) -> Response:
    geom = await json_body(request, settings.upload_max_bytes, partial(locate.parcel_geometry, crs=crs))
    async with db.acquire() as conn:
        return _json_text(await locate.locate_geometry(conn, geom, crs, asof))


async def classify_body(request: Request, settings: SettingsDep, crs: InputCrs) -> classify_input.ClassifyInput:
    """The features to classify, from a GeoJSON body or an uploaded file (at most `classify_max_features`), read in
    a worker thread when big."""
    media, cap = media_type(request), settings.classify_max_features
    if media == "multipart/form-data":
        return await _read_upload(request, settings, cap, crs)
    if media in JSON_BODY:
        return await json_body(request, settings.upload_max_bytes, partial(
            classify_input.from_feature_collection, crs=crs or parse_crs(None), max_features=cap))
    raise UnsupportedFormat("body: send a GeoJSON FeatureCollection "
                  "(application/geo+json) or a file (multipart/form-data, field 'file')", parameter="Content-Type")


@router.post("/classify", summary="Classify many parcels: admin unit, primary region and shares for each",
             response_class=StreamingResponse,
             openapi_extra={"requestBody": {"required": True, "content": {
                 GEOJSON: {"schema": FEATURE_COLLECTION_SCHEMA},
                 "multipart/form-data": {"schema": {"type": "object", "properties": {
                     "file": {"type": "string", "format": "binary",
                              "description": "zipped shapefile, GeoPackage or GeoJSON"}}}}}}},
             responses={200: {"content": {GEOJSON: {}, CSV: {}},
                              "description": "each input feature with lapis_admin_code/name, lapis_region_code/"
                                             "name/share_pct, lapis_centre, lapis_corridors, lapis_shares"}})
async def classify(fmt: ClassifyFormat, data: Annotated[classify_input.ClassifyInput, Depends(classify_body)],
                   db: UploadDatabaseDep) -> StreamingResponse:
    fmt = "csv" if fmt == "csv" else "geojson"

    async def chunks() -> AsyncIterator[bytes]:
        async with db.acquire() as conn:
            async for chunk in classify_stream(conn, data, fmt):
                yield chunk

    stream = chunks()
    first = await stream.__anext__()  # database errors surface here, before the response starts

    async def rest() -> AsyncIterator[bytes]:
        yield first
        async for chunk in stream:
            yield chunk

    return StreamingResponse(rest(), media_type=CSV if fmt == "csv" else GEOJSON)


async def _read_upload(request: Request, settings: Settings, cap: int, in_crs: SupportedCrs | None
                       ) -> classify_input.ClassifyInput:
    """The multipart body is received within the upload limit (into a temporary file past the spooling threshold);
    its 'file' part is then written out, extracted and read in a worker thread, within the archive limits: the event
    loop only moves bytes."""
    limits = ZipLimits(settings.upload_max_extracted_bytes, settings.upload_max_members, settings.upload_max_ratio)
    body, _ = await receive_body(request, settings.upload_max_bytes, "file")
    content_type = request.headers.get("content-type", "")
    return await run_in_threadpool(_read_upload_file, body, content_type, cap, in_crs, limits)


def _read_upload_file(body: IO[bytes], content_type: str, cap: int, in_crs: SupportedCrs | None,
                      limits: ZipLimits) -> classify_input.ClassifyInput:
    with body, tempfile.TemporaryDirectory(prefix="lapis-classify-") as tmp:
        path = FilePath(tmp) / "upload"
        if not multipart_file(body, content_type, "file", path):
            raise Problem(400, "Invalid body", "file: a multipart field 'file' is needed", parameter="file")
        return classify_input.from_upload(path, cap, in_crs, limits)


@router.get("/search", summary="Find features of any layer by name or code, diacritics ignored",
            response_class=Response,
            responses={200: {"content": {JSON: {"example": {"query": "vanh dai 3", "results": [
                {"collection": "axes", "id": 1, "code": "TDL1", "name_vi": "Trục động lực Vành đai 3 – Vành đai 4",
                 "name_en": "Ring Road 3–4 axis", "score": 3.0, "bbox": [106.39, 10.56, 106.73, 11.0]}]}}},
                "description": "results best first: collection, id, code, name_vi, name_en, score, bbox (CRS84)"}})
async def search_endpoint(
    db: PlannerDatabaseDep,
    registry: RegistryDep,
    q: str = Query(..., min_length=1, max_length=200, description="Name or code; accents optional"),
    limit: int = Query(10, ge=1, le=search.MAX_LIMIT),
) -> Response:
    async with db.acquire() as conn:
        results = await search.search(conn, q, limit, registry)
    return Response(b'{"query":' + orjson.dumps(q) + b',"results":' + results.encode() + b"}", media_type=JSON)
