"""Links that make the vector tiles discoverable from the landing page and from each tiled collection: the
tilesets (OGC rel `tilesets-vector`, which GDAL's OGCAPI driver and QGIS follow), the TileJSON, the MapLibre
style and the web map."""

from __future__ import annotations

from typing import Any

from app.negotiate import HTML, JSON
from spatial.registry import Layer
from spatial.tiles.grid import TMS_ID

TILESETS_VECTOR = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"


def _tiles_links(tiles: str, title: str) -> list[dict[str, Any]]:
    return [
        {"rel": TILESETS_VECTOR, "type": JSON, "title": f"Vector tilesets of {title}", "href": tiles},
        {"rel": "describedby", "type": JSON, "title": f"TileJSON 3.0 of {title}",
         "href": f"{tiles}/{TMS_ID}/tilejson.json"},
    ]


def _map_links(base: str) -> list[dict[str, Any]]:
    return [
        {"rel": "stylesheet", "type": JSON, "title": "MapLibre style of the plan map",
         "href": f"{base}/styles/plan.json"},
        {"rel": "alternate", "type": HTML, "title": "The plan map (web map)", "href": f"{base}/map"},
    ]


def landing_tile_links(base: str) -> list[dict[str, Any]]:
    """The composite plan tileset (every plan layer), its TileJSON, the style and the map."""
    return [*_tiles_links(f"{base}/tiles", "the plan (all layers)"), *_map_links(base)]


def collection_tile_links(base: str, layer: Layer) -> list[dict[str, Any]]:
    """A tiled collection's tilesets and TileJSON, the style and the map that draw it; none for an untiled one."""
    if layer.tiles is None:
        return []
    return [*_tiles_links(f"{base}/collections/{layer.id}/tiles", layer.title_en), *_map_links(base)]
