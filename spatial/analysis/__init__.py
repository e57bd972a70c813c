"""LAPIS for analysts: the plan as (Geo)DataFrames, classification of parcels at any scale, summary tables.

    from spatial import analysis
    districts = analysis.read_layer("admin_units", crs="EPSG:9210", where="level = 'district'")
    parcels = analysis.classify("parcels.parquet")                      # the answers of POST /classify
    analysis.classify_file("parcels/", "classified/", engine="dask")   # a dataset of any size, on Dask
    analysis.region_area_by_district()

Importing this package needs no server and loads nothing heavy: each name is imported from its module on first use
(geopandas, Dask and matplotlib only when a function needs them).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOMES = {
    "read_layer": "layers", "read_select": "layers",
    "classify": "classification", "classify_file": "classification", "read_frame": "classification",
    "ENGINES": "classification",
    "region_area_by_district": "summaries", "projects_summary": "summaries", "parcels_by_region": "summaries",
    "project_axis_distance": "summaries",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'spatial.analysis' has no attribute {name!r}")
    return getattr(import_module(f"spatial.analysis.{_HOMES[name]}"), name)
