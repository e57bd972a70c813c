"""Where classification runs: `local` (this process, partition after partition) or `dask` (the same partitions on
a Dask cluster: a LocalCluster of process workers, or any scheduler's address), streaming a file or a dataset to a
partitioned GeoParquet dataset. The plan layers are fetched from PostGIS once and, on Dask, scattered to every
worker before the partitions run, so the database serves one small query whatever the number of parcels.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyarrow as pa
import shapely

from spatial.analysis.join import PlanLayers
from spatial.analysis.partition import SUMMARY, classify_to_file, dask_task
from spatial.io.errors import LoadError
from spatial.io.geoparquet import SUFFIXES, is_dataset, prepare_folder
from spatial.io.reader import GEOMETRY, prepare, read_batches
from spatial.io.sources import open_sources

BATCH_ROWS = 100_000  # parcels per partition when the input does not say (Dask: row groups merged up to this)
DEFAULT_WORKERS = 2


@dataclass
class ClassifyReport:
    engine: str
    input: str
    out: str
    rows: int
    partitions: int
    seconds: float
    workers: int = 1

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def batch_frame(batch: pa.RecordBatch) -> gpd.GeoDataFrame:
    """A reader batch (decoded attributes + WKB geometry in EPSG:4326) as a GeoDataFrame."""
    attributes = batch.drop_columns([GEOMETRY]).to_pandas()
    geoms = shapely.from_wkb(batch.column(GEOMETRY).to_numpy(zero_copy_only=False))
    return gpd.GeoDataFrame(attributes, geometry=geoms, crs="EPSG:4326")


def read_frames(path: Path, crs: str | None, partitions: int | None) -> Iterator[gpd.GeoDataFrame]:
    """Any input LAPIS loads (GeoParquet, shapefile, GeoPackage …: encodings and VN-2000 recognised) as frames of
    bounded size: `partitions` of about equal size when the number of features is known, else BATCH_ROWS each."""
    with open_sources(path) as sources:
        for source in sources:
            prepared = prepare(source, crs, "auto")
            size = BATCH_ROWS
            if partitions and prepared.features:
                size = max(1, math.ceil(prepared.features / partitions))
            for batch in rebatch(read_batches(prepared, batch_size=size), size):
                yield batch_frame(batch)


def rebatch(batches: Iterator[pa.RecordBatch], size: int) -> Iterator[pa.RecordBatch]:
    """Batches of exactly `size` rows (the last one fewer), whatever sizes the reader gives (a GeoParquet reader stops
    at row-group boundaries)."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        pending.append(batch)
        rows += batch.num_rows
        while rows >= size:
            table = pa.Table.from_batches(pending).combine_chunks()
            yield table.slice(0, size).to_batches()[0]
            rest = table.slice(size)
            pending, rows = rest.to_batches(), rest.num_rows
    if rows:
        yield pa.Table.from_batches(pending).combine_chunks().to_batches()[0]


def run_local(path: Path, out: Path, plan: PlanLayers, crs: str | None, partitions: int | None) -> ClassifyReport:
    started = time.perf_counter()
    prepare_folder(out)
    rows = parts = 0
    for frame in read_frames(path, crs, partitions):
        rows += int(classify_to_file(frame, plan, str(out), parts).rows.iloc[0])
        parts += 1
    return ClassifyReport("local", str(path), str(out), rows, parts, time.perf_counter() - started)


@contextmanager
def dask_client(scheduler: str | None, workers: int = DEFAULT_WORKERS) -> Iterator[Any]:
    """A client of the scheduler at `scheduler` (tcp://host:8786), or of a LocalCluster of process workers made for
    this run (one thread each: GEOS work holds the GIL)."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        yield client


def read_dask(path: Path, partitions: int | None) -> Any:
    """GeoParquet (file or dataset) as a dask-geopandas frame: each partition the consecutive row groups of one file
    up to about BATCH_ROWS parcels (files written by LAPIS are in spatial order, so each is a compact area; a
    partition's memory is bounded whatever the file sizes); `partitions` repartitions it."""
    import dask_geopandas
    import pyarrow.parquet as pq

    from spatial.io.geoparquet import dataset_files

    if not (path.suffix.lower() in SUFFIXES or (path.is_dir() and is_dataset(path))):
        raise LoadError(f"{path}: the dask engine reads GeoParquet (a .parquet file or a folder of them); "
                         "convert other formats with `lapis load` + `lapis export LAYER out.parquet`")
    first = pq.ParquetFile(dataset_files(path)[0] if path.is_dir() else path).metadata
    group_rows = max(1, first.num_rows // max(1, first.num_row_groups))
    frame = dask_geopandas.read_parquet(str(path), split_row_groups=max(1, BATCH_ROWS // group_rows))
    if partitions and partitions != frame.npartitions:
        frame = frame.repartition(npartitions=partitions)
    return frame


def run_dask(path: Path, out: Path, plan: PlanLayers, scheduler: str | None, partitions: int | None,
             workers: int = DEFAULT_WORKERS) -> ClassifyReport:
    started = time.perf_counter()
    frame = read_dask(path, partitions)
    prepare_folder(out)
    with dask_client(scheduler, workers) as client:
        shared = client.scatter(plan, broadcast=True)  # once per worker, not once per task
        summary = frame.map_partitions(dask_task, shared, str(out.resolve()), meta=SUMMARY).compute()
        n_workers = len(client.scheduler_info()["workers"])
    return ClassifyReport("dask", str(path), str(out), int(summary.rows.sum()), len(summary),
                          time.perf_counter() - started, n_workers)
