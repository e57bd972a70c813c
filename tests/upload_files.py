"""Files an uploader sends, made by the tests: one set of parcels written as each format an import reads (a
zipped shapefile with a legacy-encoded DBF, GeoPackage, GeoJSON, FlatGeobuf, CSV with WKT), and hostile zips."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import shapely

from tests.spatial.io.files import DISTRICTS, shapefile, squares

FORMATS = ("shp-zip", "gpkg", "geojson", "fgb", "csv")
NAMES = list(DISTRICTS)  # Vietnamese names, every diacritic kind


def parcels(n: int, prefix: str = "UP", x0: float = 106.40, y0: float = 10.60) -> gpd.GeoDataFrame:
    """`n` small square parcels with codes PREFIX-1…, Vietnamese names (field `ten`) and a land use."""
    return gpd.GeoDataFrame({"code": [f"{prefix}-{i + 1}" for i in range(n)],
                             "ten": [NAMES[i % len(NAMES)] for i in range(n)],
                             "land_use": ["ONT" if i % 2 else "LUC" for i in range(n)]},
                            geometry=squares(n, x0=x0, y0=y0, size=0.001), crs=4326)


def write(kind: str, folder: Path, frame: gpd.GeoDataFrame, stem: str = "parcels") -> Path:
    """`frame` as an upload of `kind` in `folder`; its path (named with the format's extension)."""
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "shp-zip":  # the names in TCVN3 (LDID 0x57, no .cpg): the loader must recognise them
        shp = shapefile(folder / f"{stem}.shp", list(frame.geometry), list(frame.ten), encoding="tcvn3",
                        ldid=0x57, extra={"code": list(frame.code), "land_use": list(frame.land_use)})
        return zipped(folder / f"{stem}.zip", sorted(shp.parent.glob(f"{stem}.*")))
    if kind == "csv":
        path = folder / f"{stem}.csv"
        lines = ["code,ten,land_use,wkt"] + [f'{c},{t},{u},"{shapely.to_wkt(g, rounding_precision=7)}"'
                                            for c, t, u, g in zip(frame.code, frame.ten, frame.land_use,
                                                                  frame.geometry, strict=True)]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path
    suffix = {"gpkg": ".gpkg", "geojson": ".geojson", "fgb": ".fgb"}[kind]
    path = folder / f"{stem}{suffix}"
    frame.to_file(path, engine="pyogrio")
    return path


def zipped(path: Path, members: list[Path]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for member in members:
            zf.write(member, member.name)
    return path


def many_members(path: Path, count: int) -> Path:
    """A zip of `count` tiny files."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(count):
            zf.writestr(f"part{i}.txt", b"x")
    return path


def bomb(path: Path, megabytes: int = 64) -> Path:
    """A zip whose one member (zeros) expands about a thousandfold."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("parcels.geojson", bytes(megabytes << 20))
    return path
