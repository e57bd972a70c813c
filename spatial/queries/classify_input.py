"""Reading the features to classify: a GeoJSON FeatureCollection (already parsed) or a file — a zipped
shapefile, a GeoPackage or a GeoJSON file — read with pyogrio (Arrow, no per-feature Python objects).

Note: kept here, small, until the loaders' readers (`spatial/io`) cover uploads; then this should call them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import shapely

from spatial.crs import BY_URI, DEFAULT, EPSG_URI, SupportedCrs, check_in_range
from spatial.errors import InvalidGeometry, InvalidParameter, TooLarge, UnsupportedFormat

POLYGONAL = ("Polygon", "MultiPolygon")


@dataclass
class ClassifyInput:
    geoms: np.ndarray  # shapely geometries, in `crs`
    props: list[bytes]  # each feature's properties as JSON
    columns: list[str]  # property names (for CSV)
    crs: SupportedCrs
    read_seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.geoms)


def _check(geoms: np.ndarray, crs: SupportedCrs, parameter: str) -> None:
    missing = np.flatnonzero(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if missing.size:
        raise InvalidGeometry(f"{parameter}: feature {int(missing[0])} has no geometry", parameter=parameter)
    types = shapely.get_type_id(geoms)
    not_polygon = np.flatnonzero((types != 3) & (types != 6))
    if not_polygon.size:
        i = int(not_polygon[0])
        raise InvalidGeometry(f"{parameter}: feature {i} is a {geoms[i].geom_type}; parcels must be polygons",
                              parameter=parameter)
    bounds = shapely.bounds(geoms)
    if not np.isfinite(bounds).all():
        raise InvalidGeometry(f"{parameter}: coordinates must be finite numbers", parameter=parameter)
    check_in_range(crs, [bounds[:, 0].min(), bounds[:, 2].max()], [bounds[:, 1].min(), bounds[:, 3].max()],
                   parameter)
    invalid = np.flatnonzero(~shapely.is_valid(geoms))
    if invalid.size:
        i = int(invalid[0])
        raise InvalidGeometry(f"{parameter}: feature {i} is invalid: {shapely.is_valid_reason(geoms[i])}",
                              parameter=parameter)


def from_feature_collection(obj: Any, crs: SupportedCrs, max_features: int, parameter: str = "body") -> ClassifyInput:
    if not isinstance(obj, dict) or obj.get("type") != "FeatureCollection" or not isinstance(
            obj.get("features"), list):
        raise InvalidGeometry(f"{parameter}: a GeoJSON FeatureCollection is expected", parameter=parameter)
    features = obj["features"]
    if len(features) > max_features:
        raise TooLarge(f"{parameter}: {len(features)} features; at most {max_features} per request",
                       parameter=parameter)
    if not features:
        raise InvalidGeometry(f"{parameter}: the FeatureCollection is empty", parameter=parameter)
    texts, props, columns = [], [], {}
    for i, feature in enumerate(features):
        if not isinstance(feature, dict) or not isinstance(feature.get("geometry"), dict):
            raise InvalidGeometry(f"{parameter}: feature {i} is not a GeoJSON Feature with a geometry",
                                  parameter=parameter)
        texts.append(orjson.dumps(feature["geometry"]))
        p = feature.get("properties") or {}
        if not isinstance(p, dict):
            raise InvalidGeometry(f"{parameter}: feature {i} properties must be an object", parameter=parameter)
        columns.update(dict.fromkeys(p))
        props.append(orjson.dumps(p))
    try:
        geoms = shapely.from_geojson(np.array(texts, dtype=object), on_invalid="raise")
    except Exception as exc:  # shapely/GEOS raise their own error types for malformed GeoJSON
        raise InvalidGeometry(f"{parameter}: malformed GeoJSON geometry: {exc}", parameter=parameter) from None
    if crs.lat_first:
        geoms = shapely.transform(geoms, lambda xy: xy[:, ::-1])
        crs = DEFAULT
    _check(geoms, crs, parameter)
    return ClassifyInput(geoms, props, list(columns), crs)


def sniff_format(head: bytes) -> str:
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if head.lstrip()[:1] in (b"{", b"["):
        return "geojson"
    raise UnsupportedFormat("file: not a zipped shapefile, a GeoPackage or GeoJSON", parameter="file")


def _crs_of(meta_crs: str | None, override: SupportedCrs | None) -> SupportedCrs:
    if override is not None:
        return override
    if not meta_crs:
        return DEFAULT
    from pyproj import CRS

    try:
        epsg = CRS.from_user_input(meta_crs).to_epsg()
    except Exception:  # pyproj raises CRSError and others for odd definitions
        epsg = None
    if epsg == 4326:
        return DEFAULT  # GDAL reads in GIS (lon, lat) order
    supported = BY_URI.get(EPSG_URI.format(epsg)) if epsg else None
    if supported is None:
        raise InvalidParameter(f"file: its CRS ({meta_crs}) is not one LAPIS reads; reproject to EPSG:4326, "
                               "EPSG:3405 or EPSG:9210, or say which CRS it is with crs=", parameter="file")
    return supported


def from_file(path: Path, max_features: int, crs: SupportedCrs | None = None) -> ClassifyInput:
    """Read polygons and attributes from a file with pyogrio (Arrow)."""
    import time

    import pyogrio

    started = time.perf_counter()
    kind = sniff_format(path.open("rb").read(64))
    source = f"/vsizip/{path}" if kind == "zip" else str(path)
    try:
        info = pyogrio.read_info(source)
        count = info.get("features", -1)
        if count is not None and count > max_features:
            raise TooLarge(f"file: {count} features; at most {max_features} per request", parameter="file")
        meta, table = pyogrio.read_arrow(source)
    except (TooLarge, InvalidParameter):
        raise
    except Exception as exc:  # pyogrio.errors.DataSourceError and friends: a file GDAL cannot read
        raise UnsupportedFormat(f"file: cannot read it as {kind}: {exc}", parameter="file") from None
    if table.num_rows > max_features:
        raise TooLarge(f"file: {table.num_rows} features; at most {max_features} per request", parameter="file")
    if table.num_rows == 0:
        raise InvalidGeometry("file: no features", parameter="file")
    geometry_name = meta.get("geometry_name") or "wkb_geometry"
    geoms = shapely.from_wkb(np.asarray(table.column(geometry_name).to_numpy(zero_copy_only=False)))
    attributes = table.drop_columns([geometry_name])
    target = _crs_of(meta.get("crs"), crs)
    _check(geoms, target, "file")
    props = _rows_json(attributes)
    return ClassifyInput(geoms, props, attributes.column_names, target, time.perf_counter() - started)


def _rows_json(table: pa.Table) -> list[bytes]:
    rows = table.to_pylist()
    return [orjson.dumps(r, default=str) for r in rows]
