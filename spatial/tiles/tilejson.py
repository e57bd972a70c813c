"""TileJSON 3.0 for a tileset (one collection or the composite): tiles URL stamped with the data version,
honest zoom range and bounds, and `vector_layers` with their fields."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from spatial.registry import Layer
from spatial.tiles.grid import mercator_to_lonlat
from spatial.tiles.layers import TileLayer

Box = tuple[float, float, float, float]
ATTRIBUTION = "Quy hoạch tỉnh Long An 2021–2030 (QĐ 686/QĐ-TTg) — hình học sơ đồ / schematic geometry"


def lonlat_bounds(boxes: Sequence[Box | None]) -> list[float] | None:
    present = [b for b in boxes if b is not None]
    if not present:
        return None
    west, south = mercator_to_lonlat(min(b[0] for b in present), min(b[1] for b in present))
    east, north = mercator_to_lonlat(max(b[2] for b in present), max(b[3] for b in present))
    return [round(west, 6), round(south, 6), round(east, 6), round(north, 6)]


def attribution(layers: Sequence[Layer], *, html: bool = False) -> str:
    """The plan's credit, then each distinct credit the layers' data asks for (with a link to its licence, in HTML:
    MapLibre shows the style's attribution as HTML)."""
    credits = dict.fromkeys(_credit(layer, html) for layer in layers if layer.attribution)
    return "; ".join([ATTRIBUTION, *credits])


def _credit(layer: Layer, html: bool) -> str:
    text = layer.attribution or ""
    if not html:
        return text
    text = escape(text)
    return f'{text} (<a href="{escape(layer.license_url)}">licence</a>)' if layer.license_url else text


def tilejson(*, name: str, description: str, tiles_url: str, layers: Sequence[TileLayer],
             boxes: Sequence[Box | None], composite: bool, min_zooms: Sequence[int] | None = None) -> dict[str, Any]:
    """TileJSON of a tileset. `min_zooms`: each layer's first zoom in it (`spatial.tiles.limits`; by default where
    the composite starts carrying it)."""
    bounds = lonlat_bounds(boxes) or [-180.0, -85.051129, 180.0, 85.051129]
    if min_zooms is None:
        min_zooms = [layer.composite_min_zoom if composite else 0 for layer in layers]
    first = dict(zip((layer.id for layer in layers), min_zooms, strict=True))
    present = [layer for layer, box in zip(layers, boxes, strict=True) if box is not None] or list(layers)
    minzoom = min(first[layer.id] for layer in present)
    maxzoom = max(layer.max_zoom for layer in present)
    centre_zoom = max(minzoom, min(9, maxzoom))
    return {
        "tilejson": "3.0.0",
        "name": name,
        "description": description,
        "version": "1.0.0",
        "attribution": attribution([layer.layer for layer in layers]),
        "scheme": "xyz",
        "tiles": [tiles_url],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": bounds,
        "center": [round((bounds[0] + bounds[2]) / 2, 6), round((bounds[1] + bounds[3]) / 2, 6), centre_zoom],
        "vector_layers": [
            {
                "id": layer.id,
                "description": layer.layer.title_en,
                "minzoom": first[layer.id],
                "maxzoom": layer.max_zoom,
                "fields": layer.fields(),
            }
            for layer in layers
        ],
    }
