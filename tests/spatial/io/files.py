"""Test inputs built by the tests themselves: shapefiles with DBF text in any encoding, VN-2000 data."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from spatial.io.encodings.codecs import encode

DISTRICTS = (
    "Thành phố Tân An", "Thị xã Kiến Tường", "Huyện Tân Hưng", "Huyện Vĩnh Hưng", "Huyện Mộc Hóa",
    "Huyện Tân Thạnh", "Huyện Thạnh Hóa", "Huyện Đức Huệ", "Huyện Đức Hòa", "Huyện Bến Lức", "Huyện Thủ Thừa",
    "Huyện Tân Trụ", "Huyện Cần Đước", "Huyện Cần Giuộc", "Huyện Châu Thành",
)
VN2000_PRJ_ESRI = (
    'PROJCS["VN_2000_105do45",GEOGCS["GCS_VN_2000",DATUM["D_Vietnam_2000",SPHEROID["WGS_1984",6378137.0,'
    '298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
    'PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",105.75],'
    'PARAMETER["Scale_Factor",0.9999],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
)


def squares(n: int, x0: float = 106.0, y0: float = 10.6, size: float = 0.01) -> list[shapely.Polygon]:
    return [shapely.box(x0 + i * size * 1.5, y0, x0 + i * size * 1.5 + size, y0 + size) for i in range(n)]


def write_dbf(path: Path, fields: list[tuple[str, str, int]], rows: list[list[bytes | str | float | None]],
              ldid: int = 0) -> None:
    """A minimal dBASE III file: C (bytes) and N fields; strings given as raw bytes are written as they are."""
    header_length = 32 + 32 * len(fields) + 1
    record_length = 1 + sum(width for _, _, width in fields)
    out = bytearray()
    out += bytes([3, 125, 1, 1]) + len(rows).to_bytes(4, "little") + header_length.to_bytes(2, "little")
    out += record_length.to_bytes(2, "little") + bytes(17) + bytes([ldid]) + bytes(2)
    for name, kind, width in fields:
        out += name.encode("ascii").ljust(11, b"\x00") + kind.encode() + bytes(4) + bytes([width])
        out += bytes([3 if kind == "N" else 0]) + bytes(14)
    out += b"\r"
    for row in rows:
        out += b" "
        for (_, kind, width), value in zip(fields, row, strict=True):
            if value is None:
                raw = b""
            elif kind == "N":
                raw = f"{value:.3f}".encode().rjust(width)
            else:
                raw = value if isinstance(value, bytes) else str(value).encode("ascii")
            out += raw[:width].ljust(width, b" ")
    out += b"\x1a"
    path.write_bytes(bytes(out))


def shapefile(path: Path, geoms: list, names: list[str] | None, encoding: str | None = "utf-8",
              cpg: str | None = None, prj: str | None = "EPSG:4326", ldid: int = 0,
              extra: dict[str, list] | None = None) -> Path:
    """A shapefile whose .dbf text is written in `encoding` (bytes made by the encoders' inverse)."""
    gdf = gpd.GeoDataFrame({"dummy": np.arange(len(geoms))}, geometry=geoms, crs=None)
    gdf.to_file(path, engine="pyogrio")
    for side in (".cpg", ".prj"):
        path.with_suffix(side).unlink(missing_ok=True)
    fields: list[tuple[str, str, int]] = []
    columns: list[list] = []
    if names is not None:
        fields.append(("ten", "C", 80))
        columns.append([encode(n, encoding) for n in names])
    for name, values in (extra or {}).items():
        numeric = all(isinstance(v, int | float) or v is None for v in values)
        fields.append((name, "N" if numeric else "C", 18 if numeric else 80))
        columns.append(values)
    if not fields:
        fields, columns = [("dummy", "N", 10)], [list(range(len(geoms)))]
    write_dbf(path.with_suffix(".dbf"), fields, [list(r) for r in zip(*columns, strict=True)], ldid)
    if cpg is not None:
        path.with_suffix(".cpg").write_text(cpg)
    if prj is not None:
        text = prj if prj.startswith(("PROJCS", "GEOGCS")) else \
            __import__("pyproj").CRS.from_user_input(prj).to_wkt("WKT1_ESRI")
        path.with_suffix(".prj").write_text(text)
    return path
