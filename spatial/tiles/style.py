"""The MapLibre style for the plan (`/styles/plan.json`), assembled from the registry: each styled layer's
drawing (its `StyleSpec.draw` layers, or one drawn by geometry type in its colour), then every label layer above
all drawings, labels in Vietnamese (English with lang='en').

No sprites, no basemap and no glyph server are needed: the style has no `glyphs` URL, so MapLibre GL JS 5
draws every label with the browser's own fonts (TinySDF), which covers Vietnamese and works offline. An
external raster basemap is added only when one is configured (`LAPIS_BASEMAP_URL`). The style's `metadata`
carries the legend and the layer groups the viewer's toggles use: one group per styled layer.
"""

from __future__ import annotations

from typing import Any

from spatial.layers import LAYERS
from spatial.registry import FONT, GEOMETRY_KINDS, Layer, Legend, Registry, StyleSpec
from spatial.tiles.tilejson import attribution

SOURCE = "plan"
HALO = {"text-halo-color": "rgba(255,255,255,0.9)", "text-halo-width": 1.4}


def _label(lang: str) -> list:
    if lang == "en":
        return ["coalesce", ["get", "name_en"], ["get", "name_vi"]]
    return ["get", "name_vi"]


def _group_title(layer: Layer, spec: StyleSpec, lang: str) -> str:
    if lang == "en":
        return spec.group_en or layer.title_en
    return spec.group_vi or layer.title_vi


def _is(kind: str) -> list[Any]:
    return ["==", ["geometry-type"], kind]


def _default_draw(layer: Layer, spec: StyleSpec) -> list[dict[str, Any]]:
    """A layer without drawing rules: polygons filled and outlined, lines and points in its colour."""
    kinds = GEOMETRY_KINDS[layer.geometry_type or "Geometry"]
    mixed = len(kinds) > 1
    draw: list[dict[str, Any]] = []
    if "Polygon" in kinds:
        draw += [{"id": f"{layer.id}-fill", "type": "fill", "paint": {"fill-color": spec.colour, "fill-opacity": 0.35}},
                 {"id": f"{layer.id}-outline", "type": "line", "paint": {"line-color": spec.colour, "line-width": 1}}]
        if mixed:
            draw[0]["filter"] = draw[1]["filter"] = _is("Polygon")
    if "LineString" in kinds:
        draw.append({"id": f"{layer.id}-line", "type": "line", "paint": {"line-color": spec.colour, "line-width": 2},
                     **({"filter": _is("LineString")} if mixed else {})})
    if "Point" in kinds:
        draw.append({"id": f"{layer.id}-point", "type": "circle",
                     "paint": {"circle-color": spec.colour, "circle-radius": 4, "circle-stroke-color": "#ffffff",
                               "circle-stroke-width": 1},
                     **({"filter": _is("Point")} if mixed else {})})
    return draw


def _placed(layer: Layer, fragment: dict[str, Any]) -> dict[str, Any]:
    """A MapLibre layer of `layer`: its source, group, and (unless it says otherwise) the first zoom the plan
    tiles carry the layer at."""
    placed = {"id": fragment["id"], "type": fragment["type"], "source": SOURCE, "source-layer": layer.id,
              "metadata": {"lapis:group": layer.id}}
    min_zoom = layer.tiles.composite_min_zoom if layer.tiles else 0
    if min_zoom:
        placed["minzoom"] = min_zoom
    return {**placed, **{k: v for k, v in fragment.items() if k not in ("id", "type")}}


def _labels(layer: Layer, spec: StyleSpec, label: list) -> list[dict[str, Any]]:
    return [_placed(layer, {**fragment, "type": "symbol",
                            "layout": {"text-field": label, "text-font": FONT, **fragment.get("layout", {})},
                            "paint": {**fragment.get("paint", {}), **HALO}})
            for fragment in spec.labels]


def _legend(layer: Layer, spec: StyleSpec, lang: str) -> list[dict[str, Any]]:
    lines = spec.legend
    if not lines:
        kinds = GEOMETRY_KINDS[layer.geometry_type or "Geometry"]
        title = _group_title(layer, spec, lang)
        lines = (Legend(title, title, "fill" if "Polygon" in kinds else "line", spec.colour),)
    return [{"group": layer.id, "label": line.label(lang), "type": line.type, "color": line.colour,
             **({"dash": line.dash} if line.dash else {})} for line in lines]


def plan_style(*, tilejson_url: str, lang: str = "vi", basemap_url: str | None = None,
               registry: Registry = LAYERS) -> dict[str, Any]:
    styled = [(layer, layer.style) for layer in registry.styled if layer.style is not None]
    layers: list[dict[str, Any]] = [
        {"id": "background", "type": "background", "paint": {"background-color": "#f4f1ea"}},
    ]
    sources: dict[str, Any] = {SOURCE: {"type": "vector", "url": tilejson_url,
                                        "attribution": attribution([layer for layer, _ in styled], html=True)}}
    if basemap_url:
        sources["basemap"] = {"type": "raster", "tiles": [basemap_url], "tileSize": 256}
        layers.append({"id": "basemap", "type": "raster", "source": "basemap",
                       "metadata": {"lapis:group": "basemap"}, "paint": {"raster-opacity": 0.6}})
    for layer, spec in styled:
        layers += [_placed(layer, fragment) for fragment in spec.draw or _default_draw(layer, spec)]
    label = _label(lang)
    for layer, spec in styled:
        layers += _labels(layer, spec, label)
    in_legend = sorted(styled, key=lambda entry: entry[1].legend_order)
    return {
        "version": 8,
        "name": "Quy hoạch tỉnh Long An" if lang == "vi" else "Long An provincial plan",
        "metadata": {"lapis:lang": lang,
                     "lapis:groups": [{"id": layer.id, "label": _group_title(layer, spec, lang)}
                                      for layer, spec in in_legend],
                     "lapis:legend": [line for layer, spec in in_legend for line in _legend(layer, spec, lang)]},
        "center": [106.2, 10.75],
        "zoom": 8.3,
        "sources": sources,
        "layers": layers,
    }
