"""Coordinate reference systems of incoming files: read a `.prj` (ESRI or OGC WKT), recognise VN-2000
variants by their projection parameters, and build the transformation to EPSG:4326 with PROJ's own choice
(for VN-2000 that is EPSG:6960 "VN-2000 to WGS 84 (2)", 7 parameters): a TOWGS84 clause in the `.prj` —
often copied with the rotation signs flipped — is never used for a recognised VN-2000 CRS.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.database import query_crs_info
from pyproj.enums import PJType
from pyproj.transformer import TransformerGroup

from spatial.io.errors import LoadError

WGS84 = CRS.from_epsg(4326)
LONG_AN_EPSG = 9210  # VN-2000 / TM-3 105-45: Long An's local meridian 105°45′
# Long An province (pre-2025 boundary) in lon/lat, and how far outside it a feature may plausibly lie
PROVINCE_BBOX = (105.49, 10.39, 106.80, 11.04)
PLAUSIBLE_MARGIN_DEG = 0.5
VN2000_TO_WGS84 = "VN-2000 to WGS 84 (2)"  # EPSG:6960, Department of Survey and Mapping, 7 parameters
_VN2000_NAMES = re.compile(r"vn[-_ ]?2000|vietnam[-_ ]?2000|vn2000", re.IGNORECASE)


class CrsError(LoadError):
    """The file's CRS is missing or unusable; the message says what to pass."""


@dataclass(frozen=True)
class CrsChoice:
    crs: CRS
    label: str  # e.g. "EPSG:9210 (VN-2000 / TM-3 105-45)"
    how: str  # how it was found: ".prj (ESRI WKT) recognised as …", "--crs", "assumed: lon/lat bounds"


@dataclass(frozen=True)
class Vn2000Zone:
    epsg: int
    name: str
    lon0: float
    k: float
    x0: float
    area: tuple[float, float, float, float]


@functools.cache
def vn2000_zones() -> tuple[Vn2000Zone, ...]:
    """Every non-deprecated VN-2000 projected CRS in PROJ's EPSG database, with its TM parameters."""
    zones = {}
    for info in query_crs_info(auth_name="EPSG", pj_types=PJType.PROJECTED_CRS):
        if not info.name.startswith("VN-2000") or info.deprecated or int(info.code) in zones:
            continue
        crs = CRS.from_epsg(int(info.code))
        params = {p.name: p.value for p in crs.coordinate_operation.params}
        area = info.area_of_use.bounds if info.area_of_use else (102.0, 8.0, 110.0, 23.5)
        zones[int(info.code)] = Vn2000Zone(int(info.code), info.name, params["Longitude of natural origin"],
                                           params["Scale factor at natural origin"], params["False easting"], area)
    return tuple(zones.values())


def label(crs: CRS) -> str:
    epsg = crs.to_epsg(min_confidence=90)
    return f"EPSG:{epsg} ({crs.name})" if epsg else crs.name


def recognise_vn2000(crs: CRS) -> CRS | None:
    """The EPSG VN-2000 CRS a (possibly ESRI, possibly TOWGS84-carrying) definition stands for, if any."""
    datum = crs.datum.name if crs.datum else ""
    if not (_VN2000_NAMES.search(crs.name or "") or _VN2000_NAMES.search(datum)):
        return None
    if crs.is_geographic:
        return CRS.from_epsg(4756)
    operation = crs.coordinate_operation
    if operation is None:
        return None
    params = {p.name: p.value for p in operation.params}
    lon0, k, x0 = (params.get("Longitude of natural origin"), params.get("Scale factor at natural origin"),
                   params.get("False easting"))
    if lon0 is None or k is None:
        return None
    for zone in vn2000_zones():
        if math.isclose(zone.lon0, lon0, abs_tol=1e-6) and math.isclose(zone.k, k, abs_tol=1e-7) \
                and math.isclose(zone.x0, x0 or 0.0, abs_tol=1e-3):
            return CRS.from_epsg(zone.epsg)
    return None


def resolve(prj_text: str | None, override: str | None, bounds: tuple[float, float, float, float] | None,
            source_name: str) -> CrsChoice:
    """The CRS to read a source in: --crs, else its definition (VN-2000 recognised), else lon/lat if the
    coordinates look like degrees, else a CrsError suggesting the likely VN-2000 zone."""
    if override:
        try:
            crs = CRS.from_user_input(override)
        except Exception as exc:
            raise CrsError(f"--crs {override!r} is not a CRS PROJ knows: {exc}", parameter="crs") from None
        vn = recognise_vn2000(crs)
        return CrsChoice(vn or crs, label(vn or crs), "given with --crs")
    if prj_text and prj_text.strip():
        try:
            crs = CRS.from_user_input(prj_text)
        except Exception as exc:
            raise CrsError(f"{source_name}: the CRS definition cannot be read ({exc}); pass --crs") from None
        vn = recognise_vn2000(crs)
        if vn is not None:
            towgs = " (its TOWGS84 ignored)" if "TOWGS84" in prj_text.upper() else ""
            return CrsChoice(vn, label(vn), f"definition {crs.name!r} recognised as VN-2000{towgs}")
        return CrsChoice(crs, label(crs), "from the file's CRS definition")
    if bounds is None or looks_geographic(bounds):
        return CrsChoice(WGS84, label(WGS84), "no CRS in the file; the coordinates are degrees: assumed EPSG:4326")
    raise CrsError(missing_crs_message(source_name, bounds))


def looks_geographic(bounds: tuple[float, float, float, float]) -> bool:
    xmin, ymin, xmax, ymax = bounds
    return -180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90


def _distance_to_province(lon: float, lat: float) -> float:
    xmin, ymin, xmax, ymax = PROVINCE_BBOX
    return math.hypot(max(xmin - lon, 0, lon - xmax), max(ymin - lat, 0, lat - ymax))


def suggest_zones(bounds: tuple[float, float, float, float]) -> list[tuple[Vn2000Zone, float, float]]:
    """VN-2000 zones under which the data's centre lands in or near Long An, best first."""
    x = (bounds[0] + bounds[2]) / 2
    y = (bounds[1] + bounds[3]) / 2
    found = []
    for zone in vn2000_zones():
        lon, lat = Transformer.from_crs(CRS.from_epsg(zone.epsg), WGS84, always_xy=True).transform(x, y)
        if not (math.isfinite(lon) and math.isfinite(lat)):
            continue
        distance = _distance_to_province(lon, lat)
        if distance <= PLAUSIBLE_MARGIN_DEG:
            found.append((zone, lon, lat, distance))
    found.sort(key=lambda z: (z[0].epsg != LONG_AN_EPSG, z[3], abs(z[1] - z[0].lon0)))
    return [(zone, lon, lat) for zone, lon, lat, _ in found]


def missing_crs_message(source_name: str, bounds: tuple[float, float, float, float]) -> str:
    xmin, ymin, xmax, ymax = bounds
    extent = f"x {xmin:,.0f}–{xmax:,.0f}, y {ymin:,.0f}–{ymax:,.0f}"
    message = (f"{source_name} has no .prj (no CRS) and its coordinates ({extent}) are not degrees: "
               "they are projected. Say which CRS they are in with --crs.")
    zones = suggest_zones(bounds)
    if zones:
        zone, lon, lat = zones[0]
        message += (f" Likely EPSG:{zone.epsg} ({zone.name}"
                    f"{', the Long An local meridian' if zone.epsg == LONG_AN_EPSG else ''}): "
                    f"the data would then lie at {lon:.3f} E, {lat:.3f} N, in or near Long An — "
                    f"e.g. --crs EPSG:{zone.epsg}.")
        others = [f"EPSG:{z.epsg}" for z, _, _ in zones[1:6]]
        if others:
            message += f" Other VN-2000 zones that would also put it near the province: {', '.join(others)}."
    return message


@dataclass
class Reprojection:
    source: CrsChoice
    transformer: Transformer | None  # None when the source is already EPSG:4326

    @property
    def description(self) -> str:
        if self.transformer is None:
            return "none (already EPSG:4326)"
        return self.transformer.description

    def apply_wkb(self, wkb: np.ndarray) -> np.ndarray:
        """WKB (object array of bytes) → 2D WKB in EPSG:4326."""
        geoms = shapely.from_wkb(wkb)
        if self.transformer is not None:
            transformer = self.transformer
            geoms = shapely.transform(geoms, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))
        return shapely.to_wkb(geoms, output_dimension=2)


def reprojection(choice: CrsChoice) -> Reprojection:
    if choice.crs.equals(WGS84, ignore_axis_order=True):
        return Reprojection(choice, None)
    # PROJ's candidates ranked by PROJ; for VN-2000 take EPSG:6960 "VN-2000 to WGS 84 (2)" explicitly:
    # left to itself PROJ picks EPSG:5194 (1) inside the Mekong-delta block, about 0.8 m away
    group = TransformerGroup(choice.crs, WGS84, always_xy=True)
    preferred = [t for t in group.transformers if VN2000_TO_WGS84 in t.description]
    transformer = (preferred or group.transformers or [Transformer.from_crs(choice.crs, WGS84, always_xy=True)])[0]
    return Reprojection(choice, transformer)
