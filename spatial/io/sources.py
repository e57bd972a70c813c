"""What a user points `lapis load` at, as a list of sources: a file, a zip archive, a folder of several
shapefiles, one layer of a GeoPackage, or a GeoParquet file or dataset (a folder of Parquet files: one
source). Zip archives are extracted into a private temporary folder
with checks (no absolute or `..` paths, no links, size and ratio limits); the folder goes when done.
"""

from __future__ import annotations

import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pyogrio

from spatial.io.errors import LoadError
from spatial.io.geoparquet import is_dataset

SUFFIXES = {".shp": "ESRI Shapefile", ".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON",
            ".fgb": "FlatGeobuf", ".csv": "CSV", ".parquet": "Parquet", ".geoparquet": "Parquet"}
MAX_ZIP_BYTES = 8 << 30  # uncompressed total
MAX_ZIP_MEMBERS = 10_000
MAX_ZIP_RATIO = 200  # uncompressed / compressed, per member (zip bombs are ~1000:1)


class SourceError(LoadError):
    """The input cannot be read; the message says why and what to do."""


class ArchiveTooLarge(SourceError):
    """A zip archive past one of its `ZipLimits` (refused from its directory, before anything is extracted)."""


@dataclass(frozen=True)
class ZipLimits:
    """What a zip archive may expand to. The ratio applies to every member, whatever its size: many small members
    of zeros are as much a bomb as one big one."""

    max_bytes: int = MAX_ZIP_BYTES  # uncompressed total
    max_members: int = MAX_ZIP_MEMBERS
    max_ratio: float = MAX_ZIP_RATIO  # uncompressed / compressed, per member


@dataclass(frozen=True)
class Source:
    path: Path  # the file to open
    driver: str
    layer: str | None  # a layer inside a multi-layer file (GeoPackage)
    display: str  # how the report names it
    stem: str  # prefix of generated codes


def declared_members(archive: Path) -> int | None:
    """The member count an archive's end record declares, read from its last bytes without parsing its directory
    (which for a bomb of many members is most of the work of refusing it); None when not found or ZIP64."""
    with archive.open("rb") as f:
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - (1 << 16) - 22))
        tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return None
    total = int.from_bytes(tail[at + 10:at + 12], "little")
    return None if total == 0xFFFF else total


def _open_checked(archive: Path, limits: ZipLimits) -> zipfile.ZipFile:
    """The archive, opened, once its directory is within `limits` (and every member a plain file or folder inside
    it); nothing is extracted here."""
    declared = declared_members(archive)
    if declared is not None and declared > limits.max_members:
        raise ArchiveTooLarge(f"{archive.name}: {declared:,} members, more than the {limits.max_members:,} allowed")
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SourceError(f"{archive.name} is not a readable zip archive ({exc})") from None
    try:
        _check_members(archive, zf.infolist(), limits)
    except BaseException:
        zf.close()
        raise
    return zf


def _check_members(archive: Path, members: list[zipfile.ZipInfo], limits: ZipLimits) -> None:
    if len(members) > limits.max_members:
        raise ArchiveTooLarge(f"{archive.name}: {len(members):,} members, more than the {limits.max_members:,} "
                              "allowed")
    total = 0
    for info in members:
        name = PurePosixPath(info.filename.replace("\\", "/"))
        if name.is_absolute() or ".." in name.parts or (name.parts and ":" in name.parts[0]):
            raise SourceError(f"{archive.name}: unsafe path {info.filename!r} in the archive (outside its folder)")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise SourceError(f"{archive.name}: {info.filename!r} is a symbolic link; links are not extracted")
        total += info.file_size
        if total > limits.max_bytes:
            raise ArchiveTooLarge(f"{archive.name}: more than {limits.max_bytes:,} bytes uncompressed, the "
                                  "limit; refused")
        if info.file_size > limits.max_ratio * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            raise ArchiveTooLarge(f"{archive.name}: {info.filename!r} expands {ratio:.0f}×, more than the "
                                  f"{limits.max_ratio:g}× allowed per member (a zip bomb?); refused")


def check_archive(archive: Path, limits: ZipLimits = ZipLimits()) -> None:
    """Refuse an archive past `limits` (or with unsafe members) from its directory alone, before anyone extracts
    it: what an upload route can tell its client at once."""
    _open_checked(archive, limits).close()


def safe_extract(archive: Path, target: Path, limits: ZipLimits = ZipLimits()) -> None:
    with _open_checked(archive, limits) as zf:
        members = zf.infolist()
        root = target.resolve()
        for info in members:
            destination = (target / info.filename).resolve()
            if root not in destination.parents and destination != root:
                raise SourceError(f"{archive.name}: unsafe path {info.filename!r}")
            if info.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            with zf.open(info) as src, destination.open("wb") as dst:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > info.file_size:
                        raise SourceError(f"{archive.name}: {info.filename!r} is larger than its header says")
                    dst.write(chunk)


def _files_in(folder: Path) -> list[Path]:
    """The vector files in a folder: its shapefiles when it has any (side files such as metadata .json
    are then left alone), else every file of a known format."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                   and not p.name.startswith(".") and "__MACOSX" not in p.parts)
    shapefiles = [p for p in files if p.suffix.lower() == ".shp"]
    return shapefiles or files


def _sources_for_file(path: Path, source_layer: str | None, display: str) -> list[Source]:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise SourceError(f"{display}: unknown format {path.suffix!r}; expected one of "
                          f"{', '.join(sorted(SUFFIXES))} or .zip")
    driver = SUFFIXES[suffix]
    if driver == "ESRI Shapefile":
        check_shapefile(path, display)
    layer = None
    if driver in ("GPKG",):
        try:
            layers = [str(name) for name, _ in pyogrio.list_layers(path)]
        except Exception as exc:
            raise SourceError(f"{display}: cannot be opened as a GeoPackage ({exc})") from None
        if source_layer is None:
            if len(layers) != 1:
                raise SourceError(f"{display} has {len(layers)} layers ({', '.join(layers)}): choose one with "
                                  "--source-layer")
            layer = layers[0]
        elif source_layer not in layers:
            raise SourceError(f"{display} has no layer {source_layer!r}; its layers: {', '.join(layers)}")
        else:
            layer = source_layer
    stem = layer or path.stem
    return [Source(path, driver, layer, f"{display}:{layer}" if layer else display, stem)]


def check_shapefile(shp: Path, display: str) -> None:
    """Refuse a shapefile whose parts are missing or cut short, before anything is staged."""
    parts = {p.suffix.lower(): p for p in shp.parent.glob(shp.stem + ".*")}
    for needed in (".shx", ".dbf"):
        if needed not in parts:
            raise SourceError(f"{display}: the {needed} file is missing (a shapefile needs .shp, .shx and .dbf)")
    size = shp.stat().st_size
    with shp.open("rb") as f:
        header = f.read(100)
    if len(header) < 100 or int.from_bytes(header[0:4], "big") != 9994:
        raise SourceError(f"{display}: not a shapefile (bad .shp header)")
    declared = int.from_bytes(header[24:28], "big") * 2
    if size < declared:
        raise SourceError(f"{display}: the .shp file is truncated ({size:,} bytes of the {declared:,} its header "
                          "declares); get the complete file")
    shx_size = parts[".shx"].stat().st_size
    records = (shx_size - 100) // 8
    with parts[".dbf"].open("rb") as f:
        dbf_head = f.read(12)
    dbf_records = int.from_bytes(dbf_head[4:8], "little") if len(dbf_head) >= 8 else -1
    if dbf_records != records:
        raise SourceError(f"{display}: the .shx indexes {records} shapes but the .dbf holds {dbf_records} records")


@contextmanager
def open_sources(path: Path, source_layer: str | None = None,
                 limits: ZipLimits = ZipLimits()) -> Iterator[list[Source]]:
    """The sources under `path` (extracting a zip, within `limits`, into a temporary folder removed afterwards)."""
    path = Path(path)
    if not path.exists():
        raise SourceError(f"{path}: no such file or folder")
    workdir: Path | None = None
    try:
        if path.is_file() and (path.suffix.lower() == ".zip" or zipfile.is_zipfile(path)
                               and path.suffix.lower() not in SUFFIXES):
            workdir = Path(tempfile.mkdtemp(prefix="lapis-zip-"))
            safe_extract(path, workdir, limits)
            files = _files_in(workdir)
            if not files:
                raise SourceError(f"{path.name}: the archive holds no shapefile or other vector file")
            sources = [s for f in files
                       for s in _sources_for_file(f, source_layer, f"{path.name}!{f.relative_to(workdir)}")]
        elif path.is_dir() and is_dataset(path):
            sources = [Source(path, "Parquet", None, str(path), path.name)]
        elif path.is_dir():
            files = _files_in(path)
            if not files:
                raise SourceError(f"{path}: the folder holds no shapefile or other vector file")
            sources = [s for f in files for s in _sources_for_file(f, source_layer, str(f))]
        else:
            sources = _sources_for_file(path, source_layer, str(path))
        yield sources
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
