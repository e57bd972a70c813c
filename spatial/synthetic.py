"""Synthetic land parcels inside the bundled province outline, for benchmarks and big-file tests (both
import it from here: tests never depend on `bench/`).

Vectorised (numpy + shapely 2): a million parcels take a few seconds. Each parcel is a rotated
rectangle 15–80 m a side around a random point inside the province, with a code, a Vietnamese name,
a land-use class and its declared area. `edge_share` puts that fraction of them astride a district or
region boundary instead (centred on a random point of the boundary), where classification is hardest.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from spatial.settings import PROJECT_ROOT

LAND_USES = np.array(["ONT", "ODT", "LUC", "LUK", "CLN", "NTS", "SKC", "SKK", "DGT", "TMD"])
METRES_PER_DEGREE_LAT = 110_600.0
METRES_PER_DEGREE_LON = 109_450.0  # at about 10.7° N


def province_outline(data_dir: Path = PROJECT_ROOT / "data" / "geojson") -> shapely.Geometry:
    features = json.loads((data_dir / "admin_units.geojson").read_text())["features"]
    province = next(f for f in features if f["properties"]["level"] == "province")
    return shapely.geometry.shape(province["geometry"])


def random_points_inside(area: shapely.Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    shapely.prepare(area)
    xmin, ymin, xmax, ymax = area.bounds
    chunks, found = [], 0
    while found < n:
        x = rng.uniform(xmin, xmax, size=max(2 * (n - found), 1000))
        y = rng.uniform(ymin, ymax, size=x.size)
        keep = shapely.contains_xy(area, x, y)
        chunk = np.column_stack([x[keep], y[keep]])
        chunks.append(chunk)
        found += len(chunk)
    return np.concatenate(chunks)[:n]


def boundary_lines(data_dir: Path = PROJECT_ROOT / "data" / "geojson") -> np.ndarray:
    """The segments ((x0, y0), (x1, y1)) of the bundled districts' and regions' boundaries."""
    rings = []
    for layer, keep in (("admin_units", ("level", "district")), ("zones", ("kind", "region"))):
        for feature in json.loads((data_dir / f"{layer}.geojson").read_text())["features"]:
            if feature["properties"].get(keep[0]) == keep[1]:
                boundary = shapely.boundary(shapely.geometry.shape(feature["geometry"]))
                rings += [np.asarray(part.coords) for part in getattr(boundary, "geoms", [boundary])]
    return np.concatenate([np.stack([r[:-1], r[1:]], axis=1) for r in rings])


def random_points_on_boundaries(n: int, rng: np.random.Generator, jitter_m: float = 12.0) -> np.ndarray:
    """`n` points on (within `jitter_m` of) district/region boundaries, uniformly by length. The jitter matters: a
    rectangle centred exactly on a straight boundary is cut into two equal halves, a tie no real parcel makes."""
    segments = boundary_lines()
    lengths = np.hypot(*(segments[:, 1] - segments[:, 0]).T)
    pick = rng.choice(len(segments), size=n, p=lengths / lengths.sum())
    t = rng.uniform(0, 1, n)[:, None]
    points = segments[pick, 0] + t * (segments[pick, 1] - segments[pick, 0])
    jitter = rng.uniform(-jitter_m, jitter_m, (n, 2)) / [METRES_PER_DEGREE_LON, METRES_PER_DEGREE_LAT]
    return points + jitter


def synthetic_parcels(n: int, seed: int = 686, edge_share: float = 0.0) -> gpd.GeoDataFrame:
    """`n` parcels (EPSG:4326) with code, name_vi, land_use, area_m2 and a MultiPolygon-able geometry;
    `edge_share` of them astride district/region boundaries."""
    rng = np.random.default_rng(seed)
    edges = int(round(n * edge_share))
    centres = random_points_inside(province_outline(), n - edges, rng)
    if edges:
        centres = np.concatenate([centres, random_points_on_boundaries(edges, rng)])
    width = rng.uniform(15, 80, n)
    depth = rng.uniform(15, 80, n)
    angle = rng.uniform(0, np.pi, n)
    corners = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5]])
    local_x = corners[None, :, 0] * width[:, None]
    local_y = corners[None, :, 1] * depth[:, None]
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    dx = (local_x * cos - local_y * sin) / METRES_PER_DEGREE_LON
    dy = (local_x * sin + local_y * cos) / METRES_PER_DEGREE_LAT
    coords = np.stack([centres[:, 0:1] + dx, centres[:, 1:2] + dy], axis=-1)
    polygons = shapely.polygons(coords)
    numbers = np.arange(1, n + 1)
    return gpd.GeoDataFrame(
        {
            "code": np.char.add("P", np.char.zfill(numbers.astype(str), 7)),
            "name_vi": np.char.add("Thửa đất số ", numbers.astype(str)),
            "land_use": rng.choice(LAND_USES, n),
            "area_m2": np.round(width * depth, 1),
            "source": "synthetic (bench)",
            "accuracy": "unknown",
        },
        geometry=polygons,
        crs="EPSG:4326",
    )


def load_parcels(url: str, parcels: gpd.GeoDataFrame) -> None:
    """Replace the parcels layer with `parcels` through LAPIS's own write path, then ANALYZE."""
    import psycopg

    from spatial.io.frames import apply_frame
    from spatial.layers import get_layer

    with psycopg.connect(url) as conn, conn.transaction():
        apply_frame(conn, get_layer("parcels"), parcels, mode="replace")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE parcels")
