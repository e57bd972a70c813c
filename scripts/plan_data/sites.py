"""Places of the plan drawn on the real districts: the three international border gates, the border-gate
economic zone, Long An International Port and its industrial park, and the proposed coastal economic zone.

Areas the brief publishes (147 ha port, 396 ha park, over 13,000 ha zone, about 32,000 ha proposal) fix the
size of each drawn shape; where it sits follows the brief's place names (Tân Tập on the Soài Rạp, the gates
on the border) and is marked [I] where the brief gives no more."""

from __future__ import annotations

from dataclasses import dataclass

import shapely
from shapely.geometry import LineString, MultiPolygon, Point, box

from plan_data.frame import Frame
from plan_data.geo import (
    GRID,
    LonLat,
    area_km2,
    as_multipolygon,
    bisect,
    buffer_m,
    length_km,
    nearest_on,
    substring_km,
)

# Gates: brief §2.4 names and districts (Long Khốt's district [I]); §6 approximate points [I].
GATES: dict[str, tuple[str, LonLat]] = {
    "Bình Hiệp": ("795", (105.930, 10.860)),  # Kiến Tường, on QL62
    "Mỹ Quý Tây": ("801", (106.160, 10.860)),  # Đức Huệ
    "Long Khốt": ("797", (105.860, 10.955)),  # Vĩnh Hưng
}
GATE_INSET_M = 300.0  # a gate is drawn this far on the Vietnamese side of the border line [I]
BORDER_EZ_HA = 13000.0  # "over 13,000 ha"
PORT_HINT: LonLat = (106.770, 10.540)  # Long An International Port, Tân Tập (§6 [I])
PORT_HA = 147.0
PORT_QUAY_KM = 1.67  # 7 berths, 1,670 m
PORT_IP_HA = 396.0
PORT_IP_FRONT_KM = 4.0  # the park's frontage along the river, centred on the port [I]
COASTAL_EZ_HA = 32000.0  # proposal, about 32,000 ha in Cần Giuộc + Cần Đước [S]


@dataclass(frozen=True)
class Sites:
    gates: dict[str, LonLat]
    border_ez: MultiPolygon
    border_ez_radius_km: float
    port: MultiPolygon
    port_ip: MultiPolygon
    coastal_ez: MultiPolygon
    coastal_ez_west_lon: float


def inward_in(frame: Frame, code: str, point: LonLat, metres: float) -> LonLat:
    """`point` moved at least `metres` inside district `code`, onto the district's main body (slivers of the
    generalised outline thinner than 2 × `metres` do not count); unchanged when already there."""
    core = buffer_m(frame.geom(code), -metres, quad_segs=8)
    body = max(getattr(core, "geoms", [core]), key=lambda g: g.area)
    return point if body.contains(Point(point)) else nearest_on(body.boundary, point)


def gate_points(frame: Frame) -> dict[str, LonLat]:
    """Each gate GATE_INSET_M inside its district, at the point nearest the brief's approximate position
    (which lies on or beyond the border); it must end up that close to the Cambodian border."""
    gates = {}
    for name, (code, hint) in GATES.items():
        gate = inward_in(frame, code, hint, GATE_INSET_M)
        if frame.border.distance(Point(gate)) * 111.0 > 2 * GATE_INSET_M / 1000:
            raise ValueError(f"gate {name} is not at the border")
        gates[name] = gate
    return gates


def _border_ez(frame: Frame, gates: dict[str, LonLat]) -> tuple[MultiPolygon, float]:
    """Discs round the three gates, cut to the province, with the radius that makes the published 13,000 ha."""
    def zone(radius_km: float) -> shapely.Geometry:
        discs = shapely.union_all([buffer_m(Point(p), radius_km * 1000, quad_segs=32) for p in gates.values()])
        return shapely.intersection(discs, frame.province, grid_size=GRID)

    radius = bisect(lambda r: area_km2(zone(r)) * 100, 1.0, 15.0, BORDER_EZ_HA)
    return as_multipolygon(zone(radius)), radius


def _riverside(frame: Frame, bank: LineString, front_km: float, ha: float) -> shapely.Geometry:
    """The part of Cần Giuộc within some distance of a stretch of its river bank, that distance chosen to
    give `ha` hectares."""
    anchor = bank.project(Point(nearest_on(bank, PORT_HINT)))
    centre_km = anchor / bank.length * length_km(bank)
    stretch = substring_km(bank, max(0.0, centre_km - front_km / 2), min(length_km(bank), centre_km + front_km / 2))

    def strip(depth_m: float) -> shapely.Geometry:
        return shapely.intersection(buffer_m(stretch, depth_m, cap_style="flat"), frame.geom("807"), grid_size=GRID)

    return strip(bisect(lambda d: area_km2(strip(d)) * 100, 10.0, 5000.0, ha))


def draw_sites(frame: Frame) -> Sites:
    gates = gate_points(frame)
    border_ez, radius = _border_ez(frame, gates)
    # Soài Rạp bank = Cần Giuộc's edge of the province outline, as one line
    bank = shapely.line_merge(frame.outline_of("807"))
    if bank.geom_type == "MultiLineString":
        bank = min(bank.geoms, key=lambda g: g.distance(Point(PORT_HINT)))
    port = _riverside(frame, bank, PORT_QUAY_KM, PORT_HA)
    park_and_port = _riverside(frame, bank, PORT_IP_FRONT_KM, PORT_HA + PORT_IP_HA)
    port_ip = shapely.difference(park_and_port, port, grid_size=GRID)
    coast = shapely.union_all([frame.geom("806"), frame.geom("807")], grid_size=GRID)

    def coastal(west_lon: float) -> shapely.Geometry:
        return shapely.intersection(coast, box(west_lon, 10.0, 107.5, 11.5), grid_size=GRID)

    west = 106.75 - bisect(lambda x: area_km2(coastal(106.75 - x)) * 100, 0.0, 0.4, COASTAL_EZ_HA)
    return Sites(gates=gates, border_ez=border_ez, border_ez_radius_km=radius, port=as_multipolygon(port),
                 port_ip=as_multipolygon(port_ip), coastal_ez=as_multipolygon(coastal(west)),
                 coastal_ez_west_lon=west)
