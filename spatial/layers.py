"""The layer registry: the plan layers, each with every fact the code needs about it.

HTTP collections, tiles, the map style, loaders, exports and search all take table and column names from here and
from nowhere else, so an identifier in SQL never comes from user text. Adding a layer is one entry below plus one
migration creating its table (the common columns, geometry with its generated `geom_3857`, the search index and
the `layer_versions` trigger: see migration 0001). What an entry may say is in `spatial.registry`.
"""

from __future__ import annotations

from typing import Any

from spatial.registry import (
    COMMON_COLUMNS,
    FONT_BOLD,
    Column,
    Layer,
    Legend,
    Registry,
    StyleSpec,
    Temporal,
    TileSpec,
    UnknownLayer,
    match_colour,
    one_of,
)

__all__ = ["COMMON_COLUMNS", "LAYERS", "SPATIAL_LAYERS", "Column", "Layer", "Registry", "UnknownLayer", "get_layer"]

PROJECT_CATEGORIES = (
    "expressway", "ring_road", "national_road", "provincial_road", "urban_road",
    "port", "economic_zone", "industrial_park", "railway", "other",
)
PROJECT_STATUSES = ("planned", "under_construction", "completed", "operating")
# "What may be built here?" (migration 0008, spatial.queries.check)
USE_CATEGORIES = ("residential", "industrial", "commercial", "logistics", "agriculture", "tourism", "border_trade")
VERDICTS = ("allowed", "conditional", "prohibited")
ZONE_KINDS = (
    "region", "centre", "industrial", "urban", "ecological", "agricultural",
    "economic_zone", "tourism", "other",
)

_NAME_ALIASES = {
    "name": "name_vi", "ten": "name_vi", "tên": "name_vi", "ten_vi": "name_vi", "name_vn": "name_vi",
    "ma": "code", "mã": "code", "id_code": "code", "ma_so": "code",
}

# The district boundaries' licence asks for this credit wherever they appear (NOTICE, data/opendata/README.md).
OCHA_ATTRIBUTION = (
    'District boundaries of Long An province (2020): © Government of Viet Nam / OCHA ROAP, "Viet Nam – Subnational '
    'Administrative Boundaries" (COD-AB, vnm_adm_gov_20201027), via the Humanitarian Data Exchange, licensed CC BY 3.0 '
    'IGO; distributed and simplified by geoBoundaries (www.geoboundaries.org; Runfola et al. 2020, PLoS ONE 15(4): '
    'e0231866). Extracted and modified. Attribution does not imply endorsement by the data providers.')
CC_BY_3_IGO = "https://creativecommons.org/licenses/by/3.0/igo/"

# The plan map's colours
_REGION_COLOURS = {"R1": "#e8a87c", "R2": "#a8d08d", "R3": "#7fc8c0"}
_ZONE_KIND_COLOURS = {"centre": "#d7263d", "economic_zone": "#8e44ad", "industrial": "#7f8c8d",
                      "urban": "#e67e22", "ecological": "#27ae60", "agricultural": "#c2d96b",
                      "tourism": "#16a085", "other": "#95a5a6"}
_CATEGORY_COLOURS = {"expressway": "#c0392b", "ring_road": "#e74c3c", "national_road": "#d35400",
                     "provincial_road": "#f39c12", "urban_road": "#b7950b", "railway": "#34495e",
                     "port": "#2471a3", "economic_zone": "#8e44ad", "industrial_park": "#5d6d7e",
                     "other": "#7f8c8d"}
_CORRIDOR_COLOUR = "#f5b041"
_AXIS_COLOUR = "#6c3483"
_BY_CATEGORY = match_colour("category", _CATEGORY_COLOURS, "#7f8c8d")
_IS_LINE: list[Any] = ["==", ["geometry-type"], "LineString"]
_ROADS = (("expressway", "Cao tốc", "Expressway"), ("ring_road", "Đường vành đai", "Ring road"),
          ("national_road", "Quốc lộ", "National road"), ("provincial_road", "Đường tỉnh", "Provincial road"),
          ("urban_road", "Đường đô thị", "Urban road"))
# project lines: built (solid), under construction (dotted), planned (dashed)
_PROJECT_LINES = (("built", ("operating", "completed"), None), ("under_construction", ("under_construction",),
                  [1, 1.5]), ("planned", ("planned",), [3, 2]))

_ZONES_STYLE = StyleSpec(
    "#7b6f5d", order=10, legend_order=10, group_vi="Vùng và trung tâm", group_en="Regions and centre",
    draw=(
        {"id": "zones-region-fill", "type": "fill", "filter": ["==", ["get", "kind"], "region"],
         "paint": {"fill-color": match_colour("code", _REGION_COLOURS, "#cccccc"), "fill-opacity": 0.45}},
        {"id": "zones-other-fill", "type": "fill",
         "filter": one_of("kind", ("region", "centre"), negate=True),
         "paint": {"fill-color": match_colour("kind", _ZONE_KIND_COLOURS, "#95a5a6"), "fill-opacity": 0.35}},
        {"id": "zones-centre-fill", "type": "fill", "filter": ["==", ["get", "kind"], "centre"],
         "paint": {"fill-color": _ZONE_KIND_COLOURS["centre"], "fill-opacity": 0.4}},
        {"id": "zones-outline", "type": "line",
         "paint": {"line-color": "#7b6f5d", "line-width": 0.8, "line-opacity": 0.8}},
    ),
    labels=({"id": "zones-label", "maxzoom": 11, "filter": one_of("kind", ("region", "centre")),
             "layout": {"text-font": FONT_BOLD, "text-size": 12, "text-max-width": 10, "symbol-placement": "point"},
             "paint": {"text-color": "#4a235a"}},),
    legend=(
        Legend("Vùng đô thị và công nghiệp", "Urban and industrial region", "fill", _REGION_COLOURS["R1"]),
        Legend("Vùng nông nghiệp công nghệ cao, du lịch, kinh tế cửa khẩu",
               "High-tech agriculture, tourism, border-gate region", "fill", _REGION_COLOURS["R2"]),
        Legend("Vùng đệm sinh thái", "Ecological buffer region", "fill", _REGION_COLOURS["R3"]),
        Legend("Trung tâm", "Centre", "fill", _ZONE_KIND_COLOURS["centre"]),
        Legend("Khu kinh tế", "Economic zone", "fill", _ZONE_KIND_COLOURS["economic_zone"]),
    ),
)
_CORRIDORS_STYLE = StyleSpec(
    _CORRIDOR_COLOUR, order=20, legend_order=20,
    draw=({"id": "corridors-band", "type": "fill", "paint": {"fill-color": _CORRIDOR_COLOUR, "fill-opacity": 0.28}},
          {"id": "corridors-edge", "type": "line",
           "paint": {"line-color": "#d68910", "line-width": 1, "line-dasharray": [3, 2]}}),
)
_PARCELS_STYLE = StyleSpec(
    "#d5d8dc", order=30, legend_order=60,
    draw=({"id": "parcels-fill", "type": "fill", "paint": {"fill-color": "#fdfefe", "fill-opacity": 0.5}},
          {"id": "parcels-line", "type": "line", "paint": {"line-color": "#a6acaf", "line-width": 0.5}}),
)
_ADMIN_STYLE = StyleSpec(
    "#2c3e50", order=40, legend_order=50, group_vi="Ranh giới hành chính", group_en="Administrative boundaries",
    draw=(
        {"id": "admin-district-line", "type": "line", "filter": ["==", ["get", "level"], "district"],
         "paint": {"line-color": "#5d6d7e", "line-width": ["interpolate", ["linear"], ["zoom"], 7, 0.6, 12, 1.6],
                   "line-dasharray": [4, 2]}},
        {"id": "admin-province-line", "type": "line", "filter": ["==", ["get", "level"], "province"],
         "paint": {"line-color": "#2c3e50", "line-width": ["interpolate", ["linear"], ["zoom"], 6, 1.5, 12, 3.5]}},
    ),
    labels=({"id": "admin-label", "minzoom": 8, "filter": ["==", ["get", "level"], "district"],
             "layout": {"text-size": 11, "text-max-width": 8}, "paint": {"text-color": "#1b2631"}},),
    legend=(Legend("Ranh giới tỉnh", "Province boundary", "line", "#2c3e50"),
            Legend("Ranh giới huyện", "District boundary", "line", "#5d6d7e", "6 3")),
)
_AXES_STYLE = StyleSpec(
    _AXIS_COLOUR, order=50, legend_order=30,
    draw=({"id": "axes-line", "type": "line", "layout": {"line-cap": "round", "line-join": "round"},
           "paint": {"line-color": _AXIS_COLOUR, "line-opacity": 0.75,
                     "line-width": ["interpolate", ["linear"], ["zoom"],
                                    7, ["-", 5, ["*", 0.5, ["coalesce", ["get", "rank"], 6]]],
                                    13, ["-", 12, ["*", 1.2, ["coalesce", ["get", "rank"], 6]]]]}},),
    labels=({"id": "axes-label", "minzoom": 9, "layout": {"text-size": 10, "symbol-placement": "line"},
             "paint": {"text-color": _AXIS_COLOUR}},),
)
_PROJECTS_STYLE = StyleSpec(
    "#7f8c8d", order=60, legend_order=40,
    draw=(
        {"id": "projects-area", "type": "fill", "filter": ["==", ["geometry-type"], "Polygon"],
         "paint": {"fill-color": _BY_CATEGORY, "fill-opacity": 0.6, "fill-outline-color": "#1b2631"}},
        *({"id": f"projects-line-{name}", "type": "line",
           "filter": ["all", _IS_LINE, one_of("status", statuses)],
           "layout": {"line-cap": "butt"},
           "paint": {"line-color": _BY_CATEGORY, "line-width": ["interpolate", ["linear"], ["zoom"], 7, 1.5, 13, 4],
                     **({"line-dasharray": dash} if dash else {})}}
          for name, statuses, dash in _PROJECT_LINES),
        {"id": "projects-point", "type": "circle", "filter": ["==", ["geometry-type"], "Point"],
         "paint": {"circle-color": _BY_CATEGORY, "circle-radius": 5, "circle-stroke-color": "#ffffff",
                   "circle-stroke-width": 1.2}},
    ),
    labels=({"id": "projects-label", "minzoom": 10, "layout": {"text-size": 10, "text-max-width": 9},
             "paint": {"text-color": "#212f3c"}},),
    legend=(
        *(Legend(vi, en, "line", _CATEGORY_COLOURS[key]) for key, vi, en in _ROADS),
        Legend("Cảng", "Port", "fill", _CATEGORY_COLOURS["port"]),
        Legend("Khu công nghiệp", "Industrial park", "fill", _CATEGORY_COLOURS["industrial_park"]),
        Legend("Đã đưa vào sử dụng (nét liền)", "In use (solid)", "line", "#444"),
        Legend("Đang xây dựng (nét chấm)", "Under construction (dotted)", "line", "#444", "1 2"),
        Legend("Quy hoạch (nét đứt)", "Planned (dashed)", "line", "#444", "6 4"),
    ),
)

LAYERS = Registry((
    Layer(
        "plans", "Quy hoạch", "Plans",
        "Planning decisions: Decision 686/QĐ-TTg and later adjustments.", None,
        (
            Column("decision_no", "text", "string", "Decision number"),
            Column("decision_date", "date", "string", "Decision date"),
            Column("period_start", "integer", "integer", "First year of the planning period"),
            Column("period_end", "integer", "integer", "Last year of the planning period"),
            Column("vision_year", "integer", "integer", "Vision horizon"),
            Column("signer", "text", "string", "Who signed the decision"),
        ),
        temporal=Temporal("decision_date", "decision_date"),
    ),
    Layer(
        "admin_units", "Đơn vị hành chính", "Administrative units",
        "The province and its 15 district-level units (boundaries before 1/7/2025).", "MultiPolygon",
        (
            Column("level", "text", "string", "province | district", ("province", "district")),
            Column("gso_code", "text", "string", "GSO administrative code"),
            Column("unit_type", "text", "string", "Tỉnh, Thành phố, Thị xã, Huyện"),
            Column("parent_code", "text", "string", "Code of the parent unit"),
        ),
        {**_NAME_ALIASES, "ma_huyen": "gso_code", "ma_dvhc": "gso_code", "loai": "unit_type"},
        tiles=TileSpec(("code", "name_vi", "name_en", "level", "gso_code", "unit_type"), order=10),
        style=_ADMIN_STYLE,
        attribution=OCHA_ATTRIBUTION,
        license_url=CC_BY_3_IGO,
        # the government's boundaries as OCHA and geoBoundaries distribute them: reloaded from the source, never
        # edited by hand (a steward's edit would pass off LAPIS's lines as the attributed official data)
        editable=False,
    ),
    Layer(
        "zones", "Vùng và phân khu", "Zones",
        "The 3 socio-economic regions, the centre and functional zones.", "MultiPolygon",
        (Column("kind", "text", "string", "region, centre or functional-zone kind", ZONE_KINDS),),
        {**_NAME_ALIASES, "loai": "kind"},
        tiles=TileSpec(("code", "name_vi", "name_en", "kind"), order=20),
        style=_ZONES_STYLE,
    ),
    Layer(
        "corridors", "Hành lang kinh tế", "Economic corridors",
        "The 2 economic corridors as bands around their routes.", "MultiPolygon",
        (Column("route", "text", "string", "Roads the corridor follows"),),
        dict(_NAME_ALIASES),
        tiles=TileSpec(("code", "name_vi", "name_en", "route"), order=30),
        style=_CORRIDORS_STYLE,
    ),
    Layer(
        "axes", "Trục động lực", "Development axes",
        "The 6 driving axes as lines.", "MultiLineString",
        (
            Column("rank", "integer", "integer", "Order in the decision (1–6)"),
            Column("roads", "text", "string", "Roads that make up the axis"),
        ),
        dict(_NAME_ALIASES),
        tiles=TileSpec(("code", "name_vi", "name_en", "rank", "roads"), order=50),
        style=_AXES_STYLE,
    ),
    Layer(
        "projects", "Dự án", "Projects",
        "Projects that carry out the plan: roads, expressways, ports, economic zones, industrial parks.",
        "Geometry",
        (
            Column("category", "text", "string", "Project category", PROJECT_CATEGORIES),
            Column("status", "text", "string", "Project status", PROJECT_STATUSES),
            Column("start_year", "integer", "integer", "Year works started or start"),
            Column("end_year", "integer", "integer", "Year of completion (planned or actual)"),
            Column("investment_vnd_bn", "numeric", "number", "Investment, VND billion (published)"),
            Column("length_km", "numeric", "number", "Length in km (published figure)"),
            Column("area_ha", "numeric", "number", "Area in ha (published figure)"),
        ),
        {**_NAME_ALIASES, "loai": "category", "trang_thai": "status"},
        tiles=TileSpec(("code", "name_vi", "name_en", "category", "status", "start_year", "end_year",
                        "investment_vnd_bn", "length_km", "area_ha"), order=60),
        style=_PROJECTS_STYLE,
        temporal=Temporal("start_year", "end_year"),
    ),
    Layer(
        "parcels", "Thửa đất", "Parcels",
        "Land parcels loaded by users.", "MultiPolygon",
        (
            Column("land_use", "text", "string", "Land-use code or class"),
            Column("area_m2", "numeric", "number", "Declared area in m² (as delivered)"),
        ),
        {
            **_NAME_ALIASES, "so_thua": "code", "sothua": "code", "parcel_id": "code",
            "mdsd": "land_use", "loai_dat": "land_use", "dien_tich": "area_m2", "dientich": "area_m2",
        },
        # drawn from z13 on (where a parcel is big enough to see); stored on the tile grid where tiles are heaviest
        # (thousands of parcels a tile at z10–z12) and at z13, the first zoom the plan map draws them (migration 0007)
        tiles=TileSpec(("code", "name_vi", "land_use", "area_m2"), order=40, composite_min_zoom=13, max_zoom=16,
                       stored_grid_zooms=(10, 11, 12, 13)),
        style=_PARCELS_STYLE,
    ),
    Layer(
        "use_rules", "Quy tắc sử dụng đất", "Land-use rules",
        "What may be built where: a verdict (allowed, conditional, prohibited) for each zone or region and use "
        "category, with its legal basis. POST /check applies them to a parcel.", None,
        (
            Column("zone_code", "text", "string", "Code of the zone or region the rule applies to (zones.code)"),
            Column("use_category", "text", "string", "Proposed use", USE_CATEGORIES),
            Column("verdict", "text", "string", "allowed | conditional | prohibited", VERDICTS),
            Column("legal_basis", "text", "string", "Decision or regulation the rule rests on"),
            Column("note_vi", "text", "string", "Why, in Vietnamese"),
            Column("note_en", "text", "string", "Why, in English"),
            Column("inferred", "boolean", "boolean", "True when read off the plan's description, not an official rule"),
        ),
        {**_NAME_ALIASES, "ma_vung": "zone_code", "muc_dich": "use_category", "ket_luan": "verdict"},
    ),
))

SPATIAL_LAYERS = LAYERS.spatial


def get_layer(layer_id: str) -> Layer:
    """A layer of the default registry (UnknownLayer if there is none by that id)."""
    return LAYERS[layer_id]
