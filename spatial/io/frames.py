"""In-memory (Geo)DataFrames into a layer — for analysts, tests and benchmarks — through the very mapping,
checks and apply that `lapis load` uses for files."""

from __future__ import annotations

from collections.abc import Iterator

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import shapely

from spatial.io.apply import ApplyResult, Mode
from spatial.io.loader import LoadOptions, apply_batches
from spatial.io.reader import GEOMETRY
from spatial.layers import Layer


def frame_batches(frame: pd.DataFrame, has_geometry: bool,
                  chunk: int = 65_536) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """A (Geo)DataFrame (EPSG:4326) as Arrow batches with a WKB `geometry` column."""
    attributes = pd.DataFrame(frame.drop(columns=[frame.geometry.name])) \
        if isinstance(frame, gpd.GeoDataFrame) else pd.DataFrame(frame)
    table = pa.Table.from_pandas(attributes, preserve_index=False)
    if has_geometry and isinstance(frame, gpd.GeoDataFrame):
        wkb = shapely.to_wkb(np.asarray(frame.geometry.values), output_dimension=2)
        table = table.append_column(GEOMETRY, pa.array(wkb, pa.binary()))
    return table.schema, iter(table.to_batches(max_chunksize=chunk))


def apply_frame(conn: psycopg.Connection, layer: Layer, frame: pd.DataFrame, mode: Mode = "upsert",
                key: str = "code") -> ApplyResult:
    """Stage a (Geo)DataFrame in EPSG:4326 and apply it to `layer` in the caller's transaction, through the
    same mapping, checks and apply as `lapis load` (rejected rows are left out)."""
    schema, batches = frame_batches(frame, layer.has_geometry)
    return apply_batches(conn, layer, schema, batches, LoadOptions(layer=layer.id, mode=mode, key=key))
