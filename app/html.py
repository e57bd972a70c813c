"""HTML pages for people browsing the API (`f=html`), rendered from the Jinja2 templates in `app/templates/`.

One environment, autoescaping on for every template: a value from the database reaches the page only through
`{{ … }}`, so `<script>` in a property shows as text. Each page lists every link its JSON twin has (rel, type,
title, href). Collection and item pages carry a small map: MapLibre GL JS served by the app from node_modules
(`/map/vendor/…`, see `app/routers/viewer.py`) and `/map/assets/page-map.js`, on a plain background — no CDN, no
external basemap, so the pages work offline. The page text is NFC-normalised, so Vietnamese stored decomposed
(a base letter plus combining marks) shows as the precomposed letters fonts draw best.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from fastapi import Request
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.responses import Response

from app.negotiate import GEOJSON, HTML, base_url, url_with
from spatial.layers import Layer

TEMPLATES = Path(__file__).resolve().parent / "templates"
MAP_LIMIT = 500  # features a collection page's map fetches (the items endpoint caps it further if configured lower)

ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                  trim_blocks=True, lstrip_blocks=True)
# `tojson` output stays readable Vietnamese (no \u escapes) and keeps the JSON's own key order;
# it still escapes <, >, & and ' so it is safe inside HTML.
ENV.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": False}
# a list of plain values (a bbox, a few names) reads as "a, b, c"; anything deeper is shown as JSON
ENV.tests["flat_list"] = lambda v: isinstance(v, list | tuple) and all(
    isinstance(x, str | int | float) and not isinstance(x, bool) for x in v)


def render(request: Request, template: str, headers: dict[str, str] | None = None, **context: Any) -> Response:
    """Render `template` with `base` (this server's URL) and `context`; UTF-8, NFC."""
    text = ENV.get_template(template).render(base=base_url(request), **context)
    return Response(unicodedata.normalize("NFC", text).encode(), media_type=HTML, headers=headers)


def landing_page(request: Request, body: dict[str, Any]) -> Response:
    return render(request, "landing.html", title=body["title"], body=body)


def conformance_page(request: Request, classes: Sequence[str]) -> Response:
    return render(request, "conformance.html", title="Conformance", classes=list(classes))


def collections_page(request: Request, body: dict[str, Any]) -> Response:
    return render(request, "collections.html", title="Collections", body=body)


def collection_page(request: Request, body: dict[str, Any]) -> Response:
    items = next((link["href"] for link in body["links"] if link["rel"] == "items" and link["type"] == GEOJSON),
                 None)
    bbox = body.get("extent", {}).get("spatial", {}).get("bbox", [None])[0]
    map_src = f"{items}?f=json&limit={MAP_LIMIT}" if items and "geometryType" in body else None
    return render(request, "collection.html", title=body["title"], body=body, map_src=map_src, map_bbox=bbox)


def queryables_page(request: Request, layer_id: str, schema: dict[str, Any]) -> Response:
    columns = list(dict.fromkeys(key for entry in schema["properties"].values() for key in entry))
    return render(request, "queryables.html", title=f"Queryables of {layer_id}", schema=schema, columns=columns)


def items_page(request: Request, layer: Layer, features: bytes, links: list[dict[str, Any]],
               matched: int | None, headers: dict[str, str] | None = None) -> Response:
    """A page of features: their properties, their geometries on a map (this page fetched again as GeoJSON in
    CRS84) and the links of the page."""
    rows = orjson.loads(features)
    columns = _in_layer_order(layer, (key for feature in rows for key in feature["properties"]))
    map_src = url_with(request, f="json", crs=None) if any(f["geometry"] for f in rows) else None
    return render(request, "items.html", headers, title=f"{layer.title_en} ({layer.id})", layer=layer,
                  features=rows, columns=columns, links=links, matched=matched,
                  item_url=_item_url(request, layer), map_src=map_src, map_bbox=None)


def item_page(request: Request, layer: Layer, feature: str | bytes, links: list[dict[str, Any]],
              headers: dict[str, str] | None = None) -> Response:
    """One feature: its properties, its geometry on a map (fetched again in CRS84: the page may show another
    CRS's coordinates, the map needs longitude/latitude) and its links."""
    data = orjson.loads(feature)
    properties = {key: data["properties"][key] for key in _in_layer_order(layer, data["properties"] or {})}
    name = properties.get("name_vi") or properties.get("code")
    title = f"{layer.title_en}: {name}" if name else f"{layer.id} {data['id']}"
    map_src = f"{_item_url(request, layer)}{quote(str(data['id']), safe='')}?f=json" if data["geometry"] else None
    return render(request, "item.html", headers, title=title, layer=layer, feature=data, properties=properties,
                  links=links, map_src=map_src, map_bbox=None)


def _item_url(request: Request, layer: Layer) -> str:
    """The URL prefix of this layer's items: append a (quoted) feature id."""
    return f"{base_url(request)}/collections/{layer.id}/items/"


def _in_layer_order(layer: Layer, keys: Iterable[str]) -> list[str]:
    """Property names as the registry lists the layer's columns, then the extra (`props`) ones as they come:
    PostgreSQL's jsonb orders keys by length, which reads as no order at all."""
    present = dict.fromkeys(keys)
    known = [name for name in layer.column_names if name in present]
    return known + [key for key in present if key not in known]
