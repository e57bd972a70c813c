"""Geometry helpers for the plan-data build: ellipsoidal measures, metric round trips, grid snapping,
line fitting and GeoJSON writing. Pure functions; nothing here knows about Long An."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Point, Polygon
from shapely.ops import substring

GEOD = Geod(ellps="WGS84")
# VN-2000 / TM-3 105-45 (EPSG:9210), Long An's own projection (brief §4): metric work only.
_TO_M = Transformer.from_crs("EPSG:4326", "EPSG:9210", always_xy=True)
_TO_LL = Transformer.from_crs("EPSG:9210", "EPSG:4326", always_xy=True)
GRID = 1e-7  # the bundled OCHA file has 7 decimals; every overlay snaps to this grid
DECIMALS = 7

LonLat = tuple[float, float]


def area_km2(geom: shapely.Geometry) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e6


def length_km(geom: shapely.Geometry) -> float:
    return GEOD.geometry_length(geom) / 1000.0


def distance_km(a: LonLat, b: LonLat) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2] / 1000.0


def to_m(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geom, lambda xy: np.column_stack(_TO_M.transform(xy[:, 0], xy[:, 1])))


def to_ll(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geom, lambda xy: np.column_stack(_TO_LL.transform(xy[:, 0], xy[:, 1])))


def snap(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.set_precision(geom, GRID)


def buffer_m(geom: shapely.Geometry, metres: float, **kwargs: Any) -> shapely.Geometry:
    """Buffer by metres (negative erodes), computed in EPSG:9210."""
    return to_ll(to_m(geom).buffer(metres, **kwargs))


def as_multipolygon(geom: shapely.Geometry) -> MultiPolygon:
    polys: list[Polygon] = []
    for g in getattr(geom, "geoms", [geom]):
        if isinstance(g, Polygon) and not g.is_empty:
            polys.append(g)
        elif isinstance(g, MultiPolygon):
            polys.extend(g.geoms)
    if not polys:
        raise ValueError("empty polygon geometry")
    return shapely.orient_polygons(MultiPolygon(polys))


def as_multiline(geom: shapely.Geometry, min_km: float = 0.01) -> MultiLineString:
    """The line parts of a geometry as one MultiLineString, dropping slivers shorter than min_km."""
    lines: list[LineString] = []
    for g in getattr(geom, "geoms", [geom]):
        if isinstance(g, MultiLineString):
            lines.extend(p for p in g.geoms if length_km(p) >= min_km)
        elif isinstance(g, LineString) and not g.is_empty and length_km(g) >= min_km:
            lines.append(g)
    if not lines:
        raise ValueError("empty line geometry")
    merged = shapely.line_merge(MultiLineString(lines))
    return merged if isinstance(merged, MultiLineString) else MultiLineString([merged])


def clip_line(line: shapely.Geometry, region: shapely.Geometry) -> MultiLineString:
    """The part of a line inside a region (a route that leaves the province keeps its Long An part)."""
    return as_multiline(snap(line.intersection(region)))


def nearest_on(target: shapely.Geometry, point: LonLat) -> LonLat:
    """The point of `target` nearest to `point` (lon/lat; planar nearest is fine at these distances)."""
    p = shapely.ops.nearest_points(target, Point(point))[0]
    return (p.x, p.y)


def substring_km(line: LineString, start_km: float, end_km: float) -> LineString:
    """Part of a line between two distances along it (km on the ellipsoid; cut in metres, rescaled so the
    projection's scale error does not count)."""
    metric = to_m(line)
    scale = metric.length / (length_km(line) * 1000)
    return to_ll(substring(metric, start_km * 1000 * scale, end_km * 1000 * scale))


def bisect(f: Callable[[float], float], lo: float, hi: float, target: float, steps: int = 40) -> float:
    """The smallest x in [lo, hi] (to 2^-steps of the range) with f(x) >= target, for f increasing on
    [lo, hi]: a deterministic bisection whose answer never falls short of the target."""
    if f(hi) < target:
        raise ValueError(f"target {target} is beyond f({hi}) = {f(hi)}")
    for _ in range(steps):
        mid = (lo + hi) / 2
        if f(mid) < target:
            lo = mid
        else:
            hi = mid
    return hi


def ring_arc(ring: LineString, a: LonLat, b: LonLat, prefer: Callable[[LineString], float]) -> LineString:
    """The arc of a closed ring between the points nearest a and b: of the two arcs, the one `prefer` scores
    highest."""
    pa, pb = sorted((ring.project(Point(a)), ring.project(Point(b))))
    inner = substring(ring, pa, pb)
    outer_coords = list(substring(ring, pb, ring.length).coords) + list(substring(ring, 0, pa).coords)[1:]
    outer = LineString(outer_coords)
    return max((inner, outer), key=prefer)


# ---------------------------------------------------------------------------------------------
# GeoJSON writing (RFC 7946, NFC strings, fixed decimals, one feature per line)
# ---------------------------------------------------------------------------------------------


def nfc(obj: Any) -> Any:
    if isinstance(obj, str):
        return unicodedata.normalize("NFC", obj)
    if isinstance(obj, dict):
        return {nfc(k): nfc(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [nfc(v) for v in obj]
    return obj


def _round_coords(c: Any) -> Any:
    if isinstance(c, list | tuple) and c and isinstance(c[0], int | float):
        return [round(float(c[0]), DECIMALS), round(float(c[1]), DECIMALS)]
    return [_round_coords(x) for x in c]


def geojson_geometry(geom: shapely.Geometry | None) -> dict[str, Any] | None:
    if geom is None:
        return None
    m = shapely.geometry.mapping(geom)
    return {"type": m["type"], "coordinates": _round_coords(m["coordinates"])}


def feature(code: str, geom: shapely.Geometry | None, props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "id": code, "properties": props, "geometry": geojson_geometry(geom)}


def write_fc(path: Path, features: Iterable[dict[str, Any]]) -> None:
    lines = [json.dumps(nfc(f), ensure_ascii=False, separators=(",", ":")) for f in features]
    text = '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"
    path.write_text(text, encoding="utf-8")
