"""Checks on the bundled plan data in data/geojson (files only, no database): format, the real districts
tiling the province, published next to drawn areas, regions as unions of their districts."""

from __future__ import annotations

import itertools
import json
import unicodedata

import pytest
import shapely
from shapely.geometry import Point, box, shape

from tests.data.bundle import (
    DATA,
    DISTRICT_CODES,
    LAYERS,
    area_km2,
    districts,
    features,
    geometry,
    load,
    province,
)

PROVINCE_KM2 = 4494.8  # Decision 686/QĐ-TTg
# The brief's bounding box (105.50–106.79 E, 10.39–11.04 N) widened by 0.01° on the west: the real Tân Hưng
# tip in the bundled OCHA boundaries lies at 105.4982 E.
BBOX = box(105.49, 10.39, 106.79, 11.04)


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


def test_plan_record():
    (plan,) = load("plans")["features"]
    p = plan["properties"]
    assert plan["geometry"] is None
    assert p["code"] == "QH-LA-2021-2030"
    assert p["decision_no"] == "686/QĐ-TTg"
    assert p["decision_date"] == "2023-06-13"
    assert (p["period_start"], p["period_end"], p["vision_year"]) == (2021, 2030, 2050)


def test_province_area():
    assert abs(area_km2(province()) - PROVINCE_KM2) / PROVINCE_KM2 < 0.01


def test_districts_tile_province():
    units = districts()
    assert sorted(units) == DISTRICT_CODES
    union = shapely.union_all(list(units.values()))
    p_area = area_km2(province())
    assert area_km2(union.symmetric_difference(province())) / p_area < 0.001
    overlap = sum(area_km2(a.intersection(b)) for a, b in itertools.combinations(units.values(), 2)
                  if a.intersects(b))
    assert overlap / p_area < 0.001


def test_admin_units_keep_codes_and_names():
    units = features("admin_units")
    for code in DISTRICT_CODES:
        p = units[code]["properties"]
        assert p["gso_code"] == code and p["parent_code"] == "80" and p["level"] == "district"
        assert p["adm2_pcode"].startswith("VN801")
        assert p["name_vi"] in p["name_vi_official"]  # "Tân An" in "TP. Tân An"
        assert p["name_en"].isascii()
    assert units["794"]["properties"]["name_vi_official"] == "TP. Tân An"
    assert units["795"]["properties"]["unit_type"] == "Thị xã"
    assert units["80"]["properties"]["level"] == "province"


def test_drawn_next_to_published_areas():
    """Every admin unit carries its drawn area next to the published one; none differs by more than 5 %."""
    flagged = []
    for code, f in features("admin_units").items():
        p = f["properties"]
        drawn = area_km2(shape(f["geometry"]))
        assert p["area_km2_drawn"] == pytest.approx(drawn, abs=0.01), code
        if p["area_km2_published"] is None:
            assert "area_km2_published" in p["unknown_facts"], code
            continue
        diff = (drawn - p["area_km2_published"]) / p["area_km2_published"]
        assert p["area_diff_pct"] == pytest.approx(diff * 100, abs=0.01), code
        if abs(diff) > 0.05:
            flagged.append((code, p["area_km2_published"], round(drawn, 1)))
    assert flagged == []
    published = {c for c, f in features("admin_units").items() if f["properties"]["area_km2_published"]}
    assert published == {"80", "794", "795", "797", "801"}  # the brief's published areas


def _region_from_members(code: str) -> shapely.Geometry:
    p = features("zones")[code]["properties"]
    units = districts()
    parts = [units[c] for c in p["member_units"]]
    for unit, boxes in p["split_boxes"].items():
        assert unit in p["partial_units"]
        parts += [units[unit].intersection(box(*b)) for b in boxes]
    return shapely.union_all(parts)


def test_regions_equal_the_union_of_their_members_and_tile():
    zones = features("zones")
    regions = {c: zones[c] for c in ("R1", "R2", "R3")}
    assert all(z["properties"]["kind"] == "region" for z in regions.values())
    whole = [c for z in regions.values() for c in z["properties"]["member_units"]]
    partial = {c for z in regions.values() for c in z["properties"]["partial_units"]}
    assert sorted(whole + sorted(partial)) == DISTRICT_CODES
    assert partial == {"804", "805"}
    assert sorted(regions["R1"]["properties"]["member_units"]) == ["794", "802", "803", "806", "807", "808"]
    assert sorted(regions["R2"]["properties"]["member_units"]) == ["795", "796", "797", "798", "799", "800"]
    assert regions["R3"]["properties"]["member_units"] == ["801"]
    geoms = {c: shape(z["geometry"]) for c, z in regions.items()}
    for code, z in regions.items():
        expected = _region_from_members(code)
        assert area_km2(expected.symmetric_difference(geoms[code])) / area_km2(geoms[code]) < 0.001, code
        for unit in z["properties"]["partial_units"]:
            assert area_km2(districts()[unit].intersection(geoms[code])) > 1.0, (code, unit)
        assert z["properties"]["split_rule"]
    p_area = area_km2(province())
    assert area_km2(shapely.union_all(list(geoms.values())).symmetric_difference(province())) / p_area < 0.001
    overlap = sum(area_km2(a.intersection(b)) for a, b in itertools.combinations(geoms.values(), 2))
    assert overlap / p_area < 0.001


def test_centre_is_tan_an():
    centre = next(f for f in load("zones")["features"] if f["properties"]["kind"] == "centre")
    g = shape(centre["geometry"])
    assert g.contains(Point(106.413, 10.535))
    assert area_km2(g.symmetric_difference(geometry("admin_units", "794"))) < 0.01
