"""The plan drawn on the real districts: each corridor, axis, project and zone lies where the brief puts it,
inside the province, with its district list measured from its geometry and only published facts."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import LineString, MultiLineString, Point, shape

from tests.data.bundle import (
    GEOD,
    area_km2,
    buffer_m,
    district_of,
    districts,
    features,
    geometry,
    length_km,
    load,
    province,
)

MY_YEN = (106.53, 10.67)  # brief §6: the Mỹ Yên interchange, Mỹ Yên commune, Bến Lức
# Layers and feature codes allowed to reach more than 100 m outside the province. None: a road that goes on
# outside Long An is stored as its Long An part only (`continues_outside` marks it).
DECLARED_OUTSIDE: set[tuple[str, str]] = set()


@pytest.fixture(scope="module")
def grown_province() -> shapely.Geometry:
    return buffer_m(province(), 100.0)


@pytest.mark.parametrize("layer", ["zones", "corridors", "axes", "projects"])
def test_everything_lies_in_the_province(layer, grown_province):
    outside = [code for code, f in features(layer).items()
               if (layer, code) not in DECLARED_OUTSIDE and not grown_province.covers(shape(f["geometry"]))]
    assert outside == []


def _ends(g: MultiLineString) -> list[Point]:
    return [Point(line.coords[i]) for line in g.geoms for i in (0, -1)]


def test_ring_road_3_in_ben_luc_ending_at_my_yen():
    rr3 = features("projects")["DA-VD3"]
    g = shape(rr3["geometry"])
    length = length_km(g)
    assert abs(length - 6.84) / 6.84 < 0.02
    assert length_km(g.intersection(districts()["803"])) / length >= 0.95
    assert rr3["properties"]["district_codes"] == ["803"]
    ends = sorted(_ends(g), key=lambda p: GEOD.inv(*MY_YEN, p.x, p.y)[2])
    assert GEOD.inv(*MY_YEN, ends[0].x, ends[0].y)[2] < 500  # one end at Mỹ Yên …
    assert province().boundary.distance(ends[-1]) * 111_000 < 100  # … the other at the HCMC edge


def test_ring_road_4_length_and_districts():
    rr4 = features("projects")["DA-VD4"]
    p = rr4["properties"]
    assert 74.5 <= length_km(shape(rr4["geometry"])) <= 78.3
    assert p["district_codes"] == ["802", "803", "806", "807"]  # Đức Hòa, Bến Lức, Cần Đước, Cần Giuộc
    assert p["continues_outside"] is True
    assert p["length_km"] is None and [c["value"] for c in p["fact_conflicts"]["length_km"]] == [78.3, 74.5, 71.0]


def test_port_on_the_soai_rap_bank_in_can_giuoc():
    port = geometry("projects", "DA-CLA")
    can_giuoc = districts()["807"]
    assert area_km2(port.intersection(can_giuoc)) / area_km2(port) > 0.999
    assert abs(area_km2(port) * 100 - 147) / 147 < 0.05
    # on the bank: it reaches the province outline (the river) along Cần Giuộc's edge
    assert port.distance(province().boundary) * 111_000 < 50
    park = geometry("projects", "DA-KCN-CLA")
    assert area_km2(park.intersection(can_giuoc)) / area_km2(park) > 0.999
    assert area_km2(park.intersection(port)) < 0.01


def test_border_gates_and_zone_on_the_vietnamese_side():
    projects = features("projects")
    expected = {"DA-CK-BH": "795", "DA-CK-MQT": "801", "DA-CK-LK": "797"}
    for code, district in expected.items():
        gate = shape(projects[code]["geometry"])
        assert gate.geom_type == "Point"
        assert district_of(gate) == district, code
        assert projects[code]["properties"]["district_codes"] == [district]
        assert province().boundary.distance(gate) * 111_000 < 1000, code  # at the border
    for zone in (geometry("zones", "Z-KKTCK"), geometry("projects", "DA-KKTCK")):
        assert area_km2(zone.difference(province())) < 0.01
        assert area_km2(zone) * 100 >= 13000  # "over 13,000 ha"
        for code in expected:
            assert zone.covers(shape(projects[code]["geometry"]))


def test_ql_n1_runs_along_the_border_inside_the_province():
    n1 = geometry("axes", "TDL5")
    assert length_km(n1.difference(province())) < 0.001
    border_districts = {"795", "796", "797", "798", "800", "801"}
    assert set(features("axes")["TDL5"]["properties"]["district_codes"]) == border_districts
    # every point of the road is within 3 km of the province outline
    far = n1.difference(buffer_m(province().boundary, 3000.0))
    assert length_km(far) < 0.1


def test_tan_an_ring_road_is_mostly_in_tan_an():
    ring = geometry("projects", "DA-VDTA")
    assert length_km(ring) >= 22.0  # "over 22 km"
    assert length_km(ring.intersection(districts()["794"])) / length_km(ring) > 0.9


def test_ql62_ends_at_the_binh_hiep_gate():
    ql62 = geometry("projects", "DA-QL62")
    gate = geometry("projects", "DA-CK-BH")
    assert min(p.distance(gate) for p in _ends(ql62)) * 111_000 < 50


def _measured_districts(g: shapely.Geometry) -> list[str]:
    if g.geom_type == "Point":
        return [c for c, d in districts().items() if d.covers(g)]
    if isinstance(g, LineString | MultiLineString):
        return [c for c, d in districts().items() if length_km(g.intersection(d)) >= 0.05]
    return [c for c, d in districts().items() if area_km2(g.intersection(d)) * 100 >= 1.0]


@pytest.mark.parametrize("layer", ["projects", "axes", "corridors"])
def test_district_lists_are_measured_from_geometry(layer):
    for code, f in features(layer).items():
        assert f["properties"]["district_codes"] == sorted(_measured_districts(shape(f["geometry"]))), code


def test_drawn_lengths_and_areas_sit_next_to_published_ones():
    for code, f in features("projects").items():
        p, g = f["properties"], shape(f["geometry"])
        if isinstance(g, MultiLineString):
            assert p["length_km_drawn"] == pytest.approx(length_km(g), abs=0.01), code
        elif g.geom_type != "Point":
            assert p["area_ha_drawn"] == pytest.approx(area_km2(g) * 100, abs=0.1), code
    for code, f in features("axes").items():
        assert f["properties"]["length_km_drawn"] == pytest.approx(length_km(shape(f["geometry"])), abs=0.01), code


def test_projects_carry_only_published_facts():
    categories = {"expressway", "ring_road", "national_road", "provincial_road", "urban_road", "port",
                  "economic_zone", "industrial_park", "other"}
    statuses = {"planned", "under_construction", "completed", "operating"}
    feats = load("projects")["features"]
    assert len(feats) >= 12
    for f in feats:
        p = f["properties"]
        assert p["category"] in categories, f["id"]
        for key in ("start_year", "end_year", "investment_vnd_bn", "length_km", "area_ha", "district_codes"):
            assert key in p, (f["id"], key)
        assert p["status_published"], f["id"]
        # a status, year or figure the brief does not give is None and named unknown (or in conflict)
        if p["status"] is None:
            assert "status" in p["unknown_facts"], f["id"]
        else:
            assert p["status"] in statuses, f["id"]
        for key in ("start_year", "end_year", "investment_vnd_bn"):
            if p[key] is None:
                assert key in p["unknown_facts"] or key in p.get("fact_conflicts", {}), (f["id"], key)
    by_id = {f["id"]: f["properties"] for f in feats}
    ql50b = by_id["DA-QL50B"]
    assert ql50b["start_year"] is None
    assert sorted(c["value"] for c in ql50b["fact_conflicts"]["start_year"]) == [2024, 2025]
    assert by_id["DA-VD3"]["status"] == "under_construction" and by_id["DA-VD3"]["start_year"] == 2023
    assert by_id["DA-CT-HCM-TL"]["status"] is None  # the brief does not say
    assert by_id["DA-QL62"]["width_published"].startswith("11 m")


def test_corridors_and_axes():
    axes = load("axes")["features"]
    assert [f["id"] for f in axes] == [f"TDL{i}" for i in range(1, 7)]
    assert [f["properties"]["rank"] for f in axes] == list(range(1, 7))
    assert all(f["geometry"]["type"] == "MultiLineString" for f in axes)
    corridors = features("corridors")
    assert set(corridors) == {"HL1", "HL2"}
    for f in corridors.values():
        assert f["geometry"]["type"] == "MultiPolygon"
        assert f["properties"]["width_published"] is None and "width" in f["properties"]["unknown_facts"]
    # the Ring Road 3–4 corridor holds both ring roads' Long An parts
    hl1 = shape(corridors["HL1"]["geometry"])
    for ring_road in ("DA-VD3", "DA-VD4"):
        assert length_km(geometry("projects", ring_road).difference(hl1)) < 0.001
