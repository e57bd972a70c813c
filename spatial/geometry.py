"""Geometry input: GeoJSON literals and bounding boxes checked in Python (shape, validity, range), then
bound as parameters and transformed to the storage CRS in SQL — the literal, never the column."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape

from spatial.crs import STORAGE_SRID, SupportedCrs, check_in_range
from spatial.errors import InvalidGeometry, InvalidParameter
from spatial.sqlbuild import Params

GEOMETRY_TYPES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
                  "GeometryCollection"}


def to_storage_sql(geom_sql: str, crs: SupportedCrs) -> str:
    """SQL turning a geometry written in `crs` (SRID not yet set) into the storage CRS."""
    if crs.is_storage_order:
        return f"ST_SetSRID({geom_sql}, {STORAGE_SRID})"
    if crs.lat_first:
        return f"ST_FlipCoordinates(ST_SetSRID({geom_sql}, {STORAGE_SRID}))"
    return f"ST_Transform(ST_SetSRID({geom_sql}, {crs.srid}), {STORAGE_SRID})"


def from_storage_sql(column: str, crs: SupportedCrs) -> str:
    """SQL for a stored geometry expressed in `crs` (for output)."""
    if crs.is_storage_order:
        return column
    if crs.lat_first:
        return f"ST_FlipCoordinates({column})"
    return f"ST_Transform({column}, {crs.srid})"


def parse_bbox(values: Sequence[float], crs: SupportedCrs,
               parameter: str = "bbox") -> tuple[float, float, float, float]:
    if not isinstance(values, list | tuple) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise InvalidParameter(f"{parameter}: a bbox is a list of 4 or 6 numbers", parameter=parameter)
    if len(values) not in (4, 6):
        raise InvalidParameter(f"{parameter}: 4 or 6 numbers expected, got {len(values)}", parameter=parameter)
    if len(values) == 6:
        values = (values[0], values[1], values[3], values[4])
    x0, y0, x1, y1 = (float(v) for v in values)
    if not all(map(_finite, (x0, y0, x1, y1))):
        raise InvalidParameter(f"{parameter}: numbers must be finite", parameter=parameter)
    # a longitude range may wrap: west > east is a box across the antimeridian (OGC API – Features, bbox)
    if (y0 > y1 and not _longitude_second(crs)) or (x0 > x1 and not _longitude_first(crs)):
        raise InvalidParameter(f"{parameter}: lower corner above or right of the upper corner", parameter=parameter)
    check_in_range(crs, [x0, x1], [y0, y1], parameter)
    return x0, y0, x1, y1


def _longitude_first(crs: SupportedCrs) -> bool:
    return not crs.projected and not crs.lat_first


def _longitude_second(crs: SupportedCrs) -> bool:
    return not crs.projected and crs.lat_first


def parse_bbox_text(text: str, crs: SupportedCrs, parameter: str = "bbox") -> tuple[float, float, float, float]:
    """A bbox written as comma-separated numbers (a query parameter), checked as `parse_bbox` does."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise InvalidParameter(f"{parameter}: comma-separated numbers expected", parameter=parameter) from None
    return parse_bbox(values, crs, parameter)


def bbox_sql(bbox: tuple[float, float, float, float], crs: SupportedCrs, params: Params) -> str:
    """The box as SQL in the storage CRS; a box across the antimeridian (west > east) as its two halves."""
    x0, y0, x1, y1 = bbox
    if x0 > x1 and _longitude_first(crs):
        halves = _envelope(x0, y0, 180.0, y1, params), _envelope(-180.0, y0, x1, y1, params)
    elif y0 > y1 and _longitude_second(crs):
        halves = _envelope(x0, y0, x1, 180.0, params), _envelope(x0, -180.0, x1, y1, params)
    else:
        return to_storage_sql(_envelope(x0, y0, x1, y1, params), crs)
    return to_storage_sql(f"ST_Collect({halves[0]}, {halves[1]})", crs)


def _envelope(x0: float, y0: float, x1: float, y1: float, params: Params) -> str:
    return (f"ST_MakeEnvelope({params.add(x0, 'float8')}, {params.add(y0, 'float8')}, "
            f"{params.add(x1, 'float8')}, {params.add(y1, 'float8')})")


def parse_geojson_geometry(obj: Any, crs: SupportedCrs, parameter: str) -> shapely.Geometry:
    """A GeoJSON geometry (or Feature) → a valid shapely geometry, or InvalidParameter/InvalidGeometry."""
    if isinstance(obj, dict) and obj.get("type") == "Feature":
        obj = obj.get("geometry")
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str) or obj["type"] not in GEOMETRY_TYPES:
        raise InvalidGeometry(f"{parameter}: not a GeoJSON geometry or Feature (type must be one of "
                              f"{', '.join(sorted(GEOMETRY_TYPES))})", parameter=parameter)
    try:
        geom = shape(obj)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise InvalidGeometry(f"{parameter}: malformed GeoJSON geometry: {exc}", parameter=parameter) from None
    if geom.is_empty:
        raise InvalidGeometry(f"{parameter}: the geometry is empty", parameter=parameter)
    coords = shapely.get_coordinates(geom)
    if not _all_finite(coords):
        raise InvalidGeometry(f"{parameter}: coordinates must be finite numbers", parameter=parameter)
    check_in_range(crs, coords[:, 0].tolist(), coords[:, 1].tolist(), parameter)
    if not geom.is_valid:
        raise InvalidGeometry(f"{parameter}: invalid geometry: {shapely.is_valid_reason(geom)}", parameter=parameter)
    return geom


def geometry_literal_sql(node: dict[str, Any], crs: SupportedCrs, params: Params, parameter: str) -> str:
    """A CQL2 geometry literal (GeoJSON or {"bbox": [...]}) as SQL in the storage CRS."""
    if "bbox" in node:
        return bbox_sql(parse_bbox(node["bbox"], crs, parameter), crs, params)
    geom = parse_geojson_geometry(node, crs, parameter)
    wkb = shapely.to_wkb(geom)
    return to_storage_sql(f"ST_GeomFromWKB({params.add(wkb, 'bytea')})", crs)


def _finite(value: float) -> bool:
    return value == value and value not in (float("inf"), float("-inf"))


def _all_finite(coords: Any) -> bool:
    return bool(np.isfinite(coords).all())



MERCATOR_RADIUS = 6378137.0  # EPSG:3857: longitude in radians = x / radius


def check_geodesic_edges(geoms: shapely.Geometry | Any, crs: SupportedCrs, parameter: str) -> None:
    """Refuse (InvalidGeometry: 422) a geometry with an edge spanning 180° or more of longitude, or pole to pole.

    Areas and overlap shares are measured on the ellipsoid (PostGIS geography), where an edge is the shorter arc
    between its two ends: such an edge does not go where the polygon draws it (the whole-world polygon is the
    classic case), and PostGIS stops with "Antipodal edge detected". `geoms` is one geometry or an array of them,
    in `crs` (the VN-2000 systems are valid over Viet Nam only, so they cannot draw such an edge)."""
    if crs.srid not in (4326, 3857):
        return
    array = np.atleast_1d(np.asarray(geoms, dtype=object))
    parts, part_of = shapely.get_parts(array, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    is_line = shapely.get_type_id(parts) == 1
    lines = np.concatenate([rings, parts[is_line]])
    owner = np.concatenate([part_of[ring_of], part_of[is_line]])
    coords, line_of = shapely.get_coordinates(lines, return_index=True)
    if len(coords) < 2:
        return
    if crs.srid == 3857:
        lon, lat = np.degrees(coords[:, 0] / MERCATOR_RADIUS), np.zeros(len(coords))
    else:
        lon, lat = (coords[:, 1], coords[:, 0]) if crs.lat_first else (coords[:, 0], coords[:, 1])
    same_line = line_of[1:] == line_of[:-1]
    wide = same_line & ((np.abs(np.diff(lon)) >= 180) | (np.abs(np.diff(lat)) >= 180))
    if not wide.any():
        return
    edge = int(np.flatnonzero(wide)[0])
    which = f"feature {int(owner[line_of[edge]])}: " if array.size > 1 or np.ndim(geoms) else ""
    (x0, y0), (x1, y1) = coords[edge], coords[edge + 1]
    raise InvalidGeometry(
        f"{parameter}: {which}the edge from ({x0:.6g} {y0:.6g}) to ({x1:.6g} {y1:.6g}) spans 180° or more of "
        "longitude (or runs pole to pole); on the ellipsoid, where areas are measured, an edge is the shorter way "
        "round, so this shape is ambiguous: split it into parts less than 180° wide", parameter=parameter)
