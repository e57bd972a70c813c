"""Downloads of a selection of features (the API's `f=gpkg|fgb|shp|geojson|csv` on items): every feature an
`ItemsRequest` selects — its filters, sort order, properties and CRS, paging aside — written by the exporter to a
file in a folder the caller owns (and removes), up to a maximum number of features.

A shapefile is several files: it is written to a folder of its own and zipped (`.shp`, `.shx`, `.dbf`, `.cpg` with
UTF-8, `.prj` in the chosen CRS). Files hold coordinates in their CRS's GIS order (x = longitude or easting), as
GDAL writes every format, whatever axis order the CRS's definition gives. Features come in the items' order, except
in a FlatGeobuf without `sortby`: its spatial index orders them along a Hilbert curve (with `sortby`, the file keeps
the order asked for and has no index).
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pyproj import CRS

from spatial.crs import SupportedCrs
from spatial.errors import InvalidParameter
from spatial.features import ItemsRequest, selection_sql
from spatial.history.asof import source_sql
from spatial.io.export import Selection, write_selection
from spatial.layers import Layer
from spatial.sqlbuild import Params


@dataclass(frozen=True)
class DownloadFormat:
    key: str  # the value of `f`
    suffix: str  # of the file sent
    media_type: str  # IANA media type of the file sent
    title: str
    accepts: tuple[str, ...]  # media types an Accept header asks for it by
    export_suffix: str = ""  # the exporter's (when the file sent is not what it writes: the zipped shapefile)

    def filename(self, layer: Layer) -> str:
        return f"{layer.id}{self.suffix}"


FORMATS: dict[str, DownloadFormat] = {f.key: f for f in (
    DownloadFormat("gpkg", ".gpkg", "application/geopackage+sqlite3", "GeoPackage",
                   ("application/geopackage+sqlite3",)),
    DownloadFormat("fgb", ".fgb", "application/flatgeobuf", "FlatGeobuf", ("application/flatgeobuf",)),
    DownloadFormat("shp", ".zip", "application/zip", "zipped Shapefile", ("application/x-shapefile",
                                                                         "application/zip"), ".shp"),
    DownloadFormat("geojson", ".geojson", "application/geo+json", "GeoJSON", ("application/geo+json",
                                                                             "application/json")),
    DownloadFormat("csv", ".csv", "text/csv", "CSV (geometry as WKT)", ("text/csv",)),
)}
# formats that are only ever downloads (GeoJSON and CSV are pages of items too, unless a download is asked for)
FILE_ONLY = ("gpkg", "fgb", "shp")


def formats_for(layer: Layer) -> tuple[DownloadFormat, ...]:
    """The formats `layer` can be downloaded in: FlatGeobuf and Shapefile are for features with a geometry (a table
    goes to GeoPackage, GeoJSON or CSV), and a shapefile holds one geometry type only."""
    if not layer.has_geometry:
        return tuple(f for f in FORMATS.values() if f.key not in ("fgb", "shp"))
    return tuple(f for f in FORMATS.values() if not (f.key == "shp" and layer.geometry_type == "Geometry"))


def unavailable(layer: Layer, fmt: DownloadFormat) -> str:
    """Why `layer` cannot be downloaded as `fmt` (it is not in `formats_for(layer)`)."""
    why = "has no geometry" if not layer.has_geometry else "mixes geometry types, which a shapefile cannot hold"
    return f"{layer.id} {why}; download it as {', '.join(f.key for f in formats_for(layer))}"


def file_crs(crs: SupportedCrs) -> CRS:
    """The CRS written to the file: the EPSG code (CRS84 and EPSG:4326 are both EPSG:4326 in a file: longitude
    first, as GIS formats store it)."""
    return CRS.from_epsg(crs.code)


def write_download(url: str, req: ItemsRequest, fmt: DownloadFormat, folder: Path, *, max_features: int,
                   limit: int | None = None, stop: Callable[[], bool] | None = None) -> Path:
    """Write what `req` selects (at most `limit` features) in `fmt` into `folder`; returns the file to send.
    TooLarge (nothing written) when that is more than `max_features`; ExportCancelled when `stop()` turns true."""
    layer = req.layer
    if fmt not in formats_for(layer):
        raise InvalidParameter(f"f: {unavailable(layer, fmt)}", parameter="f")
    params = Params()
    where, order = selection_sql(req, params)
    source = source_sql(layer, req.asof, params) if req.asof is not None else None
    selection = Selection(layer, where, tuple(params.values), order, req.properties, with_id=True, limit=limit,
                          max_features=max_features, keep_order=bool(req.sortby), source=source)
    if fmt.key != "shp":
        out = folder / fmt.filename(layer)
        write_selection(url, selection, out, file_crs(req.crs), stop=stop)
        return out
    parts = folder / "shapefile"
    parts.mkdir()
    write_selection(url, selection, parts / f"{layer.id}{fmt.export_suffix}", file_crs(req.crs), stop=stop)
    out = folder / fmt.filename(layer)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for part in sorted(parts.iterdir()):
            archive.write(part, arcname=part.name)  # read from disk in chunks, not into memory
    return out
