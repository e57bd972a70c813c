"""The query parameters of `/collections/{collectionId}/items`, parsed as one group into `spatial`'s `ItemsRequest`.

Parameters that only make sense together are checked together first, before any value is parsed or a query object
built; then each value is parsed by `spatial` (which raises InvalidParameter naming it).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from app.dependencies import ASOF_HELP, LayerDep, SettingsDep
from spatial import cql
from spatial.crs import parse_crs
from spatial.datetime_param import parse_datetime
from spatial.errors import InvalidParameter
from spatial.features import ItemsRequest, parse_properties, parse_sortby
from spatial.geometry import parse_bbox_text
from spatial.history.asof import parse_asof
from spatial.history.revisions import parse_revision_number
from spatial.layers import Layer
from spatial.queryables import queryables

# Query parameters of the items request itself; any other name is a property filter (`property=value`).
ITEMS_PARAMS = frozenset({"f", "limit", "bbox", "bbox-crs", "crs", "properties", "sortby", "filter", "filter-lang",
                          "filter-crs", "cursor", "numberMatched", "datetime", "download",
                          "proposal", "asof", "revision"})
DATETIME_HELP = ("Instant or interval (RFC 3339, `start/end`, `..` or nothing open; an end may be an ISO 8601 "
                 "duration). Matched against the time a collection advertises in its extent (plans' decision date, "
                 "projects' start–end years); features without a time, and collections without one, always match")
REVISION_PATTERN = "^[0-9]{1,18}$"
REVISION_HELP = ("The plan as a revision fixed it (its number, as `GET /revisions` lists them; the bundled plan is 1): "
                 "`asof` the instant it was published. For downloads of the plan of record")


def property_filters(layer: Layer, params: list[tuple[str, str]]) -> dict[str, str]:
    """`property=value` pairs of the query string: every name that is not an items parameter must be a
    non-geometry queryable of the layer, and a value of a queryable with a list of values one of them."""
    fields = queryables(layer)
    equals: dict[str, str] = {}
    for key, value in params:
        if key in ITEMS_PARAMS:
            continue
        if key not in fields or fields[key].kind == "geometry":
            raise InvalidParameter(f"{key}: unknown parameter or property of {layer.id!r}", parameter=key)
        if fields[key].enum and value not in fields[key].enum:  # the parameter has the queryable's schema, enum too
            raise InvalidParameter(f"{key}: {value!r} is not one of {', '.join(fields[key].enum)}", parameter=key)
        equals[key] = value
    return equals


def items_query(
    request: Request,
    layer: LayerDep,
    settings: SettingsDep,
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
    datetime_: str | None = Query(None, alias="datetime", description=DATETIME_HELP),
    asof: str | None = Query(None, description=ASOF_HELP),
    revision: str | None = Query(None, description=REVISION_HELP, pattern=REVISION_PATTERN),
) -> ItemsRequest:
    if bbox_crs is not None and bbox is None:
        raise InvalidParameter("bbox-crs: given without bbox", parameter="bbox-crs")
    if revision is not None and asof is not None:
        raise InvalidParameter("revision: give a revision or an asof instant, not both", parameter="revision")
    equals = property_filters(layer, request.query_params.multi_items())
    box_crs = parse_crs(bbox_crs, "bbox-crs")
    return ItemsRequest(
        layer=layer,
        limit=min(limit or settings.items_default_limit, settings.items_max_limit),
        bbox=parse_bbox_text(bbox, box_crs) if bbox is not None else None,
        bbox_crs=box_crs,
        crs=parse_crs(crs, "crs"),
        properties=parse_properties(layer, properties),
        sortby=parse_sortby(layer, sortby),
        equals=equals,
        filter=cql.parse(filter, filter_lang or "cql2-text") if filter is not None else None,
        filter_crs=parse_crs(filter_crs, "filter-crs"),
        cursor=cursor,
        count=number_matched,
        datetime=parse_datetime(datetime_),
        asof=parse_asof(asof),
        revision=parse_revision_number(revision),
    )


ItemsQueryDep = Annotated[ItemsRequest, Depends(items_query)]

