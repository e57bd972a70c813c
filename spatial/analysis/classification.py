"""Classify parcels against the plan — the answers of `POST /classify` — from Python, with three engines:

- `postgis`: `/classify`'s own statements in the database (the reference);
- `local`: the join in this process with geopandas/shapely (`spatial.analysis.join`), partition by partition;
- `dask`: the same join on a Dask cluster, partitions in parallel (a LocalCluster, or `scheduler="tcp://host:8786"`).

`classify(frame_or_path)` returns a GeoDataFrame; `classify_file(input, out)` streams a file or a GeoParquet
dataset of any size to a partitioned GeoParquet dataset (memory per worker: one partition).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from spatial.analysis.crs import geometries_in_wgs84
from spatial.analysis.layers import resolve_url

if TYPE_CHECKING:
    import geopandas as gpd

    from spatial.analysis.engines import ClassifyReport

ENGINES = ("postgis", "local", "dask")
VN2000_SRIDS = {9210: 909210, 3405: 903405}  # PostGIS SRIDs pinning EPSG:6960 (migration 0004)


def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise ValueError(f"engine {engine!r}: use one of {', '.join(ENGINES)}")


def read_frame(path: str | Path, crs: str | None = None) -> gpd.GeoDataFrame:
    """A file as LAPIS's loaders read it (encodings, VN-2000 recognised) in one GeoDataFrame, EPSG:4326."""
    import pandas as pd

    from spatial.analysis.engines import read_frames

    frames = list(read_frames(Path(path), crs, None))
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def classify(data: gpd.GeoDataFrame | str | Path, engine: str = "postgis", *, url: str | None = None,
             crs: str | None = None, scheduler: str | None = None, partitions: int | None = None) -> gpd.GeoDataFrame:
    """Each parcel (polygons of a GeoDataFrame, or of a file) with `/classify`'s columns — `lapis_admin_code/name`,
    `lapis_region_code/name/share_pct`, `lapis_centre`, `lapis_corridors`, `lapis_shares` (JSON text, % per plan
    feature) — and its geometry in EPSG:4326, in input order. `crs` declares a file's CRS when it has none."""
    import geopandas as gpd
    import pandas as pd

    _check_engine(engine)
    url = resolve_url(url)
    frame = data if isinstance(data, gpd.GeoDataFrame) else read_frame(data, crs)
    if engine == "dask":
        return _classify_on_dask(frame, url, scheduler, partitions)
    geoms = np.asarray(frame.geometry.values)
    wgs84 = geometries_in_wgs84(geoms, frame.crs)
    if engine == "postgis":
        from spatial.analysis.postgis import classify_in_postgis

        epsg = frame.crs.to_epsg() if frame.crs is not None else 4326
        srid = VN2000_SRIDS.get(epsg or 0)
        result = classify_in_postgis(geoms, srid, url) if srid else classify_in_postgis(wgs84, 4326, url)
    else:
        from spatial.analysis.join import classify_geometries, fetch_plan_layers

        result = classify_geometries(wgs84, fetch_plan_layers(url))
    attributes = pd.DataFrame(frame.drop(columns=[frame.geometry.name])).reset_index(drop=True)
    return gpd.GeoDataFrame(pd.concat([attributes, result], axis=1), geometry=wgs84, crs="EPSG:4326")


def _classify_on_dask(frame: gpd.GeoDataFrame, url: str, scheduler: str | None,
                      partitions: int | None) -> gpd.GeoDataFrame:
    import dask_geopandas

    from spatial.analysis.engines import DEFAULT_WORKERS, dask_client
    from spatial.analysis.join import fetch_plan_layers
    from spatial.analysis.partition import classify_frame

    plan = fetch_plan_layers(url)
    parts = dask_geopandas.from_geopandas(frame.reset_index(drop=True), npartitions=partitions or DEFAULT_WORKERS)
    meta = classify_frame(frame.iloc[:0], plan)
    with dask_client(scheduler) as client:
        shared = client.scatter(plan, broadcast=True)
        return parts.map_partitions(classify_frame, shared, meta=meta).compute()


def classify_file(path: str | Path, out: str | Path, engine: str = "local", *, url: str | None = None,
                  crs: str | None = None, scheduler: str | None = None, partitions: int | None = None,
                  workers: int | None = None) -> ClassifyReport:
    """Classify a file or GeoParquet dataset into the GeoParquet dataset folder `out` (`part-00000.parquet` …).
    `local` and `postgis` read any format LAPIS loads; `dask` reads GeoParquet, a partition per run of row groups of
    about 100,000 parcels (or `partitions`), on `scheduler` or on a LocalCluster of `workers` processes."""
    import time

    from spatial.analysis import engines
    from spatial.analysis.join import fetch_plan_layers

    _check_engine(engine)
    path, out, url = Path(path), Path(out), resolve_url(url)
    if engine == "local":
        return engines.run_local(path, out, fetch_plan_layers(url), crs, partitions)
    if engine == "dask":
        return engines.run_dask(path, out, fetch_plan_layers(url), scheduler, partitions,
                                workers or engines.DEFAULT_WORKERS)
    from spatial.io.geoparquet import part_name, prepare_folder, write_frame

    started = time.perf_counter()
    result = classify(path, "postgis", url=url, crs=crs)
    prepare_folder(out)
    rows = write_frame(result, out / part_name(0))
    return engines.ClassifyReport("postgis", str(path), str(out), rows, 1, time.perf_counter() - started)
