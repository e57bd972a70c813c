#!/usr/bin/env python3
"""Build the bundled, schematic plan data for LAPIS (Long An provincial master plan 2021-2030).

Deterministic, offline generator (shapely 2 + pyproj). Writes RFC 7946 FeatureCollections
(EPSG:4326, lon/lat, 6 decimals, UTF-8, NFC) into ``data/geojson/``:

    plans.geojson, admin_units.geojson, zones.geojson, corridors.geojson,
    axes.geojson, projects.geojson

All geometry is HAND-DRAWN from the approximate coordinates in the project research brief
(``longan-plan.md``: §1 spatial model, §2 infrastructure, §3 districts with GSO codes,
centroids and bounding boxes, §6 approximate key points). Nothing is copied, traced or
derived from any third-party boundary data set. Accuracy is "schematic" (errors of several km).

Method
------
1. ``OUTLINE_DRAFT`` (hand-drawn province outline) is scaled about ``SCALE_ANCHOR`` (the Mỹ Yên
   interchange) so that its ellipsoidal area equals ``PROVINCE_AREA_KM2`` (4,494.8 km², Decision 686).
2. The 15 districts are a Voronoi partition of ``DISTRICT_SEEDS`` (several seeds per district,
   merged), clipped to the outline.
3. All edges (outline, district borders, region split lines) are noded, snapped to a 1e-6° grid
   and polygonised into faces; districts, regions and the province are unions of those faces, so
   they tile exactly (shared edges stay shared after rounding).

Usage:  python scripts/build_plan_data.py [--out data/geojson]
"""

from __future__ import annotations

import argparse
import json
import math
import unicodedata
from pathlib import Path

import numpy as np
import shapely
from pyproj import Geod, Transformer
from shapely import affinity
from shapely.geometry import LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon, box

GEOD = Geod(ellps="WGS84")
TO_M = Transformer.from_crs("EPSG:4326", "EPSG:9210", always_xy=True)  # VN-2000 / TM-3 105-45 (brief §4)
TO_LL = Transformer.from_crs("EPSG:9210", "EPSG:4326", always_xy=True)
GRID = 1e-6
PLAN_CODE = "QH-LA-2021-2030"
ACCURACY = "schematic"
BBOX = (105.50, 10.39, 106.79, 11.04)  # brief §6 / §3.1 (lon_min, lat_min, lon_max, lat_max)

# ---------------------------------------------------------------------------------------------
# Drawing data. All coordinates are (lon, lat), WGS84, hand-placed from the brief's §3 and §6
# approximate points ([I] in the brief: ±2-5 km) and per-district bounding boxes.
# ---------------------------------------------------------------------------------------------

PROVINCE_AREA_KM2 = 4494.8  # Decision 686/QĐ-TTg natural area (brief §0, §3.1)

# Mỹ Yên interchange (RR3 end × Bến Lức–Long Thành × HCMC–Trung Lương), brief §6: 10.67 N 106.53 E
MY_YEN = (106.530, 10.670)
SCALE_ANCHOR = MY_YEN  # keep the eastern (dense) part fixed while fitting the area

# Province outline, clockwise from the western tip (Tân Hưng). Cambodian border along the north
# (Bình Hiệp gate ~10.86/105.93, Mỹ Quý Tây gate ~10.86/106.16), Tây Ninh/HCMC to the east,
# Soài Rạp at Tân Tập (~106.78 E), Tiền Giang to the south, Đồng Tháp to the west. Brief §3, §6.
OUTLINE_DRAFT = [
    (105.510, 10.840), (105.550, 10.880), (105.600, 10.915), (105.655, 10.940), (105.710, 10.975),
    (105.750, 11.025), (105.790, 11.030), (105.830, 10.990), (105.870, 10.940), (105.930, 10.872),
    (106.000, 10.895), (106.070, 10.905), (106.120, 10.890), (106.160, 10.866), (106.200, 10.930),
    (106.245, 10.985), (106.290, 10.960), (106.335, 10.975), (106.380, 11.030), (106.420, 11.020),
    (106.440, 10.960), (106.465, 10.890), (106.490, 10.835), (106.515, 10.780), (106.550, 10.745),
    (106.5775, 10.7175),  # HCMC/Long An boundary just beyond the RR3 start (brief §6: 10.71 N 106.57 E)
    (106.569, 10.696), (106.561, 10.678), (106.590, 10.667), (106.630, 10.655), (106.690, 10.648),
    (106.740, 10.625), (106.760, 10.590),
    (106.785, 10.540),  # Soài Rạp bank at Tân Tập (Long An International Port, brief §6)
    (106.765, 10.500), (106.725, 10.455), (106.680, 10.465), (106.635, 10.490), (106.600, 10.470),
    (106.580, 10.430), (106.530, 10.395), (106.460, 10.400), (106.420, 10.420), (106.390, 10.450),
    (106.350, 10.475), (106.310, 10.520), (106.260, 10.565), (106.180, 10.600), (106.100, 10.585),
    (106.040, 10.560), (105.970, 10.540), (105.900, 10.530), (105.865, 10.535), (105.830, 10.580),
    (105.800, 10.640), (105.760, 10.680), (105.700, 10.710), (105.630, 10.750), (105.560, 10.800),
]

# District seed points for the Voronoi partition (several per district, merged). Placed from the
# brief §3 centroids / bounding boxes; GSO code -> seeds.
DISTRICT_SEEDS: dict[str, list[tuple[float, float]]] = {
    "794": [(106.405, 10.545), (106.416, 10.522)],  # Tân An (centre 10.535 N 106.413 E)
    "795": [(105.935, 10.795), (105.945, 10.760)],  # Kiến Tường (10.78 N 105.94 E)
    "796": [(105.620, 10.845), (105.695, 10.800), (105.765, 10.720)],  # Tân Hưng
    "797": [(105.765, 10.930), (105.800, 10.985), (105.840, 10.880)],  # Vĩnh Hưng
    "798": [(106.035, 10.800), (106.075, 10.860), (106.030, 10.720)],  # Mộc Hóa (post-2013, E of Kiến Tường)
    "799": [(105.880, 10.620), (105.965, 10.610), (106.050, 10.620)],  # Tân Thạnh
    "800": [(106.140, 10.660), (106.215, 10.700), (106.130, 10.745)],  # Thạnh Hóa
    "801": [(106.225, 10.910), (106.280, 10.845), (106.215, 10.810)],  # Đức Huệ
    "802": [(106.405, 10.960), (106.400, 10.880), (106.465, 10.800), (106.360, 10.850)],  # Đức Hòa
    "803": [(106.455, 10.700), (106.520, 10.670), (106.560, 10.715), (106.420, 10.745), (106.470, 10.635)],
    "804": [(106.330, 10.660), (106.300, 10.725), (106.365, 10.600)],  # Thủ Thừa
    "805": [(106.500, 10.560), (106.515, 10.510)],  # Tân Trụ
    "806": [(106.570, 10.560), (106.625, 10.520), (106.690, 10.480)],  # Cần Đước
    "807": [(106.640, 10.625), (106.700, 10.600), (106.750, 10.550)],  # Cần Giuộc
    "808": [(106.460, 10.440), (106.530, 10.425), (106.400, 10.470)],  # Châu Thành
}
# ("803" = Bến Lức: seeds pull the cell NE to the HCMC boundary so Ring Road 3 lies inside it.)

# Region split lines [I] (brief §1.1 says only "part of" Thủ Thừa / Tân Trụ; the lines are ours):
THU_THUA_SPLIT_LON = 106.290  # meridian: Thủ Thừa west of it -> Region 2 (next to Thạnh Hóa)
THU_THUA_SPLIT_LAT = 10.700  # parallel, east of the meridian: north -> Region 3 (next to Đức Huệ), south -> R1
TAN_TRU_SPLIT_LAT = 10.515  # parallel: Tân Trụ north -> Region 1, south (Vàm Cỏ riverside) -> Region 3
SPLIT_RULE_TEXT = (
    "Thủ Thừa (804): west of meridian 106.290 E -> R2; east of it and north of parallel 10.700 N -> R3; "
    "east of it and south of 10.700 N -> R1. Tân Trụ (805): north of parallel 10.515 N -> R1, south -> R3. "
    "Straight lines chosen by LAPIS [I], not from the decision text."
)

# Route polylines (lon, lat), brief §2 and §6 ([I] alignments).
RR3_LONG_AN = [MY_YEN, (106.552, 10.692), (106.5738, 10.7138)]  # Mỹ Yên -> HCMC boundary (Bình Chánh), 6.84 km
RR4_LONG_AN = [  # brief §6 polyline; via ĐT830E end (Long Định)
    (106.400, 11.000), (106.390, 10.890), (106.470, 10.620), (106.540, 10.572), (106.560, 10.560),
    (106.680, 10.580), (106.750, 10.630),
]
DT830E = [(106.470, 10.620), (106.540, 10.572)]  # An Thạnh (Bến Lức) -> Long Định (Cần Đước), 9.3 km
HCMC_TRUNG_LUONG = [  # Tân Tạo (HCMC) -> Mỹ Yên -> An Thạnh -> W of Tân An -> Thân Cửu Nghĩa (Tiền Giang)
    (106.590, 10.750), MY_YEN, (106.470, 10.620), (106.380, 10.570), (106.345, 10.500), (106.300, 10.400),
]
BEN_LUC_LONG_THANH = [MY_YEN, (106.950, 10.780)]  # west end Mỹ Yên -> Long Thành (Long An part clipped)
DT823D = [(106.390, 10.890), (106.445, 10.860), (106.495, 10.830)]  # Hậu Nghĩa -> Bình Chánh boundary
DT822B = [(106.250, 10.860), (106.300, 10.855), (106.350, 10.845)]  # Đức Huệ -> new Vàm Cỏ Đông bridge -> N2
QL50B = [(106.700, 10.640), (106.670, 10.560), (106.630, 10.470)]  # HCMC end -> Vàm Cỏ Đông crossing
QL62 = [  # Tân An (Km4) -> Thạnh Hóa -> Tân Thạnh -> Bình Hiệp border gate
    (106.410, 10.540), (106.300, 10.600), (106.180, 10.660), (106.060, 10.650), (105.960, 10.620),
    (105.945, 10.750), (105.935, 10.860),
]
QL62_PARALLEL = [  # axis 3: new road parallel to QL62 (north of it) [I]
    (106.395, 10.565), (106.290, 10.625), (106.180, 10.690), (106.060, 10.685), (105.985, 10.670),
    (105.975, 10.760), (105.950, 10.855),
]
QL_N2 = [(106.450, 10.980), (106.390, 10.890), (106.180, 10.700), (105.980, 10.600), (105.850, 10.520)]
QL_N1 = [(106.200, 10.980), (106.160, 10.860), (105.930, 10.860), (105.780, 10.920), (105.600, 10.850),
         (105.500, 10.750)]
MQT_LUONG_HOA_BINH_CHANH = [(106.160, 10.866), (106.260, 10.800), (106.420, 10.725), (106.500, 10.720),
                            (106.548, 10.738)]
DUC_HOA_AXIS = [(106.160, 10.866), (106.250, 10.860), (106.350, 10.845), (106.390, 10.890), (106.445, 10.860),
                (106.495, 10.830)]
TAN_AN_RING = [  # QL62 at Mỹ Phú (Thủ Thừa) round N and E of Tân An to QL1/ĐT833
    (106.360, 10.572), (106.385, 10.592), (106.420, 10.598), (106.450, 10.585), (106.468, 10.557),
    (106.470, 10.525), (106.455, 10.497), (106.425, 10.478),
]

# Point features
TAN_AN_CENTRE = (106.413, 10.535)
PORT_CENTRE = (106.762, 10.545)  # Long An International Port, Tân Tập (brief §6: 10.54 N 106.77 E)
PORT_SIZE_M = (700.0, 2100.0)  # 147 ha (brief §2.4)
PORT_IP_CENTRE = (106.742, 10.552)  # port industrial park, just inland of the port
PORT_IP_SIZE_M = (1800.0, 2200.0)  # 396 ha (brief §2.4)
BORDER_GATES = {  # brief §2.4 and §6 ([I] positions; Long Khốt position is ours)
    "Bình Hiệp": (105.935, 10.868),
    "Mỹ Quý Tây": (106.162, 10.866),
    "Long Khốt": (105.860, 10.955),
}
BORDER_EZ_RADIUS_M = 4800.0
COASTAL_EZ_WEST_LON = 106.620  # coastal EZ proposal drawn as Cần Giuộc + Cần Đước east of this meridian

SRC_686 = "Decision 686/QĐ-TTg; invest.longan.gov.vn"


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def geod_area_km2(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e6


def geod_len_km(geom) -> float:
    return GEOD.geometry_length(geom) / 1000.0


def to_m(geom):
    return shapely.transform(geom, lambda xy: np.column_stack(TO_M.transform(xy[:, 0], xy[:, 1])))


def to_ll(geom):
    return shapely.transform(geom, lambda xy: np.column_stack(TO_LL.transform(xy[:, 0], xy[:, 1])))


def snap(geom):
    return shapely.set_precision(geom, GRID)


def as_multipolygon(geom) -> MultiPolygon:
    parts = getattr(geom, "geoms", [geom])
    polys = []
    for g in parts:
        if isinstance(g, Polygon) and not g.is_empty:
            polys.append(g)
        elif isinstance(g, MultiPolygon):
            polys.extend(g.geoms)
    return shapely.orient_polygons(MultiPolygon(polys))


def as_multiline(geom) -> MultiLineString:
    lines = []
    for g in getattr(geom, "geoms", [geom]):
        if isinstance(g, LineString) and not g.is_empty:
            lines.append(g)
        elif isinstance(g, MultiLineString):
            lines.extend(g.geoms)
    if not lines:
        raise ValueError("empty line geometry")
    return MultiLineString(lines)


def rect_m(centre, size_m) -> Polygon:
    x, y = TO_M.transform(*centre)
    w, h = size_m
    return to_ll(box(x - w / 2, y - h / 2, x + w / 2, y + h / 2))


def fitted_outline() -> Polygon:
    """Scale OUTLINE_DRAFT about SCALE_ANCHOR to hit PROVINCE_AREA_KM2 (deterministic)."""
    draft = Polygon(OUTLINE_DRAFT)
    s = 1.0
    for _ in range(6):
        poly = affinity.scale(draft, s, s, origin=Point(SCALE_ANCHOR))
        s *= math.sqrt(PROVINCE_AREA_KM2 / geod_area_km2(poly))
    poly = affinity.scale(draft, s, s, origin=Point(SCALE_ANCHOR))
    return snap(shapely.orient_polygons(poly))


def nfc(obj):
    if isinstance(obj, str):
        return unicodedata.normalize("NFC", obj)
    if isinstance(obj, dict):
        return {nfc(k): nfc(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [nfc(v) for v in obj]
    return obj


def _round_coords(c):
    if isinstance(c, list | tuple) and c and isinstance(c[0], int | float):
        return [round(float(c[0]), 6), round(float(c[1]), 6)]
    return [_round_coords(x) for x in c]


def geojson_geometry(geom):
    if geom is None:
        return None
    m = shapely.geometry.mapping(geom)
    return {"type": m["type"], "coordinates": _round_coords(m["coordinates"])}


def feature(code: str, geom, props: dict) -> dict:
    return {"type": "Feature", "id": code, "properties": props, "geometry": geojson_geometry(geom)}


def write_fc(path: Path, features: list[dict]) -> None:
    lines = [json.dumps(nfc(f), ensure_ascii=False, separators=(",", ":")) for f in features]
    text = '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"
    path.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# district / region tiling
# ---------------------------------------------------------------------------------------------


def build_tiling(outline: Polygon):
    """Return (districts: code->MultiPolygon, parts: (code, region)->geometry)."""
    seeds = [(code, Point(p)) for code, pts in DISTRICT_SEEDS.items() for p in pts]
    env = box(104.5, 9.5, 107.8, 12.0)
    cells = shapely.voronoi_polygons(MultiPoint([p for _, p in seeds]), extend_to=env)
    raw: dict[str, list] = {code: [] for code in DISTRICT_SEEDS}
    for cell in cells.geoms:
        owner = next(code for code, p in seeds if cell.contains(p))
        raw[owner].append(cell)
    # Every overlay runs on the fixed 1e-6° grid (snap-rounding), so neighbouring cells compute the
    # same rounded nodes and shared edges stay shared.
    dist: dict[str, object] = {}
    for code, cs in raw.items():
        pieces = [shapely.intersection(snap(c), outline, grid_size=GRID) for c in cs]
        dist[code] = shapely.union_all(pieces, grid_size=GRID)

    # region split lines (straight, on grid coordinates) applied as half-planes
    west = box(104.0, 9.0, THU_THUA_SPLIT_LON, 12.0)
    east_north = box(THU_THUA_SPLIT_LON, THU_THUA_SPLIT_LAT, 108.0, 12.0)
    east_south = box(THU_THUA_SPLIT_LON, 9.0, 108.0, THU_THUA_SPLIT_LAT)
    tr_north = box(104.0, TAN_TRU_SPLIT_LAT, 108.0, 12.0)
    tr_south = box(104.0, 9.0, 108.0, TAN_TRU_SPLIT_LAT)
    tt, tr = dist["804"], dist["805"]
    parts = {
        ("804", "R2"): shapely.intersection(tt, west, grid_size=GRID),
        ("804", "R3"): shapely.intersection(tt, east_north, grid_size=GRID),
        ("804", "R1"): shapely.intersection(tt, east_south, grid_size=GRID),
        ("805", "R1"): shapely.intersection(tr, tr_north, grid_size=GRID),
        ("805", "R3"): shapely.intersection(tr, tr_south, grid_size=GRID),
    }
    dist_geoms = {c: as_multipolygon(g) for c, g in dist.items()}
    part_geoms = {k: as_multipolygon(g) for k, g in parts.items()}
    return dist_geoms, part_geoms


# ---------------------------------------------------------------------------------------------
# attribute tables (brief §0, §1, §2, §3)
# ---------------------------------------------------------------------------------------------

DISTRICTS = [
    # code, name_vi, unit_type, name_en, population_2021 [S], published area km² (None if not in brief)
    ("794", "Tân An", "Thành phố", "Tan An City", 145120, 81.94),
    ("795", "Kiến Tường", "Thị xã", "Kien Tuong Town", 43674, 204.28),
    ("796", "Tân Hưng", "Huyện", "Tan Hung District", 47651, None),
    ("797", "Vĩnh Hưng", "Huyện", "Vinh Hung District", 50074, 384.52),
    ("798", "Mộc Hóa", "Huyện", "Moc Hoa District", 28165, None),
    ("799", "Tân Thạnh", "Huyện", "Tan Thanh District", 77537, None),
    ("800", "Thạnh Hóa", "Huyện", "Thanh Hoa District", 56074, None),
    ("801", "Đức Huệ", "Huyện", "Duc Hue District", 65961, 430.92),
    ("802", "Đức Hòa", "Huyện", "Duc Hoa District", 315711, None),
    ("803", "Bến Lức", "Huyện", "Ben Luc District", 181660, None),
    ("804", "Thủ Thừa", "Huyện", "Thu Thua District", 98333, None),
    ("805", "Tân Trụ", "Huyện", "Tan Tru District", 66502, None),
    ("806", "Cần Đước", "Huyện", "Can Duoc District", 187359, None),
    ("807", "Cần Giuộc", "Huyện", "Can Giuoc District", 214914, None),
    ("808", "Châu Thành", "Huyện", "Chau Thanh District", 109812, None),
]

REGIONS = [
    ("R1", "Vùng đô thị và công nghiệp", "Urban and industrial region",
     ["802", "803", "807", "806", "808", "794"], ["805", "804"]),
    ("R2", "Vùng nông nghiệp ứng dụng công nghệ cao, du lịch và kinh tế cửa khẩu",
     "High-tech agriculture, tourism and border-gate economy region",
     ["795", "797", "796", "798", "799", "800"], ["804"]),
    ("R3", "Vùng đệm sinh thái", "Ecological buffer region", ["801"], ["804", "805"]),
]


def base_props(code, name_vi, name_en, source, **extra) -> dict:
    props = {"code": code, "name_vi": name_vi, "name_en": name_en, "source": source, "accuracy": ACCURACY,
             "plan_code": PLAN_CODE}
    props.update(extra)
    return props


def build(out_dir: Path) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    outline = fitted_outline()
    districts, parts = build_tiling(outline)
    province = as_multipolygon(shapely.union_all(list(districts.values()), grid_size=GRID))
    summary = {"province_km2": geod_area_km2(province)}

    def clip_line(coords):
        return as_multiline(snap(LineString(coords).intersection(province)))

    def crossed(geom):
        if geom.geom_type.endswith("Polygon"):
            return sorted(c for c, g in districts.items() if g.intersection(geom).area > 1e-9)
        return sorted(c for c, g in districts.items() if g.intersection(geom).length > 1e-9)

    # ---- plans
    plans = [{
        "type": "Feature", "id": PLAN_CODE, "geometry": None,
        "properties": {
            "code": PLAN_CODE,
            "name_vi": "Quy hoạch tỉnh Long An thời kỳ 2021–2030, tầm nhìn đến năm 2050",
            "name_en": "Long An provincial master plan 2021–2030, vision 2050",
            "decision_no": "686/QĐ-TTg", "decision_date": "2023-06-13",
            "period_start": 2021, "period_end": 2030, "vision_year": 2050, "signer": "Trần Hồng Hà",
            "source": "Decision 686/QĐ-TTg; thuvienphapluat.vn; english.luatvietnam.vn",
            "accuracy": ACCURACY,
            "natural_area_km2": PROVINCE_AREA_KM2,
            "consultant": "McKinsey & Company Vietnam",
            "spatial_model": "1 trung tâm – 2 hành lang kinh tế – 3 vùng KT-XH – 6 trục động lực",
            "planning_task_decision": "522/QĐ-TTg (2020-04-16)",
            "council_endorsement": "59/NQ-HĐND (2022-10-27)",
        },
    }]

    # ---- admin units
    boundary_note = ("Pre-1/7/2025 units (district level abolished and Long An merged into Tây Ninh on "
                     "2025-07-01); schematic boundaries drawn for LAPIS, not official.")
    admin = [feature("80", province, base_props(
        "80", "Long An", "Long An Province", "Decision 686/QĐ-TTg (area 4,494.8 km²); schematic outline (brief §3, §6)",
        level="province", gso_code="80", unit_type="Tỉnh", parent_code=None, boundary_date="pre-2025-07-01",
        note=boundary_note, area_km2=PROVINCE_AREA_KM2, drawn_area_km2=round(summary["province_km2"], 2),
        population=1688547, population_source="nasaland.vn [S]", iso_3166_2="VN-41"))]
    for code, name_vi, unit_type, name_en, pop, area in DISTRICTS:
        g = districts[code]
        admin.append(feature(code, g, base_props(
            code, name_vi, name_en, "GSO district codes 794–808; schematic Voronoi boundary (brief §3)",
            level="district", gso_code=code, unit_type=unit_type, parent_code="80",
            boundary_date="pre-2025-07-01", note=boundary_note, population_2021=pop, area_km2=area,
            drawn_area_km2=round(geod_area_km2(g), 2))))

    # ---- zones
    zones = []
    for rcode, name_vi, name_en, members, partial in REGIONS:
        geoms = [districts[c] for c in members] + [g for (c, r), g in parts.items() if r == rcode]
        g = as_multipolygon(shapely.union_all(geoms, grid_size=GRID))
        zones.append(feature(rcode, g, base_props(
            rcode, name_vi, name_en,
            "Decision 686/QĐ-TTg; invest.longan.gov.vn; cafeland.vn (names [V]); membership of R3 and "
            "split lines [I]",
            kind="region", member_units=members, partial_units=partial, split_rule=SPLIT_RULE_TEXT,
            drawn_area_km2=round(geod_area_km2(g), 2))))
    zones.append(feature("C1", districts["794"], base_props(
        "C1", "Trung tâm Tân An", "Tân An centre", "Decision 686/QĐ-TTg; invest.longan.gov.vn; cafeland.vn",
        kind="centre", member_units=["794"], partial_units=[],
        role="Political-administrative centre; satellite city of HCMC",
        centre_point=[TAN_AN_CENTRE[0], TAN_AN_CENTRE[1]])))
    border_ez = as_multipolygon(snap(shapely.union_all(
        [to_ll(to_m(Point(p)).buffer(BORDER_EZ_RADIUS_M, 32)) for p in BORDER_GATES.values()]
    ).intersection(province)))
    border_ez_ha = geod_area_km2(border_ez) * 100
    zones.append(feature("Z-KKTCK", border_ez, base_props(
        "Z-KKTCK", "Khu kinh tế cửa khẩu Long An", "Long An border-gate economic zone",
        "dantocmiennui.vn (area >13,000 ha, gates); drawn as 4.8 km discs round the gates [I]",
        kind="economic_zone", member_units=[], partial_units=crossed(border_ez),
        gates=list(BORDER_GATES), area_ha=13000, area_note="published as 'over 13,000 ha'",
        drawn_area_ha=round(border_ez_ha))))
    coastal = as_multipolygon(snap(shapely.union_all([districts["806"], districts["807"]]).intersection(
        box(COASTAL_EZ_WEST_LON, 10.0, 107.0, 11.5))))
    zones.append(feature("Z-KKTVB", coastal, base_props(
        "Z-KKTVB", "Khu kinh tế ven biển Cần Giuộc – Cần Đước (đề xuất)",
        "Cần Giuộc – Cần Đước coastal economic zone (proposal)",
        "vamcodong.vn [S] (proposal ~32,000 ha); Decision 686 region 1 text; extent drawn [I]",
        kind="industrial", member_units=[], partial_units=["806", "807"], area_ha=32000,
        area_note="proposal figure [S], not in the decision text",
        drawn_area_ha=round(geod_area_km2(coastal) * 100))))

    # ---- corridors
    def band(lines, km):
        merged = shapely.union_all([LineString(c) for c in lines])
        return as_multipolygon(snap(to_ll(to_m(merged).buffer(km * 1000, 16)).intersection(province)))

    corridors = [
        feature("HL1", band([RR3_LONG_AN, RR4_LONG_AN], 4.0), base_props(
            "HL1", "Hành lang đường Vành đai 3 – 4", "Ring Road 3–4 corridor",
            "Decision 686/QĐ-TTg; invest.longan.gov.vn; cafeland.vn",
            route="HCMC Ring Road 3 + Ring Road 4", width_km=8.0, buffer_km=4.0)),
        feature("HL2", band([QL50B], 4.0), base_props(
            "HL2", "Hành lang phát triển phía Nam", "Southern development corridor",
            "Decision 686/QĐ-TTg; invest.longan.gov.vn; vietnam.vn",
            route="QL50B (formerly ĐT827E)", width_km=8.0, buffer_km=4.0)),
    ]
    for f, g in zip(corridors, [band([RR3_LONG_AN, RR4_LONG_AN], 4.0), band([QL50B], 4.0)], strict=True):
        f["properties"]["district_codes"] = crossed(g)

    # ---- axes
    axes_def = [
        ("TDL1", "Trục động lực Vành đai 3 – Vành đai 4", "Ring Road 3–4 axis", [RR3_LONG_AN, RR4_LONG_AN],
         ["Vành đai 3", "Vành đai 4"]),
        ("TDL2", "Trục động lực quốc lộ 50B", "National Highway 50B axis", [QL50B], ["QL50B (ĐT827E)"]),
        ("TDL3", "Trục động lực song hành quốc lộ 62", "Axis parallel to NH62", [QL62_PARALLEL],
         ["new road parallel to QL62"]),
        ("TDL4", "Trục động lực Mỹ Quý Tây – Lương Hòa – Bình Chánh", "Mỹ Quý Tây – Lương Hòa – Bình Chánh axis",
         [MQT_LUONG_HOA_BINH_CHANH], ["Mỹ Quý Tây – Lương Hòa – Bình Chánh road"]),
        ("TDL5", "Trục động lực quốc lộ N1", "NH N1 axis", [QL_N1], ["QL N1"]),
        ("TDL6", "Trục động lực Đức Hòa", "Đức Hòa axis", [DUC_HOA_AXIS], ["ĐT838", "ĐT822B", "ĐT823D"]),
    ]
    axes = []
    for rank, (code, name_vi, name_en, lines, roads) in enumerate(axes_def, start=1):
        g = as_multiline(snap(shapely.union_all([LineString(c) for c in lines]).intersection(province)))
        g = as_multiline(shapely.line_merge(g)) if not g.is_empty else g
        axes.append(feature(code, g, base_props(
            code, name_vi, name_en, "Decision 686/QĐ-TTg; thanhnien.vn; sggp.org.vn; alignment [I]",
            rank=rank, roads=roads, district_codes=crossed(g), drawn_length_km=round(geod_len_km(g), 2))))

    # ---- projects
    port = snap(rect_m(PORT_CENTRE, PORT_SIZE_M).intersection(province))
    port_ip = snap(rect_m(PORT_IP_CENTRE, PORT_IP_SIZE_M).difference(port).intersection(province))
    rr3 = snap(LineString(RR3_LONG_AN))
    summary["rr3_km"] = geod_len_km(rr3)
    proj_def = [
        # code, name_vi, name_en, category, status, start, end, invest, length_km, area_ha, geom, source, extra
        ("DA-VD3", "Đường Vành đai 3 TP.HCM – đoạn qua Long An", "HCMC Ring Road 3 – Long An section",
         "ring_road", "under_construction", 2023, 2025, None, 6.84, None, MultiLineString([rr3]),
         "en.sggp.org.vn (2023-06-30, 2024-11)",
         {"note": "Entirely in Bến Lức; ends at Mỹ Yên interchange. Long An section cost not found",
          "whole_project_length_km": 76.34, "whole_project_investment_vnd_bn": 75000}),
        ("DA-VD4", "Đường Vành đai 4 TP.HCM – đoạn qua Long An", "HCMC Ring Road 4 – Long An section",
         "ring_road", "planned", None, 2028, 68700, 78.3, None, clip_line(RR4_LONG_AN),
         "en.sggp.org.vn (2025-04-02, post116727); news.laodong.vn",
         {"length_note": "78.3 km (sggp 2/4/2025); also 74.5 km and 71 km in other versions",
          "land_ha": 579.51, "funding": "PPP, 4 sub-projects"}),
        ("DA-CT-HCM-TL", "Đường cao tốc TP.HCM – Trung Lương (đoạn qua Long An)",
         "HCMC – Trung Lương expressway (Long An part)", "expressway", "operating", None, None, 9880, None,
         None, clip_line(HCMC_TRUNG_LUONG), "plo.vn; vietnamplus",
         {"whole_project_length_km": 62, "investment_scope": "whole project (revised, over VND 9,880 bn)"}),
        ("DA-CT-BL-LT", "Đường cao tốc Bến Lức – Long Thành (đoạn qua Long An)",
         "Bến Lức – Long Thành expressway (Long An part)", "expressway", "completed", None, 2025, 29587, 2.7,
         None, clip_line(BEN_LUC_LONG_THANH), "vtcnews.vn (2025-04); znews.vn",
         {"whole_project_length_km": 57.8, "investment_scope": "whole project",
          "status_note": "technical opening 2025"}),
        ("DA-DT830E", "Đường tỉnh 830E", "Provincial road ĐT830E", "provincial_road", "under_construction", 2023,
         None, 3707, 9.3, None, clip_line(DT830E), "vietbao.vn; danviet.vn",
         {"note": "First phase of the Ring Road 4 alignment (An Thạnh – Long Định)"}),
        ("DA-DT823D", "Đường tỉnh 823D", "Provincial road ĐT823D", "provincial_road", "planned", None, None, 2500,
         14.27, None, clip_line(DT823D), "vietbao.vn (2021-12)",
         {"status_note": "status as of the 2021 source; not verified", "lanes": 6}),
        ("DA-DT822B", "Đường tỉnh 822B", "Provincial road ĐT822B", "provincial_road", "planned", None, None, 920,
         11.4, None, clip_line(DT822B), "realtier.net",
         {"investment_scope": "phase 1", "bridge": "Vàm Cỏ Đông bridge 536 m (VND 322 bn)"}),
        ("DA-QL50B", "Quốc lộ 50B (ĐT827E)", "National Road 50B (former ĐT827E)", "national_road",
         "under_construction", 2024, None, None, None, None, clip_line(QL50B), "baolongan.vn; vietnam.vn",
         {"note": "About 9.2 km through Mỹ Lộc (Cần Giuộc); total length and cost not found"}),
        ("DA-QL62", "Nâng cấp Quốc lộ 62", "National Road 62 upgrade", "national_road", "planned", None, None,
         None, None, None, clip_line(QL62), "vietnam.vn",
         {"note": "Grade III, Tân Thạnh bypass Km41+100–Km49+150; part of a 3-road package over VND 7,100 bn"}),
        ("DA-QLN2", "Quốc lộ N2 (đường Hồ Chí Minh) qua Long An", "National Road N2 (Hồ Chí Minh road), Long An",
         "national_road", "planned", None, None, None, None, None, clip_line(QL_N2), "baolongan.vn; vietbao.vn",
         {"note": "Route via Hậu Nghĩa – Thạnh Hóa – Tân Thạnh [S]/[I]"}),
        ("DA-VDTA", "Đường vành đai TP Tân An", "Tân An ring road", "urban_road", "completed", None, 2023, 3102,
         22.0, None, clip_line(TAN_AN_RING), "baolongan.vn (a176809)",
         {"length_note": "published as 'over 22 km', 5 bridges", "opened": "2023-12-23"}),
        ("DA-CLA", "Cảng quốc tế Long An", "Long An International Port", "port", "operating", None, None, 10000,
         None, 147, as_multipolygon(port), "eng.longan.gov.vn; sggpnews.org.vn; en.qdnd.vn",
         {"investor": "Dong Tam Group", "berths": 7, "berth_length_m": 1670,
          "note": "Container service since 2023-06-24; ~VND 10,000 bn", "commune": "Tân Tập"}),
        ("DA-KCN-CLA", "Khu công nghiệp cảng quốc tế Long An", "Long An International Port industrial park",
         "industrial_park", "operating", None, None, None, None, 396, as_multipolygon(port_ip),
         "eng.longan.gov.vn (396 ha IP within the 1,925–1,935 ha port cluster)",
         {"status_note": "status not stated in the brief [I]"}),
        ("DA-KKTCK", "Khu kinh tế cửa khẩu Long An", "Long An border-gate economic zone", "economic_zone",
         "planned", None, None, None, None, 13000, border_ez, "dantocmiennui.vn",
         {"area_note": "published as 'over 13,000 ha'", "gates": list(BORDER_GATES)}),
    ]
    projects = []
    for (code, name_vi, name_en, cat, status, y0, y1, inv, length, area, geom, src, extra) in proj_def:
        props = base_props(code, name_vi, name_en, src, category=cat, status=status, start_year=y0, end_year=y1,
                           investment_vnd_bn=inv, length_km=length, area_ha=area, district_codes=crossed(geom))
        if geom.geom_type.endswith("LineString"):
            props["drawn_length_km"] = round(geod_len_km(geom), 2)
        else:
            props["drawn_area_ha"] = round(geod_area_km2(geom) * 100, 1)
        props.update(extra)
        projects.append(feature(code, geom, props))

    for name, feats in [("plans", plans), ("admin_units", admin), ("zones", zones), ("corridors", corridors),
                        ("axes", axes), ("projects", projects)]:
        write_fc(out_dir / f"{name}.geojson", feats)
    summary["districts"] = {c: round(geod_area_km2(g), 1) for c, g in districts.items()}
    summary["projects"] = {f["id"]: (f["properties"].get("drawn_length_km"), f["properties"].get("drawn_area_ha"))
                           for f in projects}
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "data" / "geojson")
    args = ap.parse_args()
    summary = build(args.out)
    print(json.dumps(summary, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
