"""Checks on the bundled schematic plan data in data/geojson (files only, no database)."""

from __future__ import annotations

import itertools
import json
import unicodedata
from pathlib import Path

import pytest
import shapely
from pyproj import Geod
from shapely.geometry import Point, box, shape

DATA = Path(__file__).resolve().parents[2] / "data/geojson"
LAYERS = ["plans", "admin_units", "zones", "corridors", "axes", "projects"]
GEOD = Geod(ellps="WGS84")
PROVINCE_KM2 = 4494.8
BBOX = box(105.50, 10.39, 106.79, 11.04)
DISTRICT_CODES = [str(c) for c in range(794, 809)]


def area_km2(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e6


def load(name: str) -> dict:
    return json.loads((DATA / f"{name}.geojson").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def layers() -> dict[str, dict]:
    return {name: load(name) for name in LAYERS}


@pytest.fixture(scope="module")
def admin(layers):
    feats = layers["admin_units"]["features"]
    province = next(f for f in feats if f["properties"]["level"] == "province")
    districts = {f["properties"]["code"]: shape(f["geometry"]) for f in feats
                 if f["properties"]["level"] == "district"}
    return shape(province["geometry"]), districts


def _strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


@pytest.mark.parametrize("name", LAYERS)
def test_feature_collection_basics(name):
    fc = load(name)
    assert fc["type"] == "FeatureCollection"
    assert fc["features"]
    for f in fc["features"]:
        props = f["properties"]
        assert f["type"] == "Feature"
        assert f["id"] == props["code"]
        for key in ("code", "name_vi", "name_en", "source", "accuracy"):
            assert props.get(key), (name, f["id"], key)
        if name != "plans":
            assert props["plan_code"] == "QH-LA-2021-2030"


@pytest.mark.parametrize("name", LAYERS)
def test_strings_are_nfc(name):
    text = (DATA / f"{name}.geojson").read_text(encoding="utf-8")
    assert unicodedata.is_normalized("NFC", text)
    for s in _strings(json.loads(text)):
        assert unicodedata.is_normalized("NFC", s), s


@pytest.mark.parametrize("name", [n for n in LAYERS if n != "plans"])
def test_geometries_valid_and_in_bbox(name):
    for f in load(name)["features"]:
        g = shape(f["geometry"])
        assert not g.is_empty, f["id"]
        assert g.is_valid, (f["id"], shapely.is_valid_reason(g))
        assert BBOX.covers(g), (f["id"], g.bounds)


def test_plan_record(layers):
    (plan,) = layers["plans"]["features"]
    p = plan["properties"]
    assert plan["geometry"] is None
    assert p["code"] == "QH-LA-2021-2030"
    assert p["decision_no"] == "686/QĐ-TTg"
    assert p["decision_date"] == "2023-06-13"
    assert (p["period_start"], p["period_end"], p["vision_year"]) == (2021, 2030, 2050)


def test_province_area(admin):
    province, _ = admin
    assert abs(area_km2(province) - PROVINCE_KM2) / PROVINCE_KM2 < 0.03


def test_districts_tile_province(admin):
    province, districts = admin
    assert sorted(districts) == DISTRICT_CODES
    union = shapely.union_all(list(districts.values()))
    p_area = area_km2(province)
    assert area_km2(union.symmetric_difference(province)) / p_area < 0.005
    overlap = sum(area_km2(a.intersection(b)) for a, b in itertools.combinations(districts.values(), 2)
                  if a.intersects(b))
    assert overlap / p_area < 0.001


def test_regions_match_members_and_tile(layers, admin):
    province, districts = admin
    zones = {f["id"]: f for f in layers["zones"]["features"]}
    regions = {c: zones[c] for c in ("R1", "R2", "R3")}
    assert all(z["properties"]["kind"] == "region" for z in regions.values())
    region_geoms = {c: shape(z["geometry"]) for c, z in regions.items()}
    p_area = area_km2(province)
    # whole members are inside their region, each district is either whole in one region or partial
    whole = [c for z in regions.values() for c in z["properties"]["member_units"]]
    partial = {c for z in regions.values() for c in z["properties"]["partial_units"]}
    assert sorted(whole + sorted(partial)) == DISTRICT_CODES
    assert partial == {"804", "805"}
    for code, z in regions.items():
        g = region_geoms[code]
        members = shapely.union_all([districts[c] for c in z["properties"]["member_units"]])
        parts = [districts[c].intersection(g) for c in z["properties"]["partial_units"]]
        for part in parts:
            assert area_km2(part) > 1.0, (code, "empty partial unit")
        expected = shapely.union_all([members, *parts])
        assert area_km2(expected.symmetric_difference(g)) / area_km2(g) < 0.005
        assert z["properties"]["split_rule"]
    union = shapely.union_all(list(region_geoms.values()))
    assert area_km2(union.symmetric_difference(province)) / p_area < 0.005
    overlap = sum(area_km2(a.intersection(b)) for a, b in itertools.combinations(region_geoms.values(), 2))
    assert overlap / p_area < 0.001


def test_centre_is_tan_an(layers):
    centre = next(f for f in layers["zones"]["features"] if f["properties"]["kind"] == "centre")
    assert shape(centre["geometry"]).contains(Point(106.413, 10.535))


def test_ring_road_3(layers, admin):
    _, districts = admin
    rr3 = next(f for f in layers["projects"]["features"] if f["id"] == "DA-VD3")
    g = shape(rr3["geometry"])
    length = GEOD.geometry_length(g) / 1000
    assert abs(length - 6.84) / 6.84 < 0.10
    assert districts["803"].buffer(1e-6).covers(g)
    assert rr3["properties"]["district_codes"] == ["803"]


def test_projects(layers, admin):
    province, _ = admin
    feats = layers["projects"]["features"]
    assert len(feats) >= 12
    categories = {"expressway", "ring_road", "national_road", "provincial_road", "urban_road", "port",
                  "economic_zone", "industrial_park"}
    statuses = {"planned", "under_construction", "completed", "operating"}
    grown = province.buffer(1e-5)
    for f in feats:
        p = f["properties"]
        assert p["category"] in categories, f["id"]
        assert p["status"] in statuses, f["id"]
        for key in ("start_year", "end_year", "investment_vnd_bn", "length_km", "area_ha", "district_codes"):
            assert key in p, (f["id"], key)
        assert grown.covers(shape(f["geometry"])), f["id"]
    by_id = {f["id"]: f for f in feats}
    port = shape(by_id["DA-CLA"]["geometry"])
    assert abs(area_km2(port) * 100 - 147) < 15
    assert area_km2(shape(by_id["DA-KKTCK"]["geometry"])) * 100 > 13000


def test_axes_and_corridors(layers):
    axes = layers["axes"]["features"]
    assert [f["id"] for f in axes] == [f"TDL{i}" for i in range(1, 7)]
    assert [f["properties"]["rank"] for f in axes] == list(range(1, 7))
    assert all(f["geometry"]["type"] == "MultiLineString" for f in axes)
    corridors = {f["id"]: f for f in layers["corridors"]["features"]}
    assert set(corridors) == {"HL1", "HL2"}
    assert all(f["geometry"]["type"] == "MultiPolygon" for f in corridors.values())
