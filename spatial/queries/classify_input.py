"""Reading the features to classify: a GeoJSON FeatureCollection (already parsed) or a file — a zipped
shapefile, a GeoPackage or a GeoJSON file — read with pyogrio (Arrow, no per-feature Python objects).

Files go through the loaders' reader (`spatial.io.reader`), so uploads get the same encoding detection
(TCVN3/VNI/cp1258) and VN-2000 recognition as `lapis load`; zip archives are extracted within the `ZipLimits` the
caller gives (a zip bomb is refused from the archive's directory, before anything is written). Everything here is
blocking work: the web layer runs it in a worker thread. Input fields named like the ones LAPIS adds
(`OUTPUT_FIELDS`, e.g. when an earlier output is classified again) are dropped: the fresh answer replaces them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import shapely

from spatial.crs import DEFAULT, SupportedCrs, check_in_range
from spatial.errors import InvalidGeometry, InvalidParameter, TooLarge, UnsupportedFormat
from spatial.geometry import check_geodesic_edges
from spatial.io.crs import CrsError
from spatial.io.errors import LoadError
from spatial.io.reader import GEOMETRY, NulInText, prepare, read_batches
from spatial.io.sources import ArchiveTooLarge, ZipLimits, open_sources
from spatial.redact import public_message

# The fields LAPIS adds to each classified feature, in output order.
OUTPUT_FIELDS = ("lapis_admin_code", "lapis_admin_name", "lapis_region_code", "lapis_region_name",
                 "lapis_region_share_pct", "lapis_centre", "lapis_corridors", "lapis_shares")
STALE = frozenset(OUTPUT_FIELDS)
SUFFIXES = {"zip": ".zip", "gpkg": ".gpkg", "geojson": ".geojson"}


@dataclass
class ClassifyInput:
    geoms: np.ndarray  # shapely geometries, in `crs`
    props: list[bytes]  # each feature's properties as JSON
    columns: list[str]  # property names (for CSV)
    crs: SupportedCrs
    read_seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.geoms)

    # pickled (from the process that parsed it) with the geometries as one array of WKB: fast both ways
    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "geoms": shapely.to_wkb(self.geoms)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, geoms=shapely.from_wkb(state["geoms"]))


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
    check_geodesic_edges(geoms, crs, parameter)  # shares are measured on the ellipsoid
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
        if not STALE.isdisjoint(p):
            p = {k: v for k, v in p.items() if k not in STALE}
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


def from_upload(path: Path, max_features: int, crs: SupportedCrs | None = None,
                limits: ZipLimits = ZipLimits()) -> ClassifyInput:
    """An uploaded file of unknown name: its format sniffed from its first bytes, then read as `from_file`."""
    with path.open("rb") as f:
        kind = sniff_format(f.read(64))
    return from_file(path.rename(path.with_suffix(SUFFIXES[kind])), max_features, crs, limits)


def from_file(path: Path, max_features: int, crs: SupportedCrs | None = None,
              limits: ZipLimits = ZipLimits()) -> ClassifyInput:
    """Read polygons and attributes from a file through the loaders' reader (`spatial.io`): legacy
    Vietnamese encodings decoded, VN-2000 .prj recognised, geometry as WKB in EPSG:4326 (EPSG:6960).
    Errors name the file "file", never its path on this machine nor the driver's own message (kept as the
    error's cause, for the log)."""
    started = time.perf_counter()
    with path.open("rb") as f:
        sniff_format(f.read(64))
    try:
        with open_sources(path, limits=limits) as sources:
            if len(sources) != 1:
                raise InvalidParameter(f"file: holds {len(sources)} layers or files; send one",
                                       parameter="file")
            prepared = prepare(sources[0], f"EPSG:{crs.code}" if crs is not None else None, "auto")
            if not prepared.has_geometry:
                raise InvalidGeometry("file: no geometry", parameter="file")
            if prepared.features is not None and prepared.features > max_features:
                raise TooLarge(f"file: {prepared.features} features; at most {max_features} per request",
                               parameter="file")
            batches = list(read_batches(prepared))
    except CrsError as exc:
        raise InvalidParameter(f"crs: {_public(exc, path)}", parameter="crs") from exc
    except ArchiveTooLarge as exc:
        raise TooLarge(f"file: {_public(exc, path)}", parameter="file") from exc
    except NulInText as exc:
        raise InvalidParameter(f"file: {_public(exc, path)}", parameter="file") from exc
    except LoadError as exc:
        raise UnsupportedFormat(f"file: {_public(exc, path)}", parameter="file") from exc
    table = pa.Table.from_batches(batches) if batches else None
    if table is None or table.num_rows == 0:
        raise InvalidGeometry("file: no features", parameter="file")
    if table.num_rows > max_features:
        raise TooLarge(f"file: {table.num_rows} features; at most {max_features} per request", parameter="file")
    geoms = shapely.from_wkb(np.asarray(table.column(GEOMETRY).to_numpy(zero_copy_only=False)))
    attributes = table.drop_columns([GEOMETRY, *STALE.intersection(table.column_names)])
    _check(geoms, DEFAULT, "file")
    props = _rows_json(attributes)
    return ClassifyInput(geoms, props, attributes.column_names, DEFAULT, time.perf_counter() - started)


def _public(exc: Exception, path: Path) -> str:
    """A loader's message for the client: the file named "file" (and not twice), no driver internals."""
    message = public_message(str(exc), [path], name="file")
    return message.removeprefix("file: ")


def _rows_json(table: pa.Table) -> list[bytes]:
    rows = table.to_pylist()
    return [orjson.dumps(r, default=str) for r in rows]
