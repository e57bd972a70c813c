"""The MapLibre style for the plan (`/styles/plan.json`): regions and the centre as fills, corridors as
translucent bands, axes as lines by rank, projects by category and status, admin boundaries, labels in
Vietnamese (English with lang='en').

No sprites, no basemap and no glyph server are needed: the style has no `glyphs` URL, so MapLibre GL JS 5
draws every label with the browser's own fonts (TinySDF), which covers Vietnamese and works offline. An
external raster basemap is added only when one is configured (`LAPIS_BASEMAP_URL`). The style's `metadata`
carries the legend and the layer groups the viewer's toggles use.
"""

from __future__ import annotations

from typing import Any

SOURCE = "plan"
FONT = ["DejaVu Sans", "Noto Sans", "Arial"]
FONT_BOLD = ["DejaVu Sans Bold", "Noto Sans Bold", "Arial Bold"]

REGION_COLOURS = {"R1": "#e8a87c", "R2": "#a8d08d", "R3": "#7fc8c0"}
ZONE_KIND_COLOURS = {"centre": "#d7263d", "economic_zone": "#8e44ad", "industrial": "#7f8c8d",
                     "urban": "#e67e22", "ecological": "#27ae60", "agricultural": "#c2d96b",
                     "tourism": "#16a085", "other": "#95a5a6"}
CATEGORY_COLOURS = {"expressway": "#c0392b", "ring_road": "#e74c3c", "national_road": "#d35400",
                    "provincial_road": "#f39c12", "urban_road": "#b7950b", "railway": "#34495e",
                    "port": "#2471a3", "economic_zone": "#8e44ad", "industrial_park": "#5d6d7e",
                    "other": "#7f8c8d"}
# The map credit: the plan, and the district boundaries' CC BY 3.0 IGO attribution (NOTICE, data/opendata).
ATTRIBUTION = (
    'LAPIS — QĐ 686/QĐ-TTg (schematic plan) · District boundaries of Long An province (2020): © Government of '
    'Viet Nam / OCHA ROAP, "Viet Nam – Subnational Administrative Boundaries" (COD-AB, vnm_adm_gov_20201027), via '
    'the Humanitarian Data Exchange, licensed <a href="https://creativecommons.org/licenses/by/3.0/igo/">CC BY 3.0 '
    'IGO</a>; distributed and simplified by geoBoundaries (www.geoboundaries.org; Runfola et al. 2020, PLoS ONE '
    '15(4): e0231866). Extracted and modified. Attribution does not imply endorsement by the data providers.'
)
CORRIDOR_COLOUR = "#f5b041"
AXIS_COLOUR = "#6c3483"

TEXT = {
    "vi": {
        "admin_units": "Ranh giới hành chính", "province": "Ranh giới tỉnh", "district": "Ranh giới huyện",
        "zones": "Vùng và trung tâm", "R1": "Vùng đô thị và công nghiệp",
        "R2": "Vùng nông nghiệp công nghệ cao, du lịch, kinh tế cửa khẩu", "R3": "Vùng đệm sinh thái",
        "centre": "Trung tâm", "economic_zone": "Khu kinh tế", "industrial": "Khu công nghiệp / đô thị",
        "corridors": "Hành lang kinh tế", "axes": "Trục động lực", "projects": "Dự án",
        "parcels": "Thửa đất",
        "expressway": "Cao tốc", "ring_road": "Đường vành đai", "national_road": "Quốc lộ",
        "provincial_road": "Đường tỉnh", "urban_road": "Đường đô thị", "port": "Cảng",
        "industrial_park": "Khu công nghiệp", "planned": "Quy hoạch (nét đứt)",
        "under_construction": "Đang xây dựng (nét chấm)", "operating": "Đã đưa vào sử dụng (nét liền)",
    },
    "en": {
        "admin_units": "Administrative boundaries", "province": "Province boundary",
        "district": "District boundary", "zones": "Regions and centre", "R1": "Urban and industrial region",
        "R2": "High-tech agriculture, tourism, border-gate region", "R3": "Ecological buffer region",
        "centre": "Centre", "economic_zone": "Economic zone", "industrial": "Industrial / urban zone",
        "corridors": "Economic corridors", "axes": "Development axes", "projects": "Projects",
        "parcels": "Parcels",
        "expressway": "Expressway", "ring_road": "Ring road", "national_road": "National road",
        "provincial_road": "Provincial road", "urban_road": "Urban road", "port": "Port",
        "industrial_park": "Industrial park", "planned": "Planned (dashed)",
        "under_construction": "Under construction (dotted)", "operating": "In use (solid)",
    },
}


def _match(prop: str, colours: dict[str, str], default: str) -> list:
    expr: list[Any] = ["match", ["get", prop]]
    for key, colour in colours.items():
        expr += [key, colour]
    return [*expr, default]


def _label(lang: str) -> list:
    if lang == "en":
        return ["coalesce", ["get", "name_en"], ["get", "name_vi"]]
    return ["get", "name_vi"]


def _layer(layer_id: str, group: str, kind: str, source_layer: str, **spec: Any) -> dict[str, Any]:
    return {"id": layer_id, "type": kind, "source": SOURCE, "source-layer": source_layer,
            "metadata": {"lapis:group": group}, **spec}


def plan_style(*, tilejson_url: str, lang: str = "vi", basemap_url: str | None = None) -> dict[str, Any]:
    t = TEXT[lang]
    label = _label(lang)
    halo = {"text-halo-color": "rgba(255,255,255,0.9)", "text-halo-width": 1.4}
    is_line = ["==", ["geometry-type"], "LineString"]
    is_polygon = ["==", ["geometry-type"], "Polygon"]
    is_point = ["==", ["geometry-type"], "Point"]
    layers: list[dict[str, Any]] = [
        {"id": "background", "type": "background", "paint": {"background-color": "#f4f1ea"}},
    ]
    sources: dict[str, Any] = {SOURCE: {"type": "vector", "url": tilejson_url,
                                        "attribution": ATTRIBUTION}}
    if basemap_url:
        sources["basemap"] = {"type": "raster", "tiles": [basemap_url], "tileSize": 256}
        layers.append({"id": "basemap", "type": "raster", "source": "basemap",
                       "metadata": {"lapis:group": "basemap"}, "paint": {"raster-opacity": 0.6}})
    layers += [
        _layer("zones-region-fill", "zones", "fill", "zones", filter=["==", ["get", "kind"], "region"],
               paint={"fill-color": _match("code", REGION_COLOURS, "#cccccc"), "fill-opacity": 0.45}),
        _layer("zones-other-fill", "zones", "fill", "zones",
               filter=["!", ["in", ["get", "kind"], ["literal", ["region", "centre"]]]],
               paint={"fill-color": _match("kind", ZONE_KIND_COLOURS, "#95a5a6"), "fill-opacity": 0.35}),
        _layer("zones-centre-fill", "zones", "fill", "zones", filter=["==", ["get", "kind"], "centre"],
               paint={"fill-color": ZONE_KIND_COLOURS["centre"], "fill-opacity": 0.4}),
        _layer("zones-outline", "zones", "line", "zones",
               paint={"line-color": "#7b6f5d", "line-width": 0.8, "line-opacity": 0.8}),
        _layer("corridors-band", "corridors", "fill", "corridors",
               paint={"fill-color": CORRIDOR_COLOUR, "fill-opacity": 0.28}),
        _layer("corridors-edge", "corridors", "line", "corridors",
               paint={"line-color": "#d68910", "line-width": 1, "line-dasharray": [3, 2]}),
        _layer("parcels-fill", "parcels", "fill", "parcels", minzoom=13,
               paint={"fill-color": "#fdfefe", "fill-opacity": 0.5}),
        _layer("parcels-line", "parcels", "line", "parcels", minzoom=13,
               paint={"line-color": "#a6acaf", "line-width": 0.5}),
        _layer("admin-district-line", "admin_units", "line", "admin_units",
               filter=["==", ["get", "level"], "district"],
               paint={"line-color": "#5d6d7e", "line-width": ["interpolate", ["linear"], ["zoom"], 7, 0.6, 12, 1.6],
                      "line-dasharray": [4, 2]}),
        _layer("admin-province-line", "admin_units", "line", "admin_units",
               filter=["==", ["get", "level"], "province"],
               paint={"line-color": "#2c3e50", "line-width": ["interpolate", ["linear"], ["zoom"], 6, 1.5, 12, 3.5]}),
        _layer("axes-line", "axes", "line", "axes",
               layout={"line-cap": "round", "line-join": "round"},
               paint={"line-color": AXIS_COLOUR, "line-opacity": 0.75,
                      "line-width": ["interpolate", ["linear"], ["zoom"],
                                     7, ["-", 5, ["*", 0.5, ["coalesce", ["get", "rank"], 6]]],
                                     13, ["-", 12, ["*", 1.2, ["coalesce", ["get", "rank"], 6]]]]}),
        _layer("projects-area", "projects", "fill", "projects", filter=is_polygon,
               paint={"fill-color": _match("category", CATEGORY_COLOURS, "#7f8c8d"), "fill-opacity": 0.6,
                      "fill-outline-color": "#1b2631"}),
    ]
    for status, dash in (("built", None), ("under_construction", [1, 1.5]), ("planned", [3, 2])):
        statuses = ["operating", "completed"] if status == "built" else [status]
        paint: dict[str, Any] = {"line-color": _match("category", CATEGORY_COLOURS, "#7f8c8d"),
                                 "line-width": ["interpolate", ["linear"], ["zoom"], 7, 1.5, 13, 4]}
        if dash:
            paint["line-dasharray"] = dash
        layers.append(_layer(f"projects-line-{status}", "projects", "line", "projects",
                             filter=["all", is_line, ["in", ["get", "status"], ["literal", statuses]]],
                             layout={"line-cap": "butt"}, paint=paint))
    layers += [
        _layer("projects-point", "projects", "circle", "projects", filter=is_point,
               paint={"circle-color": _match("category", CATEGORY_COLOURS, "#7f8c8d"), "circle-radius": 5,
                      "circle-stroke-color": "#ffffff", "circle-stroke-width": 1.2}),
        _layer("zones-label", "zones", "symbol", "zones", maxzoom=11,
               filter=["in", ["get", "kind"], ["literal", ["region", "centre"]]],
               layout={"text-field": label, "text-font": FONT_BOLD, "text-size": 12, "text-max-width": 10,
                       "symbol-placement": "point"},
               paint={"text-color": "#4a235a", **halo}),
        _layer("admin-label", "admin_units", "symbol", "admin_units", minzoom=8,
               filter=["==", ["get", "level"], "district"],
               layout={"text-field": label, "text-font": FONT, "text-size": 11, "text-max-width": 8},
               paint={"text-color": "#1b2631", **halo}),
        _layer("axes-label", "axes", "symbol", "axes", minzoom=9,
               layout={"text-field": label, "text-font": FONT, "text-size": 10, "symbol-placement": "line"},
               paint={"text-color": AXIS_COLOUR, **halo}),
        _layer("projects-label", "projects", "symbol", "projects", minzoom=10,
               layout={"text-field": label, "text-font": FONT, "text-size": 10,
                       "text-max-width": 9},
               paint={"text-color": "#212f3c", **halo}),
    ]
    legend = [
        {"group": "zones", "label": t["R1"], "type": "fill", "color": REGION_COLOURS["R1"]},
        {"group": "zones", "label": t["R2"], "type": "fill", "color": REGION_COLOURS["R2"]},
        {"group": "zones", "label": t["R3"], "type": "fill", "color": REGION_COLOURS["R3"]},
        {"group": "zones", "label": t["centre"], "type": "fill", "color": ZONE_KIND_COLOURS["centre"]},
        {"group": "zones", "label": t["economic_zone"], "type": "fill", "color": ZONE_KIND_COLOURS["economic_zone"]},
        {"group": "corridors", "label": t["corridors"], "type": "fill", "color": CORRIDOR_COLOUR},
        {"group": "axes", "label": t["axes"], "type": "line", "color": AXIS_COLOUR},
        *({"group": "projects", "label": t[c], "type": "line", "color": CATEGORY_COLOURS[c]}
          for c in ("expressway", "ring_road", "national_road", "provincial_road", "urban_road")),
        {"group": "projects", "label": t["port"], "type": "fill", "color": CATEGORY_COLOURS["port"]},
        {"group": "projects", "label": t["industrial_park"], "type": "fill",
         "color": CATEGORY_COLOURS["industrial_park"]},
        {"group": "projects", "label": t["operating"], "type": "line", "color": "#444"},
        {"group": "projects", "label": t["under_construction"], "type": "line", "color": "#444", "dash": "1 2"},
        {"group": "projects", "label": t["planned"], "type": "line", "color": "#444", "dash": "6 4"},
        {"group": "admin_units", "label": t["province"], "type": "line", "color": "#2c3e50"},
        {"group": "admin_units", "label": t["district"], "type": "line", "color": "#5d6d7e", "dash": "6 3"},
        {"group": "parcels", "label": t["parcels"], "type": "fill", "color": "#d5d8dc"},
    ]
    groups = [{"id": g, "label": t[g]} for g in ("zones", "corridors", "axes", "projects", "admin_units", "parcels")]
    return {
        "version": 8,
        "name": "Quy hoạch tỉnh Long An" if lang == "vi" else "Long An provincial plan",
        "metadata": {"lapis:lang": lang, "lapis:groups": groups, "lapis:legend": legend},
        "center": [106.2, 10.75],
        "zoom": 8.3,
        "sources": sources,
        "layers": layers,
    }
