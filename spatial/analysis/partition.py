"""One partition of parcels classified against the plan: the unit of work of the `local` and `dask` engines.

A partition arrives as a GeoDataFrame in any CRS (VN-2000 is transformed with EPSG:6960), is classified by
`spatial.analysis.join`, and leaves as the same rows with `/classify`'s columns and their geometry in EPSG:4326 —
written to its own GeoParquet file when the engine streams to a dataset, so a worker holds one partition at a time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from spatial.analysis.crs import geometries_in_wgs84
from spatial.analysis.join import PlanLayers, classify_geometries
from spatial.io.geoparquet import BBOX, part_name, write_frame

SUMMARY = pd.DataFrame({"part": pd.Series([], dtype="int64"), "rows": pd.Series([], dtype="int64")})


def classify_frame(frame: gpd.GeoDataFrame, plan: PlanLayers, nfc: bool = False) -> gpd.GeoDataFrame:
    """The frame's attributes, `/classify`'s columns and the geometry in EPSG:4326, in the frame's row order.
    `nfc`: normalise text to NFC (as the loaders do) when it was read without them."""
    geoms = geometries_in_wgs84(np.asarray(frame.geometry.values), frame.crs)
    attributes = pd.DataFrame(frame.drop(columns=[frame.geometry.name, *([BBOX] if BBOX in frame else [])]))
    if nfc:
        for name in attributes.columns:
            column = attributes[name]
            if column.dtype == object:
                attributes[name] = column.map(_nfc)
            elif pd.api.types.is_string_dtype(column):
                attributes[name] = column.str.normalize("NFC")  # Arrow-backed: one vectorised call
    result = classify_geometries(geoms, plan)
    result.index = attributes.index
    joined = pd.concat([attributes, result], axis=1)
    return gpd.GeoDataFrame(joined, geometry=gpd.GeoSeries(geoms, index=attributes.index), crs="EPSG:4326")


def _nfc(value: Any) -> Any:
    import unicodedata

    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


def classify_to_file(frame: gpd.GeoDataFrame, plan: PlanLayers, out: str, number: int,
                     nfc: bool = False) -> pd.DataFrame:
    """Classify a partition and write it as `out/part-<number>.parquet`; returns a one-row summary."""
    rows = write_frame(classify_frame(frame, plan, nfc), Path(out) / part_name(number))
    return pd.DataFrame({"part": [number], "rows": [rows]})


def dask_task(frame: gpd.GeoDataFrame, plan: PlanLayers, out: str, partition_info: dict[str, Any] | None = None,
              ) -> pd.DataFrame:
    """`map_partitions`' function: Dask passes the plan (scattered to every worker once) and the partition number."""
    number = partition_info["number"] if partition_info else 0
    return classify_to_file(frame, plan, out, number, nfc=True)
