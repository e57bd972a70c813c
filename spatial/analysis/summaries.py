"""Summary tables of the plan, as DataFrames (measures on the ellipsoid, by PostGIS):

- `region_area_by_district`: how much of each district each region covers (km², % of the district);
- `project_axis_distance`: each project's nearest development axis and its distance;
- `projects_summary`: projects per axis / status / category, with drawn length, published length and investment;
- `parcels_by_region`: classified parcels per region and land use (count, declared area).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from spatial.analysis.layers import resolve_url
from spatial.db import connect

if TYPE_CHECKING:
    import pandas as pd

NO_AXIS = "—"  # a project farther than AXIS_RADIUS_M from every axis
AXIS_RADIUS_M = 5_000.0
UNKNOWN = "unknown"
MIN_SHARE_PCT = 0.01  # below this, a district/region overlap is a sliver of the drawing, not a part of the plan

REGION_AREA_SQL = """
SELECT d.code AS district_code, d.name_vi AS district_name, r.code AS region_code, r.name_vi AS region_name,
       ST_Area(ST_Intersection(d.geom, r.geom)::geography) / 1e6 AS area_km2,
       100 * ST_Area(ST_Intersection(d.geom, r.geom)::geography) / ST_Area(d.geom::geography) AS share_of_district_pct
FROM admin_units d JOIN zones r ON ST_Intersects(d.geom, r.geom) AND NOT ST_Touches(d.geom, r.geom)
WHERE d.level = 'district' AND r.kind = 'region'
ORDER BY d.code, r.code
"""

PROJECT_AXIS_SQL = """
SELECT p.code, p.name_vi, p.name_en, coalesce(p.category, 'other') AS category, coalesce(p.status, 'unknown') AS status,
       p.investment_vnd_bn::float8 AS investment_vnd_bn, p.length_km::float8 AS length_km_published,
       CASE WHEN ST_Dimension(p.geom) = 1 THEN ST_Length(p.geom::geography) / 1000 END AS length_km_drawn,
       a.code AS axis_code, a.name_vi AS axis_name, a.distance_m
FROM projects p
LEFT JOIN LATERAL (  -- six axes: every distance measured on the ellipsoid
  SELECT x.code, x.name_vi, ST_Distance(x.geom::geography, p.geom::geography) AS distance_m
  FROM axes x ORDER BY 3, x.code LIMIT 1
) a ON true
ORDER BY p.code
"""


def _frame(sql: str, url: str | None) -> pd.DataFrame:
    import pandas as pd

    with connect(resolve_url(url)) as conn:
        cursor = conn.execute(sql)
        names = [c.name for c in cursor.description or []]
        return pd.DataFrame(cursor.fetchall(), columns=names)


def region_area_by_district(url: str | None = None) -> pd.DataFrame:
    """One row per (district, region) that overlap: the area in common (km²) and its share of the district (%);
    overlaps under MIN_SHARE_PCT of the district (slivers where the drawn boundaries meet) are left out."""
    frame = _frame(REGION_AREA_SQL, url)
    frame = frame[frame.share_of_district_pct >= MIN_SHARE_PCT].reset_index(drop=True)
    return frame.astype({"area_km2": "float64", "share_of_district_pct": "float64"})


def project_axis_distance(url: str | None = None) -> pd.DataFrame:
    """Each project with its nearest development axis (`axis_code`, `distance_m` on the ellipsoid)."""
    import pandas as pd

    frame = _frame(PROJECT_AXIS_SQL, url)
    for column in ("investment_vnd_bn", "length_km_published", "length_km_drawn", "distance_m"):
        frame[column] = pd.to_numeric(frame[column]).astype("float64")
    return frame


def projects_summary(by: tuple[str, ...] = ("axis", "status", "category"), url: str | None = None,
                     radius_m: float = AXIS_RADIUS_M) -> pd.DataFrame:
    """Projects grouped by `by` (any of axis, status, category): how many, drawn length of the line projects (km),
    published length (km), investment (VND bn) and how many have a published investment. A project's axis is its
    nearest one within `radius_m`, else "—"."""
    frame = project_axis_distance(url)
    frame["axis"] = frame.axis_code.where(frame.distance_m <= radius_m, NO_AXIS).fillna(NO_AXIS)
    def known_sum(values: pd.Series) -> float:  # NaN, not 0, when no project of the group has the figure
        return values.sum(min_count=1)

    grouped = frame.groupby(list(by), dropna=False).agg(
        projects=("code", "count"), length_km_drawn=("length_km_drawn", known_sum),
        length_km_published=("length_km_published", known_sum), investment_vnd_bn=("investment_vnd_bn", known_sum),
        investment_known=("investment_vnd_bn", "count"))
    return grouped.reset_index()


def parcels_by_region(classified: pd.DataFrame | str | Path | None = None, url: str | None = None) -> pd.DataFrame:
    """Classified parcels per primary region and land use: count and declared area (ha). `classified` is the output
    of `classify` (a frame) or of `classify_file` (a dataset folder, read two columns at a time: any size);
    None classifies the parcels layer (local engine)."""
    import pandas as pd
    import pyarrow.dataset as ds

    wanted = ["lapis_region_code", "land_use", "area_m2"]
    if classified is None:
        from spatial.analysis.classification import classify
        from spatial.analysis.layers import read_layer

        classified = classify(read_layer("parcels", url=url), "local", url=url)
    if isinstance(classified, str | Path):
        dataset = ds.dataset(str(classified), format="parquet")
        columns = [c for c in wanted if c in dataset.schema.names]
        classified = dataset.to_table(columns=columns).to_pandas()
    frame = pd.DataFrame({c: classified.get(c) for c in wanted})
    frame["lapis_region_code"] = frame.lapis_region_code.fillna(UNKNOWN).astype(str)
    frame["land_use"] = frame.land_use.fillna(UNKNOWN).astype(str)
    frame["area_ha"] = pd.to_numeric(frame.area_m2, errors="coerce") / 1e4
    table = frame.groupby(["lapis_region_code", "land_use"]).agg(parcels=("land_use", "size"),
                                                                 area_ha=("area_ha", "sum"))
    return table.reset_index().rename(columns={"lapis_region_code": "region_code"})
