"""What an edit may write, checked before the database sees it: the request's CRS, the geometry (type, validity,
extent), the properties (known names, types, lists of values, NFC text), and RFC 7396 merge patches."""

from __future__ import annotations

import unicodedata

import pytest
import shapely

from spatial.edits.etag import if_match_passes, if_none_match_hits
from spatial.edits.feature_input import CRS84_INPUT, content_crs, feature_candidate, merge_patch
from spatial.errors import InvalidGeometry, InvalidParameter
from spatial.layers import LAYERS
from tests.edit_fixtures import square, zone
from tests.helpers import transformer

ZONES, PROJECTS, PLANS = LAYERS["zones"], LAYERS["projects"], LAYERS["plans"]


@pytest.mark.parametrize(("target", "patch", "result"), [  # RFC 7396, appendix A
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
])
def test_merge_patch_follows_rfc_7396(target: object, patch: object, result: object) -> None:
    assert merge_patch(target, patch) == result


def test_content_crs() -> None:
    assert content_crs(None) == CRS84_INPUT
    assert content_crs("<http://www.opengis.net/def/crs/OGC/1.3/CRS84>") == CRS84_INPUT
    lat_first = content_crs("<http://www.opengis.net/def/crs/EPSG/0/4326>")
    assert lat_first.crs.lat_first and lat_first.reprojection is None
    for code in (9210, 3405, 9205):  # Long An's TM-3 zone, UTM 48N, and another TM-3 zone PROJ knows
        chosen = content_crs(f"<http://www.opengis.net/def/crs/EPSG/0/{code}>")
        assert chosen.crs.code == code and chosen.reprojection is not None
    assert "VN-2000 to WGS 84 (2)" in content_crs("EPSG:9210").reprojection.description  # EPSG:6960, as loaded
    for bad in ("<http://www.opengis.net/def/crs/EPSG/0/2154>", "nonsense"):
        with pytest.raises(InvalidParameter) as caught:
            content_crs(bad)
        assert caught.value.parameter == "Content-Crs"


def test_vn2000_geometry_is_the_loaders_transformation() -> None:
    x, y = 574_321.25, 1_164_876.5
    point = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
             "properties": {"code": "P-VN", "name_vi": "Điểm"}}
    got = shapely.from_wkb(feature_candidate(PROJECTS, point, content_crs("EPSG:9210")).geometry)
    assert (got.x, got.y) == pytest.approx(transformer("EPSG:9210", "EPSG:4326").transform(x, y), abs=1e-9)


def test_geometry_rules() -> None:
    as_polygon = feature_candidate(ZONES, zone("Z"), CRS84_INPUT)
    assert shapely.from_wkb(as_polygon.geometry).geom_type == "MultiPolygon"  # made multi, as ST_Multi
    lat_first = zone("Z")
    lat_first["geometry"]["coordinates"] = [[[lat, lon] for lon, lat in lat_first["geometry"]["coordinates"][0]]]
    swapped = feature_candidate(ZONES, lat_first, content_crs("EPSG:4326"))
    assert shapely.from_wkb(swapped.geometry).equals(shapely.from_wkb(as_polygon.geometry))
    bowtie = zone("Z")
    bowtie["geometry"]["coordinates"] = [[[106.40, 10.53], [106.41, 10.54], [106.41, 10.53], [106.40, 10.54],
                                          [106.40, 10.53]]]
    line = zone("Z")
    line["geometry"] = {"type": "LineString", "coordinates": [[106.40, 10.53], [106.41, 10.54]]}
    far = zone("Z", lon=2.35, lat=48.85)  # Paris: a lon/lat that is no mistake of format, but of CRS
    cases = {"Self-intersection": bowtie, "does not fit zones": line, "plausible extent": far,
             "needs a geometry": {**zone("Z"), "geometry": None}}
    for message, feature in cases.items():
        with pytest.raises(InvalidGeometry, match=message):
            feature_candidate(ZONES, feature, CRS84_INPUT)
    with pytest.raises(InvalidGeometry, match="has no geometry"):
        feature_candidate(PLANS, {"type": "Feature", "geometry": square(106.4, 10.5), "properties": {"code": "QD"}},
                          CRS84_INPUT)
    z = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [106.4, 10.5, 3.0]},
         "properties": {"code": "P", "name_vi": "x"}}
    assert shapely.get_coordinate_dimension(shapely.from_wkb(feature_candidate(PROJECTS, z, CRS84_INPUT).geometry)) == 2


def test_property_rules() -> None:
    decomposed = unicodedata.normalize("NFD", "Khu đô thị mới")
    got = feature_candidate(ZONES, zone("Z", name_vi=decomposed, name_en="  ", source=None), CRS84_INPUT).values
    assert got["name_vi"] == "Khu đô thị mới" and unicodedata.is_normalized("NFC", got["name_vi"])
    assert got["name_en"] is None and got["accuracy"] == "unknown" and got["props"] == {}
    assert feature_candidate(ZONES, zone("Z", name_vi=None), CRS84_INPUT).values["name_vi"] == "Z"  # as a load
    with pytest.raises(InvalidParameter, match="unknown colour, height") as caught:
        feature_candidate(ZONES, zone("Z", height=3, colour="red"), CRS84_INPUT)
    assert caught.value.parameter == "properties"
    kept = feature_candidate(ZONES, zone("Z", purpose="vui chơi"), CRS84_INPUT, known_props={"purpose": "x"})
    assert kept.values["props"] == {"purpose": "vui chơi"}  # an extra attribute the feature has may come back
    for name, value in {"kind": "castle", "name_en": 7}.items():
        with pytest.raises(InvalidParameter) as caught:
            feature_candidate(ZONES, zone("Z", **{name: value}), CRS84_INPUT)
        assert caught.value.parameter == name
    line = {"type": "LineString", "coordinates": [[106.40, 10.53], [106.42, 10.54]]}
    for name, value in {"start_year": 2024.5, "length_km": "12", "investment_vnd_bn": True,
                        "end_year": 2**31}.items():
        with pytest.raises(InvalidParameter):
            feature_candidate(PROJECTS, {"type": "Feature", "geometry": line,
                                         "properties": {"code": "P", name: value}}, CRS84_INPUT)
    assert feature_candidate(PROJECTS, {"type": "Feature", "geometry": line, "properties": {
        "code": "P", "start_year": 2024.0, "length_km": 1.5}}, CRS84_INPUT).values["start_year"] == 2024
    plan = {"type": "Feature", "geometry": None, "properties": {"code": "QD", "decision_date": "13/06/2023"}}
    with pytest.raises(InvalidParameter, match="YYYY-MM-DD"):
        feature_candidate(PLANS, plan, CRS84_INPUT)
    with pytest.raises(InvalidParameter, match="GeoJSON Feature"):
        feature_candidate(ZONES, square(106.4, 10.5), CRS84_INPUT)


def test_if_match_and_if_none_match() -> None:
    assert if_match_passes('"abc"', "abc") and if_match_passes('"x", "abc"', "abc") and if_match_passes("*", "abc")
    assert not if_match_passes('W/"abc"', "abc")  # If-Match compares strongly
    assert not if_match_passes('"abd"', "abc") and not if_match_passes("*", None)
    assert if_none_match_hits('W/"abc"', "abc") and not if_none_match_hits('"abd"', "abc")
    assert not if_none_match_hits(None, "abc")
