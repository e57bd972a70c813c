"""Reading the bundled data (data/geojson, data/opendata) for the file-level tests, and measuring it on the
ellipsoid or in metres (EPSG:9210). Nothing here reads outside the repository."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import shape

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "geojson"
OPENDATA = ROOT / "data" / "opendata"
LAYERS = ["plans", "admin_units", "zones", "corridors", "axes", "projects"]
GEOD = Geod(ellps="WGS84")
DISTRICT_CODES = [str(c) for c in range(794, 809)]
_TO_M = Transformer.from_crs("EPSG:4326", "EPSG:9210", always_xy=True)
_TO_LL = Transformer.from_crs("EPSG:9210", "EPSG:4326", always_xy=True)


def area_km2(geom: shapely.Geometry) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e6


def length_km(geom: shapely.Geometry) -> float:
    return GEOD.geometry_length(geom) / 1000


def buffer_m(geom: shapely.Geometry, metres: float) -> shapely.Geometry:
    """Buffer by metres in VN-2000 / TM-3 105-45, back in lon/lat."""
    metric = shapely.transform(geom, lambda xy: np.column_stack(_TO_M.transform(xy[:, 0], xy[:, 1])))
    return shapely.transform(metric.buffer(metres), lambda xy: np.column_stack(_TO_LL.transform(xy[:, 0], xy[:, 1])))


@cache
def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.geojson").read_text(encoding="utf-8"))


def features(name: str) -> dict[str, dict[str, Any]]:
    return {f["id"]: f for f in load(name)["features"]}


def geometry(name: str, code: str) -> shapely.Geometry:
    return shape(features(name)[code]["geometry"])


@cache
def province() -> shapely.Geometry:
    return geometry("admin_units", "80")


@cache
def districts() -> dict[str, shapely.Geometry]:
    return {c: shape(f["geometry"]) for c, f in features("admin_units").items()
            if f["properties"]["level"] == "district"}


def district_of(point: shapely.Point) -> str | None:
    return next((c for c, g in districts().items() if g.covers(point)), None)


def region_by_definition(point: shapely.Point) -> str | None:
    """The region a point belongs to by the regions' own definition (whole member districts, or a split box
    of a partial one), not by their drawn geometry."""
    code = district_of(point)
    for region, f in features("zones").items():
        p = f["properties"]
        if p["kind"] != "region":
            continue
        if code in p["member_units"]:
            return region
        if any(shapely.box(*b).covers(point) for b in p["split_boxes"].get(code, [])):
            return region
    return None


# Points a planner would check, with the answer they must get (district, region, in the centre).
KNOWN_POINTS: list[tuple[str, tuple[float, float], str | None, str | None, bool]] = [
    ("Tan Hung 4.4 km inside", (105.600, 10.928), "796", "R2", False),
    ("Binh Chanh HCMC, not Long An", (106.550, 10.708), None, None, False),
    ("Moc Hoa", (105.982, 10.761), "798", "R2", False),
    ("Duc Hue ecological buffer", (106.339, 10.838), "801", "R3", False),
    ("Tan An provincial HQ", (106.413, 10.535), "794", "R1", True),
]


def label_points() -> list[tuple[str, tuple[float, float], str, str | None, bool]]:
    """Each district's label point (shapely point_on_surface of the bundled district) and its expected answer."""
    out = []
    for code, g in sorted(districts().items()):
        p = g.point_on_surface()
        out.append((f"label point of {code}", (p.x, p.y), code, region_by_definition(p), code == "794"))
    return out
