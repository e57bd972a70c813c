"""Coordinates for the analysis engines: any input CRS to EPSG:4326 and EPSG:4326 to VN-2000 metres, VN-2000 always
through EPSG:6960 ("VN-2000 to WGS 84 (2)"), as the loaders (`spatial.io.crs`) and PostGIS (SRID 909210) do."""

from __future__ import annotations

from functools import cache

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.transformer import TransformerGroup

from spatial.io.crs import VN2000_TO_WGS84, WGS84, reprojection, resolve

LONG_AN_METRES = 9210  # VN-2000 / TM-3 105-45: shares and areas are measured in it


@cache
def to_wgs84(crs_wkt: str) -> Transformer | None:
    """The transformation of a CRS (as WKT) to EPSG:4326 (None: already there); a VN-2000 CRS, however its
    definition is written, is recognised and transformed with EPSG:6960."""
    return reprojection(resolve(crs_wkt, None, None, "input")).transformer


@cache
def wgs84_to_metres() -> Transformer:
    group = TransformerGroup(WGS84, CRS.from_epsg(LONG_AN_METRES), always_xy=True)
    preferred = [t for t in group.transformers if VN2000_TO_WGS84 in t.description]
    return (preferred or group.transformers)[0]


def transform(geoms: np.ndarray, transformer: Transformer | None) -> np.ndarray:
    if transformer is None:
        return geoms
    return shapely.transform(geoms, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def geometries_in_wgs84(geoms: np.ndarray, crs: CRS | None) -> np.ndarray:
    """Geometries (shapely array) in `crs` → EPSG:4326 lon/lat; no CRS means lon/lat already."""
    if crs is None or crs.equals(WGS84, ignore_axis_order=True):
        return geoms
    return transform(geoms, to_wgs84(crs.to_wkt()))


def metric_area(geoms_wgs84: np.ndarray) -> np.ndarray:
    """Areas in m² on Long An's VN-2000 TM-3 plane (a conformal projection: within a parcel the scale is constant
    to 1e-7, so a share of areas is the ellipsoid's share — what PostGIS's geography areas give)."""
    return shapely.area(transform(geoms_wgs84, wgs84_to_metres()))
