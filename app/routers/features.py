"""OGC API – Features Parts 1–3: collections, items (GeoJSON / HTML / CSV), queryables.

Handlers parse and shape; `spatial.features` builds the query and PostgreSQL builds the GeoJSON.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
import shapely
from fastapi import APIRouter, Depends, Path, Request
from shapely.geometry import shape
from starlette.responses import Response

from app import html
from app.dependencies import AsOfDep, DatabaseDep, LayerDep, RegistryDep, ServicesDep, crs_parameter
from app.downloads import DownloadFormat, download_items, enclosure_links, items_format, with_downloads
from app.items_query import ItemsQueryDep
from app.links import collection_tile_links
from app.negotiate import (
    CSV,
    GEOJSON,
    HTML,
    JSON,
    JsonOrHtml,
    base_url,
    json_response,
    output_format,
    request_url,
    url_with,
)
from app.preview import PRIVATE, PreviewDep, preview_caller
from app.query_params import accepts_property_filters
from spatial.catalog import LayerSummary, layer_summaries, layer_summary
from spatial.crs import CRS84, URIS, SupportedCrs
from spatial.edits.etag import if_none_match_hits, quoted
from spatial.edits.preview import preview_source_sql
from spatial.errors import InvalidParameter
from spatial.features import ItemsPage, ItemsRequest, fetch_feature, fetch_items
from spatial.history.revisions import get_revision
from spatial.json import dumps
from spatial.queryables import feature_schema, json_schema
from spatial.registry import Layer
from spatial.session import as_caller

router = APIRouter(tags=["OGC API – Features"])

OGC = "http://www.opengis.net/spec"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
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
GEOJSON_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {GEOJSON: {}, HTML: {}, CSV: {}}}}
ItemsFormat = Annotated[str | DownloadFormat, Depends(items_format)]  # a page format, or a download (app.downloads)
ItemFormat = Annotated[str, Depends(output_format(("geojson", "json", "html"), "json | geojson | html"))]
OutputCrs = Annotated[SupportedCrs, Depends(crs_parameter("Output CRS URI"))]


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
            {"rel": QUERYABLES_REL, "type": "application/schema+json", "title": "Queryables",
             "href": f"{href}/queryables"},
            # "describedBy": the spelling GDAL's OAPIF driver matches (link relations are case-insensitive)
            {"rel": "describedBy", "type": "application/schema+json", "title": "Schema of the features",
             "href": f"{href}/schema"},
            *collection_tile_links(base, layer),
        ],
        "count": summary.count,
        "count_is_estimate": summary.count_is_estimate,
    }
    if layer.attribution:
        body["attribution"] = layer.attribution
    if layer.license_url:
        body["links"].append({"rel": "license", "title": "Licence of the data", "href": layer.license_url})
    body["links"] += enclosure_links(href, layer)
    if layer.has_geometry:
        body["crs"] = list(URIS)
        body["storageCrs"] = CRS84
        body["geometryType"] = layer.geometry_type
        body["lapis:editable"] = layer.editable  # takes Part 4 writes (the map's edit mode lists only these)
        if summary.bbox:
            body["extent"] = {"spatial": {"bbox": [list(summary.bbox)], "crs": CRS84}}
    if summary.interval:  # the time `datetime` is matched against (a layer without one has no temporal extent)
        body.setdefault("extent", {})["temporal"] = {"interval": [list(summary.interval)], "trs": GREGORIAN}
    return body


@router.get("/conformance", summary="Conformance classes LAPIS implements")
async def conformance(request: Request, fmt: JsonOrHtml, services: ServicesDep) -> Response:
    classes = services.conformance
    if fmt == "html":
        return html.conformance_page(request, classes)
    return json_response({"conformsTo": list(classes)})


@router.get("/collections", summary="The plan layers as feature collections")
async def collections(request: Request, fmt: JsonOrHtml, db: DatabaseDep, registry: RegistryDep) -> Response:
    base = base_url(request)
    async with db.acquire() as conn:
        summaries = await layer_summaries(conn, registry)
    body = {
        "links": [{"rel": "self", "type": JSON, "href": f"{base}/collections"},
                  {"rel": "alternate", "type": HTML, "href": f"{base}/collections?f=html"}],
        "collections": [collection_json(base, s) for s in summaries],
        "crs": list(URIS),
    }
    if fmt == "html":
        return html.collections_page(request, body)
    return json_response(body)


@router.get("/collections/{collectionId}", summary="One collection: extent, CRS list, links")
async def collection(request: Request, layer: LayerDep, fmt: JsonOrHtml, db: DatabaseDep) -> Response:
    async with db.acquire() as conn:
        summary = await layer_summary(conn, layer)
    body = collection_json(base_url(request), summary)
    if fmt == "html":
        return html.collection_page(request, body)
    return json_response(body)


@router.get("/collections/{collectionId}/schema", summary="The features' schema (JSON Schema, properties typed)",
            response_class=Response, responses={200: {"description": "JSON Schema of the collection's features",
                                                      "content": {"application/schema+json": {"schema": {
                                                          "type": "object"}}}}})
async def collection_schema(request: Request, layer: LayerDep) -> Response:
    return json_response(feature_schema(layer, f"{base_url(request)}/collections/{layer.id}/schema"),
                         "application/schema+json")


@router.get("/collections/{collectionId}/queryables", summary="Queryable properties (JSON Schema)",
            response_class=Response, responses={200: {"description": "JSON Schema of the queryable properties",
                                                      "content": {"application/schema+json": {"schema": {
                                                          "type": "object"}}}}})
async def collection_queryables(request: Request, layer: LayerDep, fmt: JsonOrHtml) -> Response:
    schema = json_schema(layer, f"{base_url(request)}/collections/{layer.id}/queryables")
    if fmt == "html":
        return html.queryables_page(request, layer.id, schema)
    return json_response(schema, "application/schema+json")


@router.get("/collections/{collectionId}/items", summary="Features of a collection",
            response_class=Response, responses=with_downloads(GEOJSON_RESPONSE))
@accepts_property_filters  # `property=value` for each queryable: app.items_query checks those names
async def items(request: Request, query: ItemsQueryDep, fmt: ItemsFormat, db: DatabaseDep,
                preview: PreviewDep) -> Response:
    if preview.proposal is not None:
        if isinstance(fmt, DownloadFormat):
            raise InvalidParameter("proposal: a preview is not downloaded; page through it", parameter="proposal")
        if query.asof is not None or query.revision is not None:
            past = "asof" if query.asof is not None else "revision"
            raise InvalidParameter(f"{past}: a proposal's preview is of the plan as it is now", parameter=past)
        who = await preview_caller(preview.caller, preview.proposal, preview.db)
        query.source = preview_source_sql(query.layer, preview.proposal)
        async with preview.db.acquire() as conn, as_caller(conn, who):
            page = await fetch_items(conn, query)
        response = _items_response(request, fmt, query, page)
        response.headers.update(PRIVATE)
        return response
    if query.revision is not None:
        async with db.acquire() as conn:
            query.asof = (await get_revision(conn, query.revision, "revision")).published_at
    if isinstance(fmt, DownloadFormat):
        return await download_items(request, query, fmt)
    async with db.acquire() as conn:
        page = await fetch_items(conn, query)
    return _items_response(request, fmt, query, page)


@router.get("/collections/{collectionId}/items/{featureId}", summary="One feature",
            response_class=Response, responses=GEOJSON_RESPONSE)
async def item(request: Request, layer: LayerDep, featureId: Annotated[str, Path(examples=["1"])],  # noqa: N803
               crs: OutputCrs, fmt: ItemFormat, db: DatabaseDep, preview: PreviewDep,
               asof: AsOfDep) -> Response:
    """The feature; its `ETag` is its version, which a write's `If-Match` names (with `proposal`: as that
    proposal would publish it; with `asof`: as it was then, without an ETag)."""
    headers = {"Content-Crs": f"<{crs.uri}>"}
    if preview.proposal is not None:
        if asof is not None:
            raise InvalidParameter("asof: a proposal's preview is of the plan as it is now", parameter="asof")
        who = await preview_caller(preview.caller, preview.proposal, preview.db)
        async with preview.db.acquire() as conn, as_caller(conn, who):
            text, etag = await fetch_feature(conn, layer, featureId, crs, preview_source_sql(layer, preview.proposal))
        headers |= PRIVATE
    else:
        async with db.acquire() as conn:
            text, etag = await fetch_feature(conn, layer, featureId, crs, asof=asof)
    links = [
        {"rel": "self", "type": MEDIA_OF[fmt], "href": request_url(request)},
        {"rel": "alternate", "type": HTML if fmt != "html" else GEOJSON,
         "href": url_with(request, f="html" if fmt != "html" else "geojson")},
        {"rel": "collection", "type": JSON, "href": f"{base_url(request)}/collections/{layer.id}"},
    ]
    if fmt == "html":
        return html.item_page(request, layer, text, links, headers)
    if etag is not None:  # none for a past state (asof): it is not what a write may name
        headers["ETag"] = quoted(etag)
        if if_none_match_hits(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
    return Response(text.encode()[:-1] + b',"links":' + dumps(links) + b"}", media_type=GEOJSON, headers=headers)


def _items_links(request: Request, fmt: str, layer: Layer, page: ItemsPage) -> list[dict[str, Any]]:
    links = [
        {"rel": "self", "type": MEDIA_OF[fmt], "href": request_url(request)},
        *({"rel": "alternate", "type": MEDIA_OF[alt], "href": url_with(request, f=alt)}
          for alt in ("geojson", "html", "csv") if alt != fmt),
        {"rel": "collection", "type": JSON, "href": f"{base_url(request)}/collections/{layer.id}"},
        {"rel": QUERYABLES_REL, "type": "application/schema+json", "title": "Queryables",
         "href": _queryables_href(request, layer)},
    ]
    if page.next_cursor:
        links.append({"rel": "next", "type": MEDIA_OF[fmt], "href": url_with(request, cursor=page.next_cursor)})
    if page.prev_cursor:
        links.append({"rel": "prev", "type": MEDIA_OF[fmt], "href": url_with(request, cursor=page.prev_cursor)})
    return links


def _items_response(request: Request, fmt: str, query: ItemsRequest, page: ItemsPage) -> Response:
    """A page of items as GeoJSON (the features' texts from PostgreSQL, joined as they are), HTML or CSV."""
    links = _items_links(request, fmt, query.layer, page)
    # the filterable resource references its queryables in a Link header too (Features Part 3, queryables-link B)
    headers = {"Content-Crs": f"<{query.crs.uri}>",
               "Link": f'<{_queryables_href(request, query.layer)}>; rel="{QUERYABLES_REL}"'}
    if fmt == "html":
        return html.items_page(request, query.layer, page.features_json(), links, page.number_matched, headers)
    if fmt == "csv":
        return Response(_items_csv(query.layer, page.features_json(), query.properties), media_type=CSV,
                        headers=headers)
    head = b'{"type":"FeatureCollection","features":'
    tail = {"numberReturned": len(page.features), "timeStamp": _now(), "links": links}
    if page.number_matched is not None:
        tail["numberMatched"] = page.number_matched
    return Response(head + page.features_json() + b"," + dumps(tail)[1:], media_type=GEOJSON, headers=headers)


def _queryables_href(request: Request, layer: Layer) -> str:
    return f"{base_url(request)}/collections/{layer.id}/queryables"


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
