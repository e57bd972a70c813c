"""Load the bundled plan data (data/geojson/<layer>.geojson) in one transaction, idempotently.

It goes through the loaders' write path (`spatial.io.staging.apply_frame`, upsert by `code`), so a
second run changes nothing: unchanged rows are not even rewritten (their `updated_at` stays).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import orjson
import pandas as pd

from spatial.db import connect
from spatial.io.staging import ApplyResult, apply_frame
from spatial.layers import LAYERS, get_layer

# plans first: the other layers refer to a plan by its code
SEED_ORDER = ("plans", "admin_units", "zones", "corridors", "axes", "projects", "parcels")


def read_bundled(path: Path, has_geometry: bool) -> pd.DataFrame:
    """A bundled GeoJSON file as a (Geo)DataFrame, keeping list and object properties as they are."""
    collection = orjson.loads(path.read_bytes())
    features = collection["features"]
    if not has_geometry:
        return pd.DataFrame([f["properties"] for f in features])
    return gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")


def bundled_files(data_dir: Path) -> list[tuple[str, Path]]:
    return [(layer_id, data_dir / f"{layer_id}.geojson") for layer_id in SEED_ORDER
            if layer_id in LAYERS and (data_dir / f"{layer_id}.geojson").exists()]


def seed(url: str, data_dir: Path) -> list[ApplyResult]:
    results = []
    with connect(url) as conn, conn.transaction():
        for layer_id, path in bundled_files(data_dir):
            layer = get_layer(layer_id)
            frame = read_bundled(path, layer.has_geometry)
            results.append(apply_frame(conn, layer, frame, mode="upsert", key="code"))
    return results
