"""What an edit may write: a GeoJSON feature, checked with the loaders' rules before it becomes a proposed row.

The same rules as `lapis load`, from the same code where there is one:
- the geometry's CRS (`Content-Crs`): the API's CRSs (`spatial.crs`) and every VN-2000 zone PROJ knows, transformed
  to EPSG:4326 by the loader's `spatial.io.crs.reprojection` (VN-2000 through EPSG:6960, as the loader pins it);
- the geometry: a GeoJSON geometry that is not empty, has finite coordinates in the CRS's range and is valid
  (`spatial.geometry.parse_geojson_geometry`: 422 with GEOS's reason), 2D, of the layer's type by dimension
  (`spatial.io.checks.TYPE_DIMENSION`), a single part made multi as the loader's `ST_Multi`, and inside Long An's
  plausible extent (`spatial.io.crs`; a load only warns, an edit is refused: one feature far away is a wrong CRS);
- the properties: the layer's registry columns, text in NFC and blank text as NULL (as the reader and the stage
  do), names defaulting to the code and accuracy to 'unknown' (`spatial.io.columns`), values of the column's type
  and list; any other name is refused, except the extra attributes the feature already carries (`props`), which
  a client reading and writing back the feature sends along.
The database's own NOT NULL, CHECK and UNIQUE rules are then asked of the whole row (`spatial.edits.changes`).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

import shapely
from pyproj import CRS
from shapely.geometry import MultiLineString, MultiPoint, MultiPolygon

from spatial.crs import CRS84, DEFAULT, EPSG_URI, SupportedCrs, parse_crs
from spatial.errors import InvalidGeometry, InvalidParameter
from spatial.geometry import parse_geojson_geometry
from spatial.io.checks import TYPE_DIMENSION
from spatial.io.crs import PLAUSIBLE_MARGIN_DEG, PROVINCE_BBOX, CrsChoice, Reprojection, reprojection, vn2000_zones
from spatial.registry import Column, Layer

INT4 = (-(2**31), 2**31 - 1)
MULTI = {"Polygon": MultiPolygon, "LineString": MultiLineString, "Point": MultiPoint}
_EPSG_CODE = re.compile(r"^(?:https?://www\.opengis\.net/def/crs/epsg/0/|epsg:|urn:ogc:def:crs:epsg::?)(\d+)$")


@dataclass(frozen=True)
class InputCrs:
    """The CRS of a request's geometry: its range and axis order (`crs`), and the loader's transformation to
    EPSG:4326 (None: already longitude, latitude in EPSG:4326 or with latitude first)."""

    crs: SupportedCrs
    reprojection: Reprojection | None


CRS84_INPUT = InputCrs(DEFAULT, None)


@dataclass
class Candidate:
    """A feature's new values: the layer's registry columns and `props`, and its geometry (2D WKB, EPSG:4326;
    None for a layer without geometry, or with `keep_geometry` when the stored geometry stays)."""

    values: dict[str, Any] = field(default_factory=dict)
    geometry: bytes | None = None
    keep_geometry: bool = False


@cache
def _projected(code: int) -> InputCrs:
    info = next((z for z in vn2000_zones() if z.epsg == code), None)
    crs = SupportedCrs(EPSG_URI.format(code), code, info.name if info else f"EPSG:{code}", projected=True,
                       epsg=code)
    pyproj_crs = CRS.from_epsg(code)
    return InputCrs(crs, reprojection(CrsChoice(pyproj_crs, f"EPSG:{code}", "Content-Crs")))


def content_crs(header: str | None) -> InputCrs:
    """The CRS a `Content-Crs` header names (`<uri>` or a bare URI / EPSG:n); CRS84 when absent."""
    text = (header or "").strip().strip("<>").strip()
    try:
        crs = parse_crs(text or None, "Content-Crs")
    except InvalidParameter:
        match = _EPSG_CODE.match(text.lower())
        if match is None or int(match.group(1)) not in {z.epsg for z in vn2000_zones()}:
            raise InvalidParameter(f"Content-Crs: unsupported CRS {text!r}; send <{CRS84}>, EPSG 4326, 3857, 3405, "
                                   "9210 or another VN-2000 zone as <http://www.opengis.net/def/crs/EPSG/0/n>",
                                   parameter="Content-Crs") from None
        return _projected(int(match.group(1)))
    if not crs.projected:
        return InputCrs(crs, None)
    return InputCrs(crs, _projected(crs.code).reprojection)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON Merge Patch: `patch` applied to `target` (neither is changed)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def nfc(value: Any) -> Any:
    """Every text in `value` (nested lists and objects too) in Unicode NFC, as the loaders store text."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [nfc(v) for v in value]
    if isinstance(value, dict):
        return {nfc(k): nfc(v) for k, v in value.items()}
    return value


def _typed(column: Column, value: Any) -> Any:
    """A property's value checked against its column: JSON type, list of values, range; blank text is NULL."""
    name = column.name
    if isinstance(value, str) and not value.strip():
        return None
    if value is None:
        return value
    wrong = InvalidParameter(f"properties.{name}: {value!r} is not a valid {column.json_type}"
                             f"{' (a date, YYYY-MM-DD)' if column.sql_type == 'date' else ''}", parameter=name)
    kind = column.json_type
    if kind == "string" and isinstance(value, str):
        if column.sql_type == "date":
            try:
                value = date.fromisoformat(value).isoformat()
            except ValueError:
                raise wrong from None
    elif kind == "integer" and isinstance(value, int | float) and not isinstance(value, bool) \
            and float(value).is_integer():
        value = int(value)
        if column.sql_type == "integer" and not INT4[0] <= value <= INT4[1]:
            raise wrong
    elif kind == "number" and isinstance(value, int | float) and not isinstance(value, bool) \
            and math.isfinite(value):
        pass
    elif not (kind == "boolean" and isinstance(value, bool)):
        raise wrong
    if column.enum and value not in column.enum:
        raise InvalidParameter(f"properties.{name}: {value!r} is not one of {', '.join(column.enum)}",
                               parameter=name)
    return value


def _values(layer: Layer, properties: Any, known_props: dict[str, Any]) -> dict[str, Any]:
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        raise InvalidParameter("properties: a JSON object is expected", parameter="properties")
    properties = nfc(properties)
    unknown = sorted(k for k in properties if layer.column(k) is None and k not in known_props)
    if unknown:
        raise InvalidParameter(f"properties: unknown {', '.join(unknown)}; {layer.id} has "
                               f"{', '.join(layer.column_names)}", parameter="properties")
    values = {c.name: _typed(c, properties.get(c.name)) for c in layer.all_columns}
    if values.get("name_vi") is None:  # as the loader: a feature without a name is named by its code
        values["name_vi"] = values.get("code")
    if values.get("accuracy") is None:
        values["accuracy"] = "unknown"
    values["props"] = {k: v for k, v in properties.items() if k in known_props and v is not None}
    return values


def _layer_type(layer: Layer, geom: shapely.Geometry) -> shapely.Geometry:
    wanted = layer.geometry_type or "Geometry"
    dimension = TYPE_DIMENSION.get(wanted)
    kind = geom.geom_type
    if dimension is not None and (shapely.get_dimensions(geom) != dimension or kind == "GeometryCollection"):
        raise InvalidGeometry(f"geometry: a {kind} does not fit {layer.id} ({wanted})", parameter="geometry")
    if wanted.startswith("Multi") and kind in MULTI:
        return MULTI[kind]([geom])
    return geom


def _plausible(geom: shapely.Geometry) -> None:
    xmin, ymin, xmax, ymax = PROVINCE_BBOX
    m = PLAUSIBLE_MARGIN_DEG
    x0, y0, x1, y1 = geom.bounds
    if x0 < xmin - m or x1 > xmax + m or y0 < ymin - m or y1 > ymax + m:
        raise InvalidGeometry(f"geometry: lies outside Long An's plausible extent ({xmin - m:g}, {ymin - m:g}, "
                              f"{xmax + m:g}, {ymax + m:g}) in EPSG:4326 (at {x0:.4f}, {y0:.4f} … {x1:.4f}, "
                              f"{y1:.4f}): is the Content-Crs right?", parameter="geometry")


def geometry_wkb(layer: Layer, obj: Any, crs: InputCrs) -> bytes | None:
    """The feature's geometry as 2D WKB in EPSG:4326, checked (None for a layer without geometry)."""
    if not layer.has_geometry:
        if obj is not None:
            raise InvalidGeometry(f"geometry: {layer.id} has no geometry; send null", parameter="geometry")
        return None
    if obj is None:
        raise InvalidGeometry(f"geometry: {layer.id} needs a geometry ({layer.geometry_type})", parameter="geometry")
    geom = shapely.force_2d(parse_geojson_geometry(obj, crs.crs, "geometry"))
    geom = _layer_type(layer, geom)
    if crs.reprojection is not None:
        geom = shapely.from_wkb(crs.reprojection.apply_wkb(shapely.to_wkb(geom)))
    elif crs.crs.lat_first:
        geom = shapely.transform(geom, lambda xy: xy[:, ::-1])
    if not geom.is_valid:
        raise InvalidGeometry(f"geometry: invalid in EPSG:4326: {shapely.is_valid_reason(geom)}",
                              parameter="geometry")
    _plausible(geom)
    return shapely.to_wkb(geom, output_dimension=2)


def feature_candidate(layer: Layer, feature: Any, crs: InputCrs, *, known_props: dict[str, Any] | None = None,
                      keep_geometry: bool = False) -> Candidate:
    """A GeoJSON Feature's values and geometry for `layer`, or the error (400/422) naming what is wrong.
    `known_props`: the extra attributes the feature carries now (they may be sent back); `keep_geometry`: leave
    the stored geometry as it is (a merge patch without `geometry`)."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise InvalidParameter('body: a GeoJSON Feature is expected ({"type": "Feature", "geometry": …, '
                               '"properties": {…}})', parameter="body")
    values = _values(layer, feature.get("properties"), known_props or {})
    if keep_geometry:
        return Candidate(values, None, keep_geometry=True)
    return Candidate(values, geometry_wkb(layer, feature.get("geometry"), crs))
