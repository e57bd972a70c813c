"""GeoParquet 1.1 files and datasets: write them (WKB geometry, a `bbox` covering column, spatially ordered rows in
small row groups, so a reader with a bounding box skips most of a file) and read them back as Arrow batches.

A dataset is a folder of GeoParquet files (`part-00000.parquet` …) sharing one schema; each file is a contiguous run
of a spatial order, so each covers a compact area (its `bbox` in the metadata) and readers such as dask-geopandas
know each partition's extent without opening it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import shapely
from pyproj import CRS

from spatial.io.errors import LoadError

VERSION = "1.1.0"
ROW_GROUP = 25_000  # rows per row group: small enough to skip, large enough to compress
SUFFIXES = (".parquet", ".geoparquet")
BBOX = "bbox"
BBOX_TYPE = pa.struct([(k, pa.float64()) for k in ("xmin", "ymin", "xmax", "ymax")])
COVERING = {"bbox": {k: [BBOX, k] for k in ("xmin", "ymin", "xmax", "ymax")}}
CREATOR = {"library": "lapis", "version": "0.1.0"}


class GeoParquetError(LoadError):
    """A file or folder that is not GeoParquet LAPIS can read; the message says why."""


def part_name(number: int) -> str:
    return f"part-{number:05d}.parquet"


def dataset_files(folder: Path) -> list[Path]:
    """The Parquet files of a dataset folder (hidden and `_metadata`-style files left out), in order."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                  and not p.name.startswith((".", "_")))


def is_dataset(folder: Path) -> bool:
    """A folder whose data files are all Parquet (a partitioned dataset)."""
    files = [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))]
    return bool(files) and all(p.suffix.lower() in SUFFIXES for p in files)


def bbox_column(wkb: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """The covering column for WKB geometries, and the shapely geometries (NULL geometry → NULL box)."""
    geoms = shapely.from_wkb(wkb)
    bounds = shapely.bounds(geoms)
    missing = pa.array(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    arrays = [pa.array(bounds[:, i], pa.float64()) for i in range(4)]
    return pa.StructArray.from_arrays(arrays, fields=list(BBOX_TYPE), mask=missing), geoms


@dataclass
class ColumnSummary:
    """What the `geo` metadata says about the geometry column, gathered while writing."""

    types: set[str]
    bounds: list[float] | None = None

    def add(self, geoms: np.ndarray) -> None:
        present = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
        if not present.size:
            return
        self.types.update(shapely.get_type_id(present).astype(str))
        box = shapely.total_bounds(present).tolist()
        b = self.bounds
        self.bounds = box if b is None else [min(b[0], box[0]), min(b[1], box[1]), max(b[2], box[2]),
                                             max(b[3], box[3])]


TYPE_NAMES = {"0": "Point", "1": "LineString", "3": "Polygon", "4": "MultiPoint", "5": "MultiLineString",
              "6": "MultiPolygon", "7": "GeometryCollection"}


def geo_metadata(crs: CRS | None, summary: ColumnSummary, geometry: str = "geometry") -> dict[str, Any]:
    column: dict[str, Any] = {"encoding": "WKB", "geometry_types": sorted(TYPE_NAMES[t] for t in summary.types),
                              "covering": COVERING}
    column["crs"] = crs.to_json_dict() if crs is not None else None
    if summary.bounds is not None:
        column["bbox"] = summary.bounds
    return {"version": VERSION, "primary_column": geometry, "columns": {geometry: column}, "creator": CREATOR}


class Writer:
    """A GeoParquet file written batch by batch (memory stays one batch): each batch (attributes + a WKB `geometry`
    column, rows already in spatial order) gains its `bbox`; the `geo` metadata is completed when the file closes."""

    def __init__(self, path: Path, schema: pa.Schema, crs: CRS | None, row_group: int | None = None) -> None:
        self.path, self.crs, self.row_group = path, crs, row_group or ROW_GROUP
        self.schema = schema.append(pa.field(BBOX, BBOX_TYPE))
        self.summary = ColumnSummary(set())
        self.rows = 0
        # no stored Arrow schema: readers then take the file's key-value metadata, where `geo` is added at close
        self._writer = pq.ParquetWriter(path, self.schema, compression="zstd", write_statistics=True,
                                        store_schema=False)

    def write(self, batch: pa.RecordBatch) -> None:
        box, geoms = bbox_column(batch.column("geometry").to_numpy(zero_copy_only=False))
        self.summary.add(geoms)
        self._writer.write_batch(pa.RecordBatch.from_arrays([*batch.columns, box], schema=self.schema),
                                 row_group_size=self.row_group)
        self.rows += batch.num_rows

    def close(self) -> None:
        self._writer.add_key_value_metadata({"geo": json.dumps(geo_metadata(self.crs, self.summary))})
        self._writer.close()


def write_frame(frame: Any, path: Path, row_group: int | None = None) -> int:
    """A GeoDataFrame to one GeoParquet 1.1 file, rows in Hilbert order of their boxes; returns the row count."""
    if len(frame):
        frame = frame.iloc[np.argsort(frame.geometry.hilbert_distance().to_numpy(), kind="stable")]
    frame.to_parquet(path, write_covering_bbox=True, schema_version=VERSION, compression="zstd",
                     row_group_size=row_group or ROW_GROUP, index=False)
    return len(frame)


def write_frame_dataset(frame: Any, folder: Path, partitions: int, row_group: int | None = None) -> list[Path]:
    """A GeoDataFrame to a dataset of `partitions` files: the rows in Hilbert order cut into equal runs, so each file
    covers a compact area (a spatially partitioned input for the Dask engine)."""
    prepare_folder(folder)
    if len(frame):
        frame = frame.iloc[np.argsort(frame.geometry.hilbert_distance().to_numpy(), kind="stable")]
    files = []
    for number, rows in enumerate(np.array_split(np.arange(len(frame)), partitions)):
        files.append(folder / part_name(number))
        write_frame(frame.iloc[rows], files[-1], row_group)
    return files


@dataclass(frozen=True)
class Info:
    """What a reader needs to know about a GeoParquet file or dataset."""

    geometry: str  # the primary geometry column
    crs_text: str  # PROJJSON; OGC:CRS84 when the metadata leaves it out (GeoParquet's default)
    bounds: tuple[float, float, float, float] | None
    rows: int
    attributes: pa.Schema  # neither geometry nor covering columns


def inspect(path: Path) -> Info:
    files = dataset_files(path) if path.is_dir() else [path]
    if not files:
        raise GeoParquetError(f"{path}: no Parquet files")
    try:
        schema = pq.read_schema(files[0])
        rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    except (pa.ArrowInvalid, OSError) as exc:
        raise GeoParquetError(f"{path}: not a readable Parquet file ({exc})") from None
    raw = (schema.metadata or {}).get(b"geo")
    if raw is None:
        raise GeoParquetError(f"{path}: Parquet without GeoParquet metadata (no 'geo' key): no geometry column")
    geo = json.loads(raw)
    name = geo["primary_column"]
    column = geo["columns"][name]
    if column.get("encoding", "WKB").upper() != "WKB":
        raise GeoParquetError(f"{path}: geometry encoded as {column['encoding']!r}; LAPIS reads WKB GeoParquet "
                              "(write it with geometry_encoding='WKB')")
    crs = column.get("crs", "OGC:CRS84")
    crs_text = "" if crs is None else crs if isinstance(crs, str) else json.dumps(crs)
    skip = {name} | {paths[0] for paths in (column.get("covering") or {}).get("bbox", {}).values()}
    attributes = pa.schema([f for f in schema if f.name not in skip])
    bounds = tuple(column["bbox"][:4]) if column.get("bbox") else None
    return Info(name, crs_text, bounds, rows, attributes)  # type: ignore[arg-type]


def iter_batches(path: Path, info: Info, batch_size: int) -> Iterator[pa.RecordBatch]:
    """The file's or dataset's rows in order: its attributes (dictionary columns decoded) and WKB geometry."""
    files = dataset_files(path) if path.is_dir() else [path]
    dataset = ds.dataset([str(f) for f in files], format="parquet")
    for batch in dataset.to_batches(columns=[*info.attributes.names, info.geometry], batch_size=batch_size):
        columns = [c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in batch.columns]
        yield pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def prepare_folder(folder: Path) -> None:
    """A folder to write a dataset into: created, or emptied of a previous dataset's parts; other files refuse it."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("part-*.parquet"):
        old.unlink()
    others = [p.name for p in folder.iterdir()]
    if others:
        raise GeoParquetError(f"{folder}: the folder holds other files ({', '.join(sorted(others)[:5])}); "
                              "write a dataset into an empty or new folder")


def write_dataset(batches: Iterator[pa.RecordBatch], schema: pa.Schema, out: Path, crs: CRS | None,
                  rows_per_file: int | None) -> list[Path]:
    """Batches (in spatial order) to one file (`rows_per_file` None) or to a folder of files of at most that many
    rows each; returns the files written."""
    if rows_per_file is None:
        writer = Writer(out, schema, crs)
        for batch in batches:
            writer.write(batch)
        writer.close()
        return [out]
    prepare_folder(out)
    files: list[Path] = []
    writer: Writer | None = None
    for batch in batches:
        offset = 0
        while offset < batch.num_rows:
            if writer is None or writer.rows >= rows_per_file:
                if writer is not None:
                    writer.close()
                files.append(out / part_name(len(files)))
                writer = Writer(files[-1], schema, crs)
            take = min(batch.num_rows - offset, rows_per_file - writer.rows)
            writer.write(batch.slice(offset, take))
            offset += take
    if writer is None:  # no rows: one empty part keeps the schema
        files.append(out / part_name(0))
        writer = Writer(files[-1], schema, crs)
    writer.close()
    return files
