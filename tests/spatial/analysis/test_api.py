"""`spatial.analysis`: importable with no server, layers as GeoDataFrames (VN-2000 through EPSG:6960), ORM selects,
classification with the answers of `POST /classify`, and the summary tables."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pyproj import CRS, Transformer
from sqlalchemy import func, select

from spatial import analysis
from spatial.errors import InvalidParameter
from spatial.io.crs import reprojection, resolve
from spatial.models import AdminUnit
from spatial.settings import PROJECT_ROOT
from spatial.synthetic import synthetic_parcels
from tests.helpers import assert_same_classification, classified_rows


def test_import_needs_no_server_and_nothing_heavy() -> None:
    code = ("import sys, spatial.analysis as a; heavy = [m for m in "
            "('geopandas', 'dask', 'distributed', 'matplotlib', 'sqlalchemy') if m in sys.modules]; "
            "assert not heavy, heavy; print(sorted(a.__all__))")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert "classify" in result.stdout and "read_layer" in result.stdout


def test_read_layer_in_wgs84(db_url: str) -> None:
    districts = analysis.read_layer("admin_units", where="level = 'district'", url=db_url)
    assert len(districts) == 15 and districts.crs.to_epsg() == 4326
    assert set(districts.geometry.geom_type) == {"MultiPolygon"}
    assert "Tân An" in set(districts.name_vi) and isinstance(districts.props.iloc[0], dict)
    xmin, ymin, xmax, ymax = districts.total_bounds
    assert 105.4 < xmin < xmax < 106.9 and 10.3 < ymin < ymax < 11.1


def test_read_layer_in_vn2000_uses_epsg_6960(db_url: str) -> None:
    """EPSG:9210 coordinates are PostGIS's transform through SRID 909210 (EPSG:6960), not PROJ's default choice
    (EPSG:5194 in Long An, about 0.8 m away)."""
    wgs84 = analysis.read_layer("zones", where="code = 'C1'", url=db_url)
    vn2000 = analysis.read_layer("zones", crs="EPSG:9210", where="code = 'C1'", url=db_url)
    assert vn2000.crs.to_epsg() == 9210
    lon, lat = np.asarray(wgs84.geometry.iloc[0].exterior.coords if wgs84.geometry.iloc[0].geom_type == "Polygon"
                          else wgs84.geometry.iloc[0].geoms[0].exterior.coords)[:5].T
    x, y = np.asarray(vn2000.geometry.iloc[0].geoms[0].exterior.coords)[:5].T
    pinned = reprojection(resolve(None, "EPSG:9210", None, "test")).transformer
    assert pinned is not None and "VN-2000 to WGS 84 (2)" in pinned.description
    back_lon, back_lat = pinned.transform(x, y)
    assert np.allclose(back_lon, lon, atol=1e-8) and np.allclose(back_lat, lat, atol=1e-8)  # ~1 mm
    default = Transformer.from_crs(CRS.from_epsg(9210), CRS.from_epsg(4326), always_xy=True)
    d_lon, d_lat = default.transform(x, y)
    assert np.max(np.hypot((np.array(d_lon) - lon) * 109_450, (np.array(d_lat) - lat) * 110_600)) > 0.3


def test_read_layer_filters_and_plain_tables(db_url: str) -> None:
    roads = analysis.read_layer("projects", where="category IN ('expressway', 'ring_road')", url=db_url)
    assert len(roads) > 0 and set(roads.category) <= {"expressway", "ring_road"}
    assert roads.investment_vnd_bn.dtype == "float64"
    rules = analysis.read_layer("use_rules", url=db_url)
    assert isinstance(rules, pd.DataFrame) and "geometry" not in rules and len(rules) > 0
    with pytest.raises(InvalidParameter):
        analysis.read_layer("zones", where="no_such_column = 1", url=db_url)


def test_read_layer_as_of_an_instant(fresh_db_url: str) -> None:
    """The layer as it stood before a change (from the history): the old name and geometry, exactly; now the new."""
    import psycopg
    import shapely

    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        before = conn.execute("SELECT now()").fetchone()[0]  # a version begins at its transaction's start
    with psycopg.connect(fresh_db_url) as conn:
        conn.execute("UPDATE zones SET name_en = 'Moved centre', geom = ST_Multi(ST_Buffer(geom, -0.001)) "
                     "WHERE code = 'C1'")
    old = analysis.read_layer("zones", where="code = 'C1'", url=fresh_db_url, asof=before)
    new = analysis.read_layer("zones", where="code = 'C1'", url=fresh_db_url)
    assert old["name_en"].iloc[0] != "Moved centre" and new["name_en"].iloc[0] == "Moved centre"
    assert shapely.area(old.geometry.iloc[0]) > shapely.area(new.geometry.iloc[0])
    with psycopg.connect(fresh_db_url) as conn:
        stored_old = conn.execute("SELECT ST_AsBinary(geom) FROM history.zones WHERE code = 'C1' "
                                  "ORDER BY version LIMIT 1").fetchone()[0]
    assert shapely.to_wkb(old.geometry.iloc[0]) == bytes(stored_old)
    assert len(analysis.read_layer("zones", url=fresh_db_url, asof=before)) == len(
        analysis.read_layer("zones", url=fresh_db_url))


def test_read_select_with_the_orm(db_url: str) -> None:
    query = (select(AdminUnit.code, func.ST_Centroid(AdminUnit.geom).label("geom"))
             .where(func.ST_Intersects(AdminUnit.geom, func.ST_MakeEnvelope(106.3, 10.4, 106.5, 10.6, 4326)),
                    AdminUnit.level == "district"))
    frame = analysis.read_select(query, url=db_url)
    assert "794" in set(frame.code) and frame.crs.to_epsg() == 4326
    assert set(frame.geometry.geom_type) == {"Point"}


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    """300 parcels, a third of them astride district or region boundaries, with Vietnamese attributes."""
    return synthetic_parcels(300, seed=14, edge_share=0.35)[["code", "name_vi", "land_use", "area_m2", "geometry"]]


def test_classify_gives_the_answers_of_post_classify(client: TestClient, db_url: str, sample: pd.DataFrame) -> None:
    served = client.post("/classify", json=json.loads(sample.to_json()))
    assert served.status_code == 200
    expected = classified_rows(served.json()["features"])
    postgis = analysis.classify(sample, "postgis", url=db_url)
    local = analysis.classify(sample, "local", url=db_url)
    assert postgis.crs.to_epsg() == 4326 and list(postgis.code) == list(sample.code)
    assert list(local.name_vi) == list(sample.name_vi)
    assert_same_classification(classified_rows(postgis), expected, tolerance_pct=0)  # the same SQL: the same answers
    assert_same_classification(classified_rows(local), expected)
    straddling = [r for r in expected if r["region_share"] is not None and r["region_share"] < 100]
    assert len(straddling) > 20  # the edges are really exercised


def test_classify_vn2000_frame_and_file(client: TestClient, db_url: str, sample: pd.DataFrame, tmp_path) -> None:
    vn2000 = sample.to_crs(CRS.from_epsg(9210))  # geopandas' own transform: the input as a VN-2000 user has it
    served = client.post("/classify?crs=http://www.opengis.net/def/crs/EPSG/0/9210", json=json.loads(vn2000.to_json()))
    assert served.status_code == 200
    expected = classified_rows(served.json()["features"])
    assert_same_classification(classified_rows(analysis.classify(vn2000, "postgis", url=db_url)), expected, 0)
    assert_same_classification(classified_rows(analysis.classify(vn2000, "local", url=db_url)), expected)
    path = tmp_path / "thua_dat.gpkg"
    vn2000.to_file(path, driver="GPKG")
    from_file = analysis.classify(path, "local", url=db_url)
    assert list(from_file.name_vi) == list(sample.name_vi)
    assert_same_classification(classified_rows(from_file), expected)


def test_region_area_by_district(db_url: str) -> None:
    table = analysis.region_area_by_district(url=db_url)
    per_district = table.groupby("district_code").share_of_district_pct.sum()
    assert len(per_district) == 15 and np.allclose(per_district, 100, atol=0.05)
    thu_thua = table[table.district_name == "Thủ Thừa"]
    assert set(thu_thua.region_code) == {"R1", "R2", "R3"}  # split by the plan's straight lines
    districts = analysis.read_layer("admin_units", crs="EPSG:9210", where="level = 'district'", url=db_url)
    assert table.area_km2.sum() == pytest.approx(districts.area.sum() / 1e6, rel=2e-3)


def test_projects_summary_and_axis_distance(db_url: str) -> None:
    projects = analysis.read_layer("projects", url=db_url)
    distances = analysis.project_axis_distance(url=db_url)
    assert len(distances) == len(projects) and (distances.distance_m >= 0).all()
    assert set(distances.axis_code) <= set(analysis.read_layer("axes", url=db_url).code)
    summary = analysis.projects_summary(url=db_url)
    assert summary.projects.sum() == len(projects)
    assert summary.investment_vnd_bn.sum() == pytest.approx(projects.investment_vnd_bn.sum())
    assert summary.investment_known.sum() == projects.investment_vnd_bn.notna().sum()
    by_status = analysis.projects_summary(by=("status",), url=db_url)
    assert by_status.set_index("status").projects.to_dict() == (
        projects.status.fillna("unknown").value_counts().to_dict())


def test_parcels_by_region(db_url: str, sample: pd.DataFrame) -> None:
    classified = analysis.classify(sample, "local", url=db_url)
    table = analysis.parcels_by_region(classified)
    assert table.parcels.sum() == len(sample)
    assert table.area_ha.sum() == pytest.approx(sample.area_m2.sum() / 1e4)
    assert set(table.region_code) <= {"R1", "R2", "R3", "unknown"}
