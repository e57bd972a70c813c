"""The planner queries called from Python, no server: one statement each, JSON from PostgreSQL."""

from __future__ import annotations

import asyncpg
import geopandas as gpd
import orjson
import pytest
import shapely
from shapely.geometry import box

from spatial.crs import parse_crs
from spatial.errors import InvalidGeometry, InvalidParameter
from spatial.queries import classify_input, locate, search
from spatial.queries.classify import Timings, classify_stream
from tests.helpers import run


def test_locate_point_from_python(db_url: str) -> None:
    body = orjson.loads(run(db_url, lambda c: locate.locate_point(c, 106.41, 10.535)))
    assert body["admin_units"][0]["name_vi"] == "Tân An"
    assert {z["code"] for z in body["zones"]} >= {"R1", "C1"}


def test_locate_point_out_of_range(db_url: str) -> None:
    with pytest.raises(InvalidParameter):
        run(db_url, lambda c: locate.locate_point(c, 106.41, 100.0))


def test_locate_geometry_district_shares_add_up_to_the_province_share(db_url: str) -> None:
    parcel = locate.parcel_geometry(shapely.geometry.mapping(box(106.30, 10.50, 106.50, 10.70)), parse_crs(None))
    body = orjson.loads(run(db_url, lambda c: locate.locate_geometry(c, parcel)))
    districts = [o for o in body["overlaps"] if o["kind"] == "district"]
    assert len(districts) >= 2
    province = next(o for o in body["overlaps"] if o["kind"] == "province")
    assert sum(o["share_pct"] for o in districts) == pytest.approx(province["share_pct"], abs=0.05)
    assert body["primary_admin_unit"]["code"] == max(districts, key=lambda o: o["share_pct"])["code"]


def test_parcel_must_be_a_valid_polygon() -> None:
    with pytest.raises(InvalidGeometry):
        locate.parcel_geometry({"type": "LineString", "coordinates": [[106, 10], [107, 11]]}, parse_crs(None))


def test_search_from_python(db_url: str) -> None:
    results = orjson.loads(run(db_url, lambda c: search.search(c, "duc hoa", 5)))
    assert results[0]["name_vi"] in ("Đức Hòa", "Trục động lực Đức Hòa")
    assert all("Đức Hòa" in r["name_vi"] for r in results[:2])


def test_classify_stream_in_vn2000(db_url: str) -> None:
    frame = gpd.GeoDataFrame({"so_thua": ["A", "B", "C"]}, crs="EPSG:4326", geometry=[
        box(106.409, 10.534, 106.411, 10.536),  # Tân An
        box(105.90, 10.80, 105.91, 10.81),
        box(106.60, 10.60, 106.61, 10.61),
    ]).to_crs("EPSG:9210")
    fc = orjson.loads(frame.to_json())
    data = classify_input.from_feature_collection(fc, parse_crs("EPSG:9210"), 10)
    timings = Timings()

    async def work(conn: asyncpg.Connection) -> bytes:
        return b"".join([chunk async for chunk in classify_stream(conn, data, "geojson", timings)])

    out = orjson.loads(run(db_url, work))
    assert [f["properties"]["so_thua"] for f in out["features"]] == ["A", "B", "C"]
    first = out["features"][0]["properties"]
    assert first["lapis_admin_code"] == "794" and first["lapis_region_code"] == "R1"
    assert timings.rows == 3 and timings.load > 0
    # output geometry is CRS84 again
    x, y = out["features"][0]["geometry"]["coordinates"][0][0]
    assert 106.40 < x < 106.42 and 10.53 < y < 10.54


def test_classify_input_cap() -> None:
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(box(106, 10.5, 106.01, 10.51))}
    ] * 3}
    from spatial.errors import TooLarge

    with pytest.raises(TooLarge):
        classify_input.from_feature_collection(fc, parse_crs(None), 2)
