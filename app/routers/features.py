"""OGC API – Features Parts 1–3: collections, items (GeoJSON / HTML / CSV), queryables.

Handlers parse and shape; `spatial.features` builds the query and PostgreSQL builds the GeoJSON.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import orjson
import shapely
from fastapi import APIRouter, Path, Query, Request
from shapely.geometry import shape
from starlette.responses import Response

from app import html
from app.negotiate import CSV, GEOJSON, HTML, JSON, base_url, json_response, output_format, url_with
from app.problems import Problem
from spatial import cql
from spatial.catalog import LayerSummary, layer_summaries, layer_summary
from spatial.crs import CRS84, URIS, parse_crs
from spatial.features import (
    ItemsRequest,
    fetch_feature,
    fetch_items,
    parse_datetime,
    parse_properties,
    parse_sortby,
)
from spatial.geometry import parse_bbox
from spatial.json import dumps
from spatial.queryables import json_schema, queryables
from spatial.registry import Layer

router = APIRouter(tags=["OGC API – Features"])

OGC = "http://www.opengis.net/spec"
CONFORMANCE = (
    f"{OGC}/ogcapi-features-1/1.0/conf/core",
    f"{OGC}/ogcapi-features-1/1.0/conf/geojson",
    f"{OGC}/ogcapi-features-1/1.0/conf/html",
    f"{OGC}/ogcapi-features-1/1.0/conf/oas30",
    f"{OGC}/ogcapi-features-2/1.0/conf/crs",
    f"{OGC}/ogcapi-features-3/1.0/conf/queryables",
    f"{OGC}/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    f"{OGC}/ogcapi-features-3/1.0/conf/filter",
    f"{OGC}/ogcapi-features-3/1.0/conf/features-filter",
    f"{OGC}/cql2/1.0/conf/cql2-text",
    f"{OGC}/cql2/1.0/conf/cql2-json",
    f"{OGC}/cql2/1.0/conf/basic-cql2",
    f"{OGC}/cql2/1.0/conf/advanced-comparison-operators",
    f"{OGC}/cql2/1.0/conf/case-insensitive-comparison",
    f"{OGC}/cql2/1.0/conf/accent-insensitive-comparison",
    f"{OGC}/cql2/1.0/conf/basic-spatial-functions",
    f"{OGC}/cql2/1.0/conf/basic-spatial-functions-plus",
    f"{OGC}/cql2/1.0/conf/spatial-functions",
    f"{OGC}/cql2/1.0/conf/temporal-functions",
    f"{OGC}/cql2/1.0/conf/arithmetic",
)
ITEMS_PARAMS = {"f", "limit", "bbox", "bbox-crs", "crs", "properties", "sortby", "filter", "filter-lang",
                "filter-crs", "cursor", "numberMatched", "datetime"}
GEOJSON_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {GEOJSON: {}, HTML: {}, CSV: {}}}}


def _layer(request: Request, collection_id: str) -> Layer:
    return request.app.state.registry[collection_id]  # UnknownLayer → 404 problem


def collection_json(base: str, summary: LayerSummary) -> dict[str, Any]:
    layer = summary.layer
    href = f"{base}/collections/{layer.id}"
    body: dict[str, Any] = {
        "id": layer.id,
        "title": layer.title_en,
        "description": f"{layer.title_vi}. {layer.description}",
        "itemType": "feature",
        "links": [
            {"rel": "self", "type": JSON, "title": "This collection", "href": href},
            {"rel": "alternate", "type": HTML, "title": "This collection as HTML", "href": f"{href}?f=html"},
            {"rel": "items", "type": GEOJSON, "title": "Items", "href": f"{href}/items"},
            {"rel": "items", "type": HTML, "title": "Items as HTML", "href": f"{href}/items?f=html"},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables", "type": "application/schema+json",
             "title": "Queryables", "href": f"{href}/queryables"},
        ],
        "count": summary.count,
        "count_is_estimate": summary.count_is_estimate,
    }
    if layer.attribution:
        body["attribution"] = layer.attribution
    if layer.license_url:
        body["links"].append({"rel": "license", "title": "Licence of the data", "href": layer.license_url})
    if layer.has_geometry:
        body["crs"] = list(URIS)
        body["storageCrs"] = CRS84
        body["geometryType"] = layer.geometry_type
        if summary.bbox:
            body["extent"] = {"spatial": {"bbox": [list(summary.bbox)], "crs": CRS84}}
    return body


@router.get("/conformance", summary="Conformance classes LAPIS implements")
async def conformance(request: Request) -> Response:
    classes = request.app.state.conformance
    if output_format(request, ("json", "html")) == "html":
        return html.conformance_page(request, classes)
    return json_response({"conformsTo": list(classes)})


@router.get("/collections", summary="The plan layers as feature collections")
async def collections(request: Request) -> Response:
    base = base_url(request)
    async with request.app.state.db.acquire() as conn:
        summaries = await layer_summaries(conn, request.app.state.registry)
    body = {
        "links": [{"rel": "self", "type": JSON, "href": f"{base}/collections"},
                  {"rel": "alternate", "type": HTML, "href": f"{base}/collections?f=html"}],
        "collections": [collection_json(base, s) for s in summaries],
        "crs": list(URIS),
    }
    if output_format(request, ("json", "html")) == "html":
        return html.collections_page(request, body)
    return json_response(body)


@router.get("/collections/{collectionId}", summary="One collection: extent, CRS list, links")
async def collection(request: Request, collectionId: str = Path(..., examples=["zones"])) -> Response:  # noqa: N803
    layer = _layer(request, collectionId)
    async with request.app.state.db.acquire() as conn:
        summary = await layer_summary(conn, layer)
    body = collection_json(base_url(request), summary)
    if output_format(request, ("json", "html")) == "html":
        return html.collection_page(request, body)
    return json_response(body)


@router.get("/collections/{collectionId}/queryables", summary="Queryable properties (JSON Schema)")
async def collection_queryables(request: Request, collectionId: str = Path(..., examples=["zones"])) -> Response:  # noqa: N803
    layer = _layer(request, collectionId)
    schema = json_schema(layer, f"{base_url(request)}/collections/{layer.id}/queryables")
    if output_format(request, ("json", "html")) == "html":
        return html.queryables_page(request, layer.id, schema)
    return json_response(schema, "application/schema+json")


def _split_numbers(text: str, parameter: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise Problem(400, "Invalid parameter", f"{parameter}: comma-separated numbers expected",
                      parameter=parameter) from None


@router.get("/collections/{collectionId}/items", summary="Features of a collection",
            response_class=Response, responses=GEOJSON_RESPONSE)
async def items(
    request: Request,
    collectionId: str = Path(..., description="Collection id (a layer: zones, admin_units, …)",
                              examples=["zones"]),  # noqa: N803
    limit: int | None = Query(None, ge=1, description="Page size (default 10; larger values are capped)"),
    bbox: str | None = Query(None, description="minx,miny,maxx,maxy (or 6 numbers), in bbox-crs"),
    bbox_crs: str | None = Query(None, alias="bbox-crs", description="CRS of bbox (default CRS84)"),
    crs: str | None = Query(None, description="Output CRS URI (CRS84, EPSG 4326, 3857, 3405, 9210)"),
    properties: str | None = Query(None, description="Comma-separated properties to return"),
    sortby: str | None = Query(None, description="Comma-separated properties, '-' for descending"),
    filter: str | None = Query(None, description="CQL2 filter"),  # noqa: A002
    filter_lang: str | None = Query(None, alias="filter-lang", description="cql2-text (default) or cql2-json"),
    filter_crs: str | None = Query(None, alias="filter-crs", description="CRS of geometries in the filter"),
    cursor: str | None = Query(None, description="Paging cursor (follow the next/prev links)"),
    number_matched: bool = Query(False, alias="numberMatched", description="Count all matches even if costly"),
    datetime_: str | None = Query(None, alias="datetime", description=(
        "Instant or interval (RFC 3339, `start/end`, `..` open). Matched against plans' decision date, projects' "
        "start–end years, and for other layers when the feature last changed")),
    f: str | None = Query(None, description="json | geojson | html | csv"),
) -> Response:
    layer = _layer(request, collectionId)
    fmt = output_format(request, ("geojson", "json", "html", "csv"))
    settings = request.app.state.settings
    fields = queryables(layer)
    equals: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key in ITEMS_PARAMS:
            continue
        if key not in fields or fields[key].kind == "geometry":
            raise Problem(400, "Invalid parameter", f"{key}: unknown parameter or property of {layer.id!r}",
                          parameter=key)
        equals[key] = value
    out_crs = parse_crs(crs, "crs")
    box_crs = parse_crs(bbox_crs, "bbox-crs")
    req = ItemsRequest(
        layer=layer,
        limit=min(limit or settings.items_default_limit, settings.items_max_limit),
        bbox=parse_bbox(_split_numbers(bbox, "bbox"), box_crs) if bbox is not None else None,
        bbox_crs=box_crs,
        crs=out_crs,
        properties=parse_properties(layer, properties),
        sortby=parse_sortby(layer, sortby),
        equals=equals,
        filter=cql.parse(filter, filter_lang or "cql2-text") if filter is not None else None,
        filter_crs=parse_crs(filter_crs, "filter-crs"),
        cursor=cursor,
        count=number_matched,
        datetime=parse_datetime(datetime_),
    )
    if bbox_crs is not None and bbox is None:
        raise Problem(400, "Invalid parameter", "bbox-crs: given without bbox", parameter="bbox-crs")
    async with request.app.state.db.acquire() as conn:
        page = await fetch_items(conn, req)
    links = [
        {"rel": "self", "type": MEDIA_OF[fmt], "href": str(request.url)},
        *({"rel": "alternate", "type": MEDIA_OF[alt], "href": url_with(request, f=alt)}
          for alt in ("geojson", "html", "csv") if alt != fmt),
        {"rel": "collection", "type": JSON, "href": f"{base_url(request)}/collections/{layer.id}"},
    ]
    if page.next_cursor:
        links.append({"rel": "next", "type": MEDIA_OF[fmt], "href": url_with(request, cursor=page.next_cursor)})
    if page.prev_cursor:
        links.append({"rel": "prev", "type": MEDIA_OF[fmt], "href": url_with(request, cursor=page.prev_cursor)})
    headers = {"Content-Crs": f"<{out_crs.uri}>"}
    if fmt == "html":
        return html.items_page(request, layer, page.features_json(), links, page.number_matched, headers)
    if fmt == "csv":
        return Response(_items_csv(layer, page.features_json(), req.properties), media_type=CSV, headers=headers)
    head = b'{"type":"FeatureCollection","features":'
    tail = {"numberReturned": len(page.features), "timeStamp": _now(), "links": links}
    if page.number_matched is not None:
        tail["numberMatched"] = page.number_matched
    body = head + page.features_json() + b"," + dumps(tail)[1:]
    return Response(body, media_type=GEOJSON, headers=headers)


@router.get("/collections/{collectionId}/items/{featureId}", summary="One feature",
            response_class=Response, responses=GEOJSON_RESPONSE)
async def item(
    request: Request,
    collectionId: str = Path(..., examples=["zones"]),  # noqa: N803
    featureId: str = Path(..., examples=["1"]),  # noqa: N803
    crs: str | None = Query(None, description="Output CRS URI"),
    f: str | None = Query(None, description="json | geojson | html"),
) -> Response:
    layer = _layer(request, collectionId)
    fmt = output_format(request, ("geojson", "json", "html"))
    out_crs = parse_crs(crs, "crs")
    async with request.app.state.db.acquire() as conn:
        text = await fetch_feature(conn, layer, featureId, out_crs)
    base = base_url(request)
    links = [
        {"rel": "self", "type": MEDIA_OF[fmt], "href": str(request.url)},
        {"rel": "alternate", "type": HTML if fmt != "html" else GEOJSON,
         "href": url_with(request, f="html" if fmt != "html" else "geojson")},
        {"rel": "collection", "type": JSON, "href": f"{base}/collections/{layer.id}"},
    ]
    headers = {"Content-Crs": f"<{out_crs.uri}>"}
    if fmt == "html":
        return html.item_page(request, layer, text, links, headers)
    return Response(text.encode()[:-1] + b',"links":' + dumps(links) + b"}", media_type=GEOJSON, headers=headers)


MEDIA_OF = {"geojson": GEOJSON, "json": GEOJSON, "html": HTML, "csv": CSV}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _items_csv(layer: Layer, features: bytes, properties: tuple[str, ...] | None) -> bytes:
    columns = ["id", *(properties if properties is not None else layer.column_names)]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*columns, "wkt"] if layer.has_geometry else columns)
    for f in orjson.loads(features):
        row = [f["id"], *(f["properties"].get(c) for c in columns[1:])]
        if layer.has_geometry:
            row.append(shapely.to_wkt(shape(f["geometry"]), rounding_precision=-1) if f["geometry"] else "")
        writer.writerow(row)
    return out.getvalue().encode()
