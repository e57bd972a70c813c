"""The coordinate reference systems LAPIS accepts and serves, named by OGC URIs (OGC API – Features Part 2).

VN-2000 matters here: EPSG:3405 (UTM 48N) and EPSG:9210 (TM-3 105°45′, Long An's local system) are
transformed by PostGIS/PROJ with the EPSG:6960 7-parameter Helmert, through SRIDs 903405/909210 that pin
it (migration 0004: asked by EPSG code, PROJ would pick EPSG:5194 in Long An, 0.8 m away). EPSG:4326
is latitude-first by its definition, so coordinates in it are swapped on the way in and out;
CRS84 is the same datum with longitude first (GeoJSON's order and the storage order).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from spatial.errors import InvalidParameter

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
STORAGE_SRID = 4326


@dataclass(frozen=True)
class SupportedCrs:
    uri: str
    srid: int  # PostGIS SRID used for ST_Transform (VN-2000: LAPIS's rows pinning EPSG:6960, migration 0004)
    title: str
    lat_first: bool = False  # axis order of the CRS definition (EPSG:4326 is lat, lon)
    projected: bool = False
    epsg: int | None = None  # the EPSG code it is (when srid is not it)

    @property
    def code(self) -> int:
        return self.epsg or self.srid

    @property
    def digits(self) -> int:
        """Decimal digits for output: ~1 cm either way."""
        return 3 if self.projected else 7

    @property
    def is_storage_order(self) -> bool:
        """Same SRID and axis order as the stored geometry: no transform, no swap."""
        return self.srid == STORAGE_SRID and not self.lat_first

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """Valid range of the (first, second) coordinate as written in this CRS's axis order."""
        x0, y0, x1, y1 = _bounds(self.code)
        return (y0, x0, y1, x1) if self.lat_first else (x0, y0, x1, y1)


SUPPORTED: tuple[SupportedCrs, ...] = (
    SupportedCrs(CRS84, 4326, "WGS 84 longitude/latitude (OGC CRS84)"),
    SupportedCrs(EPSG_URI.format(4326), 4326, "WGS 84 (latitude, longitude)", lat_first=True),
    SupportedCrs(EPSG_URI.format(3857), 3857, "WGS 84 / Pseudo-Mercator", projected=True),
    SupportedCrs(EPSG_URI.format(3405), 903405, "VN-2000 / UTM zone 48N", projected=True, epsg=3405),
    SupportedCrs(EPSG_URI.format(9210), 909210, "VN-2000 / TM-3 105-45 (Long An)", projected=True, epsg=9210),
)
BY_URI = {crs.uri: crs for crs in SUPPORTED}
DEFAULT = BY_URI[CRS84]
URIS = tuple(BY_URI)


def _aliases() -> dict[str, SupportedCrs]:
    names: dict[str, SupportedCrs] = {}
    for crs in SUPPORTED:
        names[crs.uri.lower()] = crs
        names[crs.uri.lower().replace("http://", "https://")] = crs
    for code in (4326, 3857, 3405, 9210):
        crs = BY_URI[EPSG_URI.format(code)]
        for alias in (f"epsg:{code}", f"[epsg:{code}]", f"urn:ogc:def:crs:epsg::{code}",
                      f"urn:ogc:def:crs:epsg:0:{code}", str(code)):
            names[alias] = crs
    for alias in ("crs84", "[ogc:crs84]", "ogc:crs84", "urn:ogc:def:crs:ogc:1.3:crs84", "urn:ogc:def:crs:ogc::crs84"):
        names[alias] = DEFAULT
    return names


_NAMES = _aliases()


def parse_crs(value: str | None, parameter: str = "crs") -> SupportedCrs:
    """A supported CRS from an OGC URI (or a CURIE / EPSG:nnnn); None → CRS84."""
    if value is None or value == "":
        return DEFAULT
    crs = _NAMES.get(value.strip().lower())
    if crs is None:
        raise InvalidParameter(f"{parameter}: unsupported CRS {value!r}; supported: {', '.join(URIS)}",
                               parameter=parameter)
    return crs


@cache
def _bounds(srid: int) -> tuple[float, float, float, float]:
    if srid == 4326:
        return (-180.0, -90.0, 180.0, 90.0)
    if srid == 3857:
        return (-20037508.3428, -20048966.11, 20037508.3428, 20048966.11)
    from pyproj import CRS, Transformer

    crs = CRS.from_epsg(srid)
    area = crs.area_of_use
    if area is None:  # every projected CRS in SUPPORTED has one; a new entry without one must say its bounds
        raise LookupError(f"EPSG:{srid} has no area of use in the PROJ database")
    transformer = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    # a margin around the area of use: parcels on its edge are still valid input
    west, south, east, north = area.west - 1.0, area.south - 1.0, area.east + 1.0, area.north + 1.0
    return transformer.transform_bounds(west, south, east, north, densify_pts=21)


def check_in_range(crs: SupportedCrs, xs: list[float], ys: list[float], parameter: str) -> None:
    """Raise InvalidParameter when a coordinate (first, second axis of the CRS) is outside its valid range."""
    if not xs:
        return
    x0, y0, x1, y1 = crs.bounds
    lo_x, hi_x, lo_y, hi_y = min(xs), max(xs), min(ys), max(ys)
    if lo_x < x0 or hi_x > x1 or lo_y < y0 or hi_y > y1:
        raise InvalidParameter(
            f"{parameter}: coordinates out of the valid range of {crs.uri} "
            f"(x {x0:.6g}…{x1:.6g}, y {y0:.6g}…{y1:.6g})", parameter=parameter)
