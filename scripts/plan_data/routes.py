"""The roads of the plan drawn on the real districts.

Every alignment starts from the brief's approximate points (§6, [I], ±2–5 km) and is then placed so that it
agrees with what the brief states as fact: Ring Road 3 runs 6.84 km inside Bến Lức to the Mỹ Yên interchange;
ĐT830E is 9.3 km; ĐT822B 11.4 km; ĐT823D ends on the Bình Chánh boundary; QL N1 follows the
Cambodian border inside the province; QL62 ends at the Bình Hiệp gate. A road the brief says leaves the province
is drawn past the outline and only its Long An part is kept (`clip_line`). Each choice is noted where it is made.
"""

from __future__ import annotations

from dataclasses import dataclass

import shapely
from shapely.geometry import LineString, MultiLineString, Point
from shapely.ops import substring

from plan_data.frame import Frame, point_at_distance
from plan_data.geo import (
    LonLat,
    bisect,
    buffer_m,
    clip_line,
    distance_km,
    length_km,
    nearest_on,
    ring_arc,
    substring_km,
    to_ll,
    to_m,
)

# Brief §6 approximate points ([I]) used as drawing hints; lon, lat.
TAN_AN_CENTRE: LonLat = (106.413, 10.535)  # provincial HQ, §1.2 / §6
MY_YEN_HINT: LonLat = (106.530, 10.670)  # Mỹ Yên interchange (Mỹ Yên commune, Bến Lức [V])
RR3_START_HINT: LonLat = (106.570, 10.710)  # RR3 at the HCMC/Long An boundary (from Bình Chánh)
LONG_THANH: LonLat = (106.950, 10.780)  # Bến Lức–Long Thành east end (outside)
TAN_TAO: LonLat = (106.590, 10.750)  # HCMC–Trung Lương start (HCMC, outside)
THAN_CUU_NGHIA: LonLat = (106.300, 10.400)  # HCMC–Trung Lương end (Tiền Giang, outside)
HAU_NGHIA: LonLat = (106.390, 10.890)  # Hậu Nghĩa interchange (RR4 × ĐT823D × N2), Đức Hòa
AN_THANH: LonLat = (106.470, 10.620)  # Bến Lức interchange of the expressway (RR4 × ĐT830E), Bến Lức
LONG_DINH_HINT: LonLat = (106.560, 10.560)  # ĐT830E end at ĐT830 (Long Định, Cần Đước)
MY_LOC: LonLat = (106.680, 10.580)  # RR4 in Cần Giuộc (Mỹ Lộc commune)
RR4_NORTH: LonLat = (106.400, 11.000)  # RR4 from the Tây Ninh/HCMC side (outside)
HIEP_PHUOC: LonLat = (106.750, 10.630)  # RR4 over the Soài Rạp to Hiệp Phước (HCMC, outside)
CU_CHI: LonLat = (106.450, 10.980)  # N2 from Củ Chi (HCMC, outside)
THANH_HOA_N2: LonLat = (106.180, 10.700)
TAN_THANH_N2: LonLat = (105.980, 10.600)
MY_AN: LonLat = (105.850, 10.520)  # N2 on to Mỹ An (Đồng Tháp, outside)
QL62_THANH_HOA: LonLat = (106.180, 10.660)  # QL62 at the Vàm Cỏ Tây crossing area
QL62_TAN_THANH: LonLat = (105.960, 10.620)  # QL62 Tân Thạnh bypass
QL50B_HCMC: LonLat = (106.700, 10.640)  # QL50B from the HCMC (Nhà Bè/Bình Chánh) side …
QL50B_VAM_CO: LonLat = (106.630, 10.470)  # … to the Vàm Cỏ Đông crossing towards Tiền Giang
BINH_HOA_NAM: LonLat = (106.330, 10.800)  # axis 4 passes the Bình Hòa Nam parks (Đức Huệ) [I]
LUONG_HOA: LonLat = (106.460, 10.735)  # axis 4 via Lương Hòa (Bến Lức) [I]
PHAM_VAN_HAI_HINT: LonLat = (106.505, 10.795)  # ĐT823D meets the Võ Văn Kiệt extension (Bình Chánh side) [I]
VAM_CO_DONG_BRIDGE_HINT: LonLat = (106.350, 10.850)  # ĐT822B's new Vàm Cỏ Đông bridge [I]

# Published lengths the drawing honours (brief §2)
RR3_KM = 6.84
BEN_LUC_LONG_THANH_KM = 2.7
DT830E_KM = 9.3
DT822B_KM = 11.4
TAN_AN_RING_KM = 22.0  # "over 22 km"
RR4_PUBLISHED_KM = (74.5, 78.3)  # brief §2.2 (laodong / sggp 5/6/2025; sggp 2/4/2025); 71 km in a 2022 draft
RR4_TARGET_KM = sum(RR4_PUBLISHED_KM) / 2

N1_INSET_M = 2000.0  # QL N1 drawn 2 km inside the border [I]
QL62_PARALLEL_OFFSET_M = 3000.0  # axis 3 drawn 3 km north/east of QL62 [I]
OUTSIDE_KM = 3.0  # how far a road that leaves the province is drawn past its last point before clipping


@dataclass(frozen=True)
class Routes:
    """Every drawn road, already cut to the province (MultiLineString), plus the points they share."""

    my_yen: LonLat
    rr4_entry: LonLat
    long_dinh: LonLat
    bridge: LonLat
    rr3: MultiLineString
    rr4: MultiLineString
    dt830e: MultiLineString
    hcmc_trung_luong: MultiLineString
    ben_luc_long_thanh: MultiLineString
    dt823d: MultiLineString
    dt822b: MultiLineString
    ql50b: MultiLineString
    ql62: MultiLineString
    ql62_parallel: MultiLineString
    ql_n2: MultiLineString
    ql_n1: MultiLineString
    mqt_luong_hoa_binh_chanh: MultiLineString
    duc_hoa_axis: MultiLineString
    tan_an_ring: MultiLineString


def extend(coords: list[LonLat], km: float, start: bool = True, end: bool = True) -> list[LonLat]:
    """The polyline with its ends pushed `km` further along their end segments (to run past the outline)."""
    line = to_m(LineString(coords))
    pts = list(line.coords)

    def push(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, float]:
        d = Point(a).distance(Point(b))
        return (b[0] + (b[0] - a[0]) / d * km * 1000, b[1] + (b[1] - a[1]) / d * km * 1000)

    if start:
        pts[0] = push(pts[1], pts[0])
    if end:
        pts[-1] = push(pts[-2], pts[-1])
    return list(to_ll(LineString(pts)).coords)


def along(a: LonLat, b: LonLat, km: float) -> LonLat:
    """The point `km` from a towards b (straight, metric)."""
    line = to_m(LineString([a, b]))
    p = to_ll(line.interpolate(km * 1000 * line.length / (distance_km(a, b) * 1000)))
    return (p.x, p.y)


def inside(frame: Frame, line: LineString, what: str) -> MultiLineString:
    """A road the brief puts wholly in the province: cut to it, and refuse if more than 100 m falls outside."""
    outside_km = length_km(line.difference(buffer_m(frame.province, 1.0)))
    if outside_km > 0.1:
        raise ValueError(f"{what}: {outside_km:.2f} km outside the province")
    return clip_line(line, frame.province)


def ring_road_3(frame: Frame, my_yen: LonLat) -> LineString:
    """Mỹ Yên → the point of Bến Lức's HCMC edge 6.84 km away (straight), the one nearest the brief's start."""
    start = point_at_distance(my_yen, frame.outline_of("803"), RR3_KM, RR3_START_HINT)
    start = along(start, my_yen, 0.001)  # 1 m inside, so rounding cannot put the end across the boundary
    return LineString([start, my_yen])


def ql_n1(frame: Frame) -> LineString:
    """The Cambodian border moved N1_INSET_M inside the province, from the Tây Ninh tripoint to the Đồng Tháp
    edge of Tân Hưng (the brief: Đức Huệ/Tây Ninh boundary → Mỹ Quý Tây → Bình Hiệp → Vĩnh Hưng → Tân Hưng →
    Đồng Tháp)."""
    core = buffer_m(frame.province, -N1_INSET_M, quad_segs=8)
    ring = LineString(max(getattr(core, "geoms", [core]), key=lambda g: g.area).exterior.coords)
    east, west = frame.border.coords[0], frame.border.coords[-1]
    if east[0] < west[0]:
        east, west = west, east
    arc = ring_arc(ring, west, east, prefer=lambda a: a.centroid.y)
    if Point(arc.coords[0]).distance(Point(east)) < Point(arc.coords[0]).distance(Point(west)):
        arc = LineString(arc.coords[::-1])  # west → east
    arc = to_ll(to_m(arc).simplify(150.0))
    # ends: the Tây Ninh tripoint, and the nearest point of Tân Hưng's edge with Đồng Tháp
    dong_thap_edge = frame.outline_of("796").difference(buffer_m(frame.border, 5.0))
    west_end = nearest_on(dong_thap_edge, arc.coords[0])
    return LineString([west_end, *arc.coords, east])



def pull_inside(frame: Frame, coords: list[LonLat], inset_m: float = 100.0) -> LineString:
    """A road the brief puts wholly inside the province, drawn through points some of which fall just outside
    the generalised outline: every stretch outside is moved onto the province shrunk by `inset_m` (repeated
    until no stretch crosses the outline)."""
    core = buffer_m(frame.province, -inset_m, quad_segs=8)
    line = LineString(coords)
    for _ in range(6):
        line = to_ll(shapely.segmentize(to_m(line), 100.0))
        if frame.province.covers(line):
            break
        line = LineString([c if core.covers(Point(c)) else nearest_on(core.boundary, c) for c in line.coords])
    simpler = to_ll(to_m(line).simplify(10.0))
    return simpler if frame.province.covers(simpler) else line


def _rr4(frame: Frame, long_dinh: LonLat) -> tuple[LineString, LonLat]:
    """RR4 through the brief's points; it enters "from the Tây Ninh/HCMC boundary near Đức Hòa north", a place
    the brief does not pin down, so the entry slides along Đức Hòa's northern edge (from the outline point
    nearest the brief's sketch, westwards to Đức Hòa's northern tip) until the Long An length is the middle of
    the published 74.5–78.3 km [I]."""
    outline = LineString(max(frame.geom("802").geoms, key=lambda g: g.area).exterior.coords)
    north_tip = max(outline.coords, key=lambda c: c[1])
    edge = ring_arc(outline, nearest_on(outline, RR4_NORTH), north_tip, prefer=lambda a: a.centroid.y)
    if Point(edge.coords[0]).distance(Point(north_tip)) < Point(edge.coords[-1]).distance(Point(north_tip)):
        edge = LineString(edge.coords[::-1])  # from the sketch's entry towards the tip

    def road(t: float) -> LineString:
        entry = edge.interpolate(t, normalized=True)
        start = along(HAU_NGHIA, (entry.x, entry.y), distance_km(HAU_NGHIA, (entry.x, entry.y)) + OUTSIDE_KM)
        return LineString(extend([start, HAU_NGHIA, AN_THANH, long_dinh, MY_LOC, HIEP_PHUOC], OUTSIDE_KM,
                                 start=False))

    t = bisect(lambda t: length_km(clip_line(road(t), frame.province)), 0.0, 1.0, RR4_TARGET_KM)
    entry = edge.interpolate(t, normalized=True)
    return road(t), (entry.x, entry.y)


def _tan_an_ring(frame: Frame, ql62: LineString) -> LineString:
    """From QL62 at Mỹ Phú (Thủ Thừa, 1 km past the Tân An edge [I]) to QL1/ĐT833 (3 km north-east of the
    centre, where ĐT833 leaves QL1 for Tân Trụ [I]). 22 km between two points on the northern side of the
    city can only be the long way round, west, south and east [I]: drawn as Tân An's own outline (without
    its wiggles under 300 m) shrunk about the centre until the road is the published length."""
    tan_an = frame.geom("794")
    exits = ql62.intersection(tan_an.boundary)
    leave_km = min(length_km(substring(ql62, 0, ql62.project(p))) for p in getattr(exits, "geoms", [exits]))
    my_phu = substring_km(ql62, 0, leave_km + 1.0).coords[-1]
    outline = to_ll(to_m(LineString(max(tan_an.geoms, key=lambda g: g.area).exterior.coords)).simplify(300.0))
    dt833 = along(TAN_AN_CENTRE, (TAN_AN_CENTRE[0] + 0.1, TAN_AN_CENTRE[1] + 0.1), 3.0)

    def road(scale: float) -> LineString:
        ring = shapely.affinity.scale(outline, scale, scale, origin=Point(TAN_AN_CENTRE))
        arc = ring_arc(ring, my_phu, dt833, prefer=lambda a: -a.centroid.y)
        coords = list(arc.coords)
        if Point(coords[0]).distance(Point(my_phu)) > Point(coords[-1]).distance(Point(my_phu)):
            coords.reverse()
        return LineString([my_phu, *coords])

    return road(bisect(lambda s: length_km(road(s)), 0.3, 0.98, TAN_AN_RING_KM))


def draw_routes(frame: Frame, gates: dict[str, LonLat]) -> Routes:
    prov = frame.province
    my_yen = MY_YEN_HINT
    if frame.district_at(my_yen) != "803":
        raise ValueError("the Mỹ Yên interchange must lie in Bến Lức")
    long_dinh = along(AN_THANH, LONG_DINH_HINT, DT830E_KM)  # ĐT830E is 9.3 km: Long Định that far on [I]
    rr4, rr4_entry = _rr4(frame, long_dinh)
    blt_end = point_at_distance(my_yen, frame.outline_of("803"), BEN_LUC_LONG_THANH_KM,
                                along(my_yen, LONG_THANH, BEN_LUC_LONG_THANH_KM))
    n2 = clip_line(LineString(extend([CU_CHI, HAU_NGHIA, THANH_HOA_N2, TAN_THANH_N2, MY_AN], OUTSIDE_KM)), prov)
    # ĐT822B's new Vàm Cỏ Đông bridge "links Mỹ Quý Tây with N2": where N2 crosses the river, i.e. the
    # Đức Huệ/Đức Hòa boundary, nearest the sketch
    river = frame.geom("801").boundary.intersection(frame.geom("802").boundary)
    bridge = nearest_on(n2.intersection(river), VAM_CO_DONG_BRIDGE_HINT)
    mqt, binh_hiep = gates["Mỹ Quý Tây"], gates["Bình Hiệp"]
    # ĐT823D ends on the Bình Chánh boundary; a straight 14.27 km from the sketch's Hậu Nghĩa reaches only the
    # Củ Chi side, so the end keeps the place and the drawn length is reported next to the published one
    dt823d_end = nearest_on(frame.outline_of("802"), PHAM_VAN_HAI_HINT)
    duc_hoa = pull_inside(frame, [mqt, bridge, HAU_NGHIA, dt823d_end])
    to_bridge = length_km(substring(duc_hoa, 0, duc_hoa.project(Point(bridge))))
    ql62 = pull_inside(frame, [TAN_AN_CENTRE, QL62_THANH_HOA, QL62_TAN_THANH, binh_hiep])
    parallel = to_ll(to_m(LineString([TAN_AN_CENTRE, QL62_THANH_HOA, QL62_TAN_THANH, binh_hiep]))
                     .offset_curve(-QL62_PARALLEL_OFFSET_M, join_style="mitre"))
    axis4_end = nearest_on(frame.outline_of("803"), LUONG_HOA)
    return Routes(
        my_yen=my_yen, rr4_entry=rr4_entry, long_dinh=long_dinh, bridge=bridge,
        rr3=inside(frame, ring_road_3(frame, my_yen), "Ring Road 3"),
        rr4=clip_line(rr4, prov),
        dt830e=inside(frame, LineString([AN_THANH, long_dinh]), "ĐT830E"),
        hcmc_trung_luong=clip_line(LineString(extend(
            [TAN_TAO, my_yen, AN_THANH, (106.380, 10.570), (106.355, 10.500), THAN_CUU_NGHIA], OUTSIDE_KM)), prov),
        ben_luc_long_thanh=inside(frame, LineString([my_yen, blt_end]), "Bến Lức–Long Thành"),
        dt823d=inside(frame, LineString([HAU_NGHIA, dt823d_end]), "ĐT823D"),
        dt822b=inside(frame, substring_km(duc_hoa, to_bridge - DT822B_KM, to_bridge), "ĐT822B"),
        ql50b=clip_line(LineString(extend([QL50B_HCMC, QL50B_VAM_CO], OUTSIDE_KM)), prov),
        ql62=inside(frame, ql62, "QL62"),
        ql62_parallel=inside(frame, pull_inside(frame, [TAN_AN_CENTRE, *list(parallel.coords)[1:-1], binh_hiep]),
                             "axis parallel to QL62"),
        ql_n2=n2,
        ql_n1=inside(frame, ql_n1(frame), "QL N1"),
        mqt_luong_hoa_binh_chanh=inside(frame, pull_inside(frame, [mqt, BINH_HOA_NAM, LUONG_HOA, axis4_end]),
                                        "Mỹ Quý Tây – Lương Hòa – Bình Chánh axis"),
        duc_hoa_axis=inside(frame, duc_hoa, "Đức Hòa axis"),
        tan_an_ring=inside(frame, _tan_an_ring(frame, ql62), "Tân An ring road"),
    )
