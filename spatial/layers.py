"""The layer registry: the one place that says which tables exist and what their columns are.

HTTP collections, tiles, loaders, exports and search all take table and column names from here and
from nowhere else, so an identifier in SQL never comes from user text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from spatial.errors import NotFound


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # PostgreSQL type as created by the migrations
    json_type: str  # JSON Schema type: string | integer | number | array | object
    description: str = ""
    enum: tuple[str, ...] = ()

    @property
    def is_text(self) -> bool:
        return self.sql_type == "text"


# Columns every layer has (besides id, props, timestamps). `plan_id` is resolved from `plan_code`.
COMMON_COLUMNS: tuple[Column, ...] = (
    Column("code", "text", "string", "Stable unique code"),
    Column("name_vi", "text", "string", "Name in Vietnamese"),
    Column("name_en", "text", "string", "Name in English"),
    Column("source", "text", "string", "Where the fact comes from"),
    Column("accuracy", "text", "string", "schematic | surveyed | official | unknown"),
)

PROJECT_CATEGORIES = (
    "expressway", "ring_road", "national_road", "provincial_road", "urban_road",
    "port", "economic_zone", "industrial_park", "railway", "other",
)
PROJECT_STATUSES = ("planned", "under_construction", "completed", "operating")
ZONE_KINDS = (
    "region", "centre", "industrial", "urban", "ecological", "agricultural",
    "economic_zone", "tourism", "other",
)


@dataclass(frozen=True)
class Layer:
    id: str  # collection id == table name
    title_vi: str
    title_en: str
    description: str
    geometry_type: str | None  # PostGIS typmod: MultiPolygon, MultiLineString, Geometry; None = no geometry
    columns: tuple[Column, ...] = field(default_factory=tuple)
    # Default field mapping for loaders: source attribute name (lower case) -> column
    aliases: dict[str, str] = field(default_factory=dict)

    @property
    def all_columns(self) -> tuple[Column, ...]:
        return COMMON_COLUMNS + self.columns

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.all_columns)

    @property
    def has_geometry(self) -> bool:
        return self.geometry_type is not None

    def column(self, name: str) -> Column | None:
        return next((c for c in self.all_columns if c.name == name), None)


_NAME_ALIASES = {
    "name": "name_vi", "ten": "name_vi", "tên": "name_vi", "ten_vi": "name_vi", "name_vn": "name_vi",
    "ma": "code", "mã": "code", "id_code": "code", "ma_so": "code",
}

LAYERS: dict[str, Layer] = {
    layer.id: layer
    for layer in (
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
        ),
        Layer(
            "zones", "Vùng và phân khu", "Zones",
            "The 3 socio-economic regions, the centre and functional zones.", "MultiPolygon",
            (Column("kind", "text", "string", "region, centre or functional-zone kind", ZONE_KINDS),),
            {**_NAME_ALIASES, "loai": "kind"},
        ),
        Layer(
            "corridors", "Hành lang kinh tế", "Economic corridors",
            "The 2 economic corridors as bands around their routes.", "MultiPolygon",
            (Column("route", "text", "string", "Roads the corridor follows"),),
            dict(_NAME_ALIASES),
        ),
        Layer(
            "axes", "Trục động lực", "Development axes",
            "The 6 driving axes as lines.", "MultiLineString",
            (
                Column("rank", "integer", "integer", "Order in the decision (1–6)"),
                Column("roads", "text", "string", "Roads that make up the axis"),
            ),
            dict(_NAME_ALIASES),
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
        ),
    )
}

SPATIAL_LAYERS = tuple(layer for layer in LAYERS.values() if layer.has_geometry)


class UnknownLayer(NotFound):
    def __init__(self, layer_id: str, detail: str | None = None) -> None:
        super().__init__(detail or f"unknown layer {layer_id!r}; known layers: {', '.join(LAYERS)}",
                         parameter="collectionId")
        self.layer_id = layer_id


def get_layer(layer_id: str) -> Layer:
    try:
        return LAYERS[layer_id]
    except KeyError:
        raise UnknownLayer(layer_id) from None
