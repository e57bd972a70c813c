"""The map everything is drawn on: the real districts, the province and its Cambodian border, and the
look-ups the drawing needs (a district's part of the province outline, points placed on boundaries)."""

from __future__ import annotations

from dataclasses import dataclass, field

import shapely
from shapely.geometry import LineString, MultiPolygon, Point

from plan_data.admin import District, cambodian_border, dissolve, load_districts
from plan_data.geo import GRID, LonLat, distance_km, to_ll, to_m


@dataclass
class Frame:
    districts: dict[str, District]
    province: MultiPolygon = field(init=False)
    border: LineString = field(init=False)  # Cambodian border arc of the province outline

    def __post_init__(self) -> None:
        self.province = dissolve(self.districts)
        self.border = cambodian_border(self.province)

    @classmethod
    def load(cls) -> Frame:
        return cls(load_districts())

    def geom(self, code: str) -> MultiPolygon:
        return self.districts[code].geom

    def outline_of(self, code: str) -> shapely.Geometry:
        """The district's part of the province outline (its edges with other provinces or Cambodia)."""
        return shapely.intersection(self.geom(code).boundary, self.province.boundary, grid_size=GRID)

    def district_at(self, point: LonLat) -> str | None:
        p = Point(point)
        return next((c for c, d in self.districts.items() if d.geom.covers(p)), None)


def point_at_distance(origin: LonLat, target: shapely.Geometry, km: float, hint: LonLat) -> LonLat:
    """The point of `target` (a line) exactly `km` from `origin` (geodesic), nearest `hint`: where a straight
    road of a published length from `origin` meets a boundary."""
    def candidates(radius_m: float) -> list[LonLat]:
        circle = to_ll(to_m(Point(origin)).buffer(radius_m, quad_segs=256).exterior)
        hits = target.intersection(circle)
        return [(p.x, p.y) for p in getattr(hits, "geoms", [hits]) if p.geom_type == "Point"]

    found = candidates(km * 1000)
    if not found:
        raise ValueError(f"nothing of the target lies {km} km from {origin}")
    best = min(found, key=lambda p: distance_km(p, hint))
    # the metric circle is a hair off the geodesic one: correct the radius once, then take the nearest hit
    radius = km * 1000 * km / distance_km(origin, best)
    refined = candidates(radius) or [best]
    return min(refined, key=lambda p: distance_km(p, best))
