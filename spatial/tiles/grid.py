"""The OGC WebMercatorQuad tile matrix set (EPSG:3857, 256-pixel tiles, origin top-left)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from spatial.errors import NotFound

TMS_ID = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
CRS_URI = "http://www.opengis.net/def/crs/EPSG/0/3857"
WKSS_URI = "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible"
ORIGIN = 20037508.342789244  # half the extent of EPSG:3857, metres
MAX_ZOOM = 24
TILE_SIZE = 256
EXTENT = 4096  # MVT coordinate extent per tile
BUFFER = 64  # MVT buffer in extent units


class TileOutOfRange(NotFound):
    """z, y or x lie outside the tile matrix set; `parameter` names which (tileMatrix, tileRow, tileCol)."""


class UnknownTileMatrixSet(NotFound):
    """A tile matrix set other than the one offered."""


def check_tile_matrix_set(tms_id: str) -> None:
    if tms_id != TMS_ID:
        raise UnknownTileMatrixSet(f"only {TMS_ID} is offered", parameter="tileMatrixSetId")


@dataclass(frozen=True, order=True)
class Tile:
    z: int
    x: int
    y: int

    def __post_init__(self) -> None:
        if not 0 <= self.z <= MAX_ZOOM:
            raise TileOutOfRange(f"tileMatrix {self.z} is outside 0–{MAX_ZOOM}", parameter="tileMatrix")
        n = 1 << self.z
        if not 0 <= self.y < n:
            raise TileOutOfRange(f"tileRow {self.y} is outside 0–{n - 1} at tileMatrix {self.z}", parameter="tileRow")
        if not 0 <= self.x < n:
            raise TileOutOfRange(f"tileCol {self.x} is outside 0–{n - 1} at tileMatrix {self.z}", parameter="tileCol")

    @property
    def width(self) -> float:
        """Tile width in EPSG:3857 metres."""
        return 2 * ORIGIN / (1 << self.z)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) in EPSG:3857."""
        w = self.width
        xmin = -ORIGIN + self.x * w
        ymax = ORIGIN - self.y * w
        return (xmin, ymax - w, xmin + w, ymax)

    def envelope(self, margin: float = 0.0) -> tuple[float, float, float, float]:
        """The bounds widened on every side by `margin` tile widths (an MVT buffer, as a share of the extent)."""
        xmin, ymin, xmax, ymax = self.bounds
        pad = margin * self.width
        return (xmin - pad, ymin - pad, xmax + pad, ymax + pad)

    def intersects(self, box: tuple[float, float, float, float], margin: float = 0.0) -> bool:
        xmin, ymin, xmax, ymax = self.envelope(margin)
        return not (box[0] > xmax or box[2] < xmin or box[1] > ymax or box[3] < ymin)


def lonlat_to_tile(lon: float, lat: float, z: int) -> Tile:
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    lat_r = math.radians(max(min(lat, 85.0511287798), -85.0511287798))
    y = int((1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n)
    return Tile(z, min(max(x, 0), n - 1), min(max(y, 0), n - 1))


def mercator_to_lonlat(x: float, y: float) -> tuple[float, float]:
    lon = x / ORIGIN * 180.0
    lat = math.degrees(math.atan(math.sinh(y / ORIGIN * math.pi)))
    return lon, lat


def tile_range(box_3857: tuple[float, float, float, float], z: int) -> tuple[int, int, int, int]:
    """(first column, last column, first row, last row) of the tiles at zoom z that touch an EPSG:3857 box."""
    n = 1 << z
    w = 2 * ORIGIN / n
    x0 = max(0, int((box_3857[0] + ORIGIN) // w))
    x1 = min(n - 1, int((box_3857[2] + ORIGIN) // w))
    y0 = max(0, int((ORIGIN - box_3857[3]) // w))
    y1 = min(n - 1, int((ORIGIN - box_3857[1]) // w))
    return x0, x1, y0, y1


def tiles_covering(box_3857: tuple[float, float, float, float], z: int) -> list[Tile]:
    """Every tile at zoom z that touches an EPSG:3857 box, row by row."""
    x0, x1, y0, y1 = tile_range(box_3857, z)
    return [Tile(z, x, y) for y in range(y0, y1 + 1) for x in range(x0, x1 + 1)]


def tile_matrix_limits(box_3857: tuple[float, float, float, float] | None, zooms: range) -> list[dict]:
    """OGC `tileMatrixSetLimits`: at each zoom, the rows and columns holding data (all of them without a box).
    Clients such as GDAL's OGCAPI driver only request tiles inside these limits."""
    limits = []
    for z in zooms:
        x0, x1, y0, y1 = tile_range(box_3857, z) if box_3857 else (0, (1 << z) - 1, 0, (1 << z) - 1)
        limits.append({"tileMatrix": str(z), "minTileRow": y0, "maxTileRow": y1, "minTileCol": x0, "maxTileCol": x1})
    return limits


def tile_matrix_set() -> dict:
    """The OGC TileMatrixSet 2.0 JSON description of WebMercatorQuad, with the TMS 1.0 (OGC 17-083r2) members
    alongside: GDAL up to 3.6 (Debian 12's) reads only the 1.0 encoding (`type`, `identifier`, `supportedCRS`,
    `tileMatrix`), later GDAL and every TMS 2.0 client read the 2.0 members, and neither minds the other's."""
    matrices, matrices_10 = [], []
    for z in range(MAX_ZOOM + 1):
        n = 1 << z
        common = {"scaleDenominator": 559082264.0287178 / n, "tileWidth": TILE_SIZE, "tileHeight": TILE_SIZE,
                  "matrixWidth": n, "matrixHeight": n}
        matrices.append({"id": str(z), **common, "cellSize": 2 * ORIGIN / TILE_SIZE / n,
                         "cornerOfOrigin": "topLeft", "pointOfOrigin": [-ORIGIN, ORIGIN]})
        matrices_10.append({"type": "TileMatrixType", "identifier": str(z), **common,
                            "topLeftCorner": [-ORIGIN, ORIGIN]})
    return {
        "id": TMS_ID,
        "title": "Google Maps Compatible for the World",
        "uri": TMS_URI,
        "crs": CRS_URI,
        "orderedAxes": ["X", "Y"],
        "wellKnownScaleSet": WKSS_URI,
        "tileMatrices": matrices,
        # TMS 1.0 encoding of the same set
        "type": "TileMatrixSetType",
        "identifier": TMS_ID,
        "supportedCRS": CRS_URI,
        "tileMatrix": matrices_10,
    }
