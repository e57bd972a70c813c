"""`locate_point` and `locate_geometry` at their edges, on features of known shape put where the bundled plan
has nothing (around 100°E 20°N): points on, just inside and just outside a zone, the radius boundary for
projects, the nearest axis by distance on the ellipsoid, overlap shares and the primary region / admin unit.
The expected distances and areas come from pyproj's geodesics, not from PostGIS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import psycopg
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import MultiPolygon, Point, box, mapping

from spatial.crs import parse_crs
from spatial.errors import InvalidGeometry, InvalidParameter
from spatial.queries import locate
from tests.helpers import run

GEOD = Geod(ellps="WGS84")
ONE_METRE = 1e-5  # degrees: about 1.05 m of longitude and 1.1 m of latitude here

ADMIN_UNITS = {  # code: (level, box)
    "E0": ("province", (99.9, 19.9, 100.2, 20.2)),  # its code sorts before the districts' codes
    "ED1": ("district", (99.9, 19.9, 100.05, 20.2)),
    "ED2": ("district", (100.05, 19.9, 100.2, 20.2)),
}
ZONES = {  # code: (kind, box)
    "EZR": ("region", (100.0, 20.0, 100.01, 20.01)),
    "EZR2": ("region", (100.01, 20.0, 100.02, 20.01)),  # shares the edge x = 100.01 with EZR
    "EZC": ("centre", (100.0, 20.0, 100.01, 20.01)),
    "EZA": ("urban", (100.0, 20.0, 100.01, 20.01)),
    "EZ0": ("industrial", (100.0, 20.0, 100.01, 20.01)),
}
CORRIDOR = (100.004, 19.95, 100.006, 20.05)

# axes near AXIS_POINT: EAV runs north–south 0.0100° east of it (1045.8 m), EAH east–west 0.0095° north of it
# (1051.7 m). In degrees EAH is nearer; on the ellipsoid EAV is.
AXIS_POINT = (100.1, 20.1)
AXES = {
    "EAV": "LINESTRING(100.11 20.05, 100.11 20.1, 100.11 20.15)",
    "EAH": "LINESTRING(100.05 20.1095, 100.1 20.1095, 100.15 20.1095)",
}

# projects around PROJECT_POINT, each at a geodesic distance (m) in a direction (azimuth, degrees)
PROJECT_POINT = (100.15, 19.95)
PROJECTS = {"EP1": (90, 1500.0), "EP2": (0, 1800.0), "EP3": (45, 2000.5), "EP4": (225, 1999.5),
            "EP6": (135, 1200.0), "EP5": (135, 1200.0)}


def _polygon(bounds: tuple[float, float, float, float]) -> str:
    return f"ST_Multi(ST_MakeEnvelope({', '.join(map(str, bounds))}, 4326))"


def project_location(code: str) -> tuple[float, float]:
    azimuth, distance = PROJECTS[code]
    lon, lat, _ = GEOD.fwd(*PROJECT_POINT, azimuth, distance)
    return lon, lat


@pytest.fixture(scope="module")
def edge_db(make_database: Callable[[], str]) -> str:
    url = make_database()
    with psycopg.connect(url, autocommit=True) as conn:
        for code, (level, bounds) in ADMIN_UNITS.items():
            conn.execute("INSERT INTO admin_units (code, name_vi, level, geom) "
                         f"VALUES (%s, %s, %s, {_polygon(bounds)})", (code, f"Đơn vị {code}", level))
        for code, (kind, bounds) in ZONES.items():
            conn.execute(f"INSERT INTO zones (code, name_vi, kind, geom) VALUES (%s, %s, %s, {_polygon(bounds)})",
                         (code, f"Vùng {code}", kind))
        conn.execute(f"INSERT INTO corridors (code, name_vi, geom) VALUES ('EC', 'Hành lang', {_polygon(CORRIDOR)})")
        for code, wkt in AXES.items():
            conn.execute("INSERT INTO axes (code, name_vi, geom) VALUES (%s, %s, ST_Multi(ST_GeomFromText(%s, 4326)))",
                         (code, f"Trục {code}", wkt))
        for code in PROJECTS:
            conn.execute("INSERT INTO projects (code, name_vi, category, status, geom) "
                         "VALUES (%s, %s, 'port', 'planned', ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
                         (code, f"Dự án {code}", *project_location(code)))
    return url


def at(url: str, lon: float, lat: float, **kwargs: Any) -> dict[str, Any]:
    return orjson.loads(run(url, lambda c: locate.locate_point(c, lon, lat, **kwargs)))


def codes(items: list[dict[str, Any]]) -> list[str]:
    return [item["code"] for item in items]


# -- what contains a point ---------------------------------------------------------------------------------
def test_a_point_just_inside_a_zone_is_in_it_and_just_outside_is_not(edge_db: str) -> None:
    inside = at(edge_db, 100.0 + ONE_METRE, 20.005)
    assert codes(inside["zones"]) == ["EZR", "EZC", "EZ0", "EZA"]  # regions, the centre, then by code
    assert at(edge_db, 100.0 - ONE_METRE, 20.005)["zones"] == []
    assert at(edge_db, 100.005, 20.01 + ONE_METRE)["zones"] == []
    assert codes(at(edge_db, 100.005, 20.01 - ONE_METRE)["zones"]) == ["EZR", "EZC", "EZ0", "EZA"]


def test_a_point_on_a_zone_boundary_is_in_it(edge_db: str) -> None:
    assert codes(at(edge_db, 100.0, 20.005)["zones"]) == ["EZR", "EZC", "EZ0", "EZA"]
    assert codes(at(edge_db, 100.0, 20.0)["zones"]) == ["EZR", "EZC", "EZ0", "EZA"]  # a corner
    # on the edge two regions share: both, by code
    assert codes(at(edge_db, 100.01, 20.005)["zones"]) == ["EZR", "EZR2", "EZC", "EZ0", "EZA"]
    assert codes(at(edge_db, 100.01 + ONE_METRE, 20.005)["zones"]) == ["EZR2"]


def test_zone_fields(edge_db: str) -> None:
    zone = at(edge_db, 100.015, 20.005)["zones"][0]
    assert set(zone) == {"id", "code", "name_vi", "name_en", "kind"}
    assert (zone["code"], zone["name_vi"], zone["name_en"], zone["kind"]) == ("EZR2", "Vùng EZR2", None, "region")


def test_admin_units_districts_first_then_the_province(edge_db: str) -> None:
    units = at(edge_db, 100.0, 20.005)["admin_units"]
    assert codes(units) == ["ED1", "E0"]
    assert [u["level"] for u in units] == ["district", "province"] and units[0]["name_vi"] == "Đơn vị ED1"
    assert codes(at(edge_db, 100.05, 20.005)["admin_units"]) == ["ED1", "ED2", "E0"]  # on the district border
    assert codes(at(edge_db, 100.05 + ONE_METRE, 20.005)["admin_units"]) == ["ED2", "E0"]
    assert at(edge_db, 99.9 - ONE_METRE, 20.005)["admin_units"] == []


def test_corridor_edges(edge_db: str) -> None:
    assert codes(at(edge_db, 100.004, 20.0)["corridors"]) == ["EC"]
    assert codes(at(edge_db, 100.006 - ONE_METRE, 20.0)["corridors"]) == ["EC"]
    assert at(edge_db, 100.006 + ONE_METRE, 20.0)["corridors"] == []


def test_the_point_is_echoed_in_crs84(edge_db: str) -> None:
    body = at(edge_db, 20.005, 100.0 + ONE_METRE, crs=parse_crs("EPSG:4326"))  # lat, lon order
    assert body["point"] == {"lon": pytest.approx(100.0 + ONE_METRE), "lat": pytest.approx(20.005)}
    assert codes(body["zones"])[0] == "EZR"


# -- the nearest axis ------------------------------------------------------------------------------------
def test_nearest_axis_is_nearest_on_the_ellipsoid_not_in_degrees(edge_db: str) -> None:
    axis = at(edge_db, *AXIS_POINT)["nearest_axis"]
    assert set(axis) == {"id", "code", "name_vi", "name_en", "distance_m"}
    assert axis["code"] == "EAV" and axis["name_vi"] == "Trục EAV" and axis["name_en"] is None
    assert axis["distance_m"] == pytest.approx(GEOD.inv(*AXIS_POINT, 100.11, 20.1)[2], abs=0.15)  # 1045.8 m


def test_nearest_axis_distance_from_the_other_side(edge_db: str) -> None:
    # due north of the east–west axis, 200 m beyond it: that axis, 200 m away
    lon, lat, _ = GEOD.fwd(100.1, 20.1095, 0, 200.0)
    axis = at(edge_db, lon, lat)["nearest_axis"]
    assert axis["code"] == "EAH" and axis["distance_m"] == pytest.approx(200.0, abs=0.15)
    on = at(edge_db, 100.11, 20.12)["nearest_axis"]
    assert on["code"] == "EAV" and on["distance_m"] == 0


# -- projects within the radius -------------------------------------------------------------------------
def test_projects_within_the_default_radius_nearest_first(edge_db: str) -> None:
    body = at(edge_db, *PROJECT_POINT)
    assert body["radius_m"] == 2000.0
    # EP4 at 1999.5 m is in, EP3 at 2000.5 m is out; EP5 and EP6 are as far: by code
    assert codes(body["projects"]) == ["EP5", "EP6", "EP1", "EP2", "EP4"]
    assert [p["distance_m"] for p in body["projects"]] == [1200.0, 1200.0, 1500.0, 1800.0, 1999.5]
    first = body["projects"][0]
    assert (first["name_vi"], first["category"], first["status"]) == ("Dự án EP5", "port", "planned")


@pytest.mark.parametrize(("radius", "expected"), [
    (1800.5, ["EP5", "EP6", "EP1", "EP2"]),
    (1799.5, ["EP5", "EP6", "EP1"]),
    (2001.0, ["EP5", "EP6", "EP1", "EP2", "EP4", "EP3"]),
    (1000.0, []),
])
def test_the_radius_boundary(edge_db: str, radius: float, expected: list[str]) -> None:
    body = at(edge_db, *PROJECT_POINT, radius_m=radius)
    assert codes(body["projects"]) == expected and body["radius_m"] == radius


def test_a_project_due_east_or_north_at_the_radius_passes_the_index_prefilter(edge_db: str) -> None:
    # the metres → degrees box before the exact test must not cut off the ends of the axes
    for code in ("EP1", "EP2"):
        distance = PROJECTS[code][1]
        assert code in codes(at(edge_db, *PROJECT_POINT, radius_m=distance + 0.2)["projects"])
        assert code not in codes(at(edge_db, *PROJECT_POINT, radius_m=distance - 0.2)["projects"])


def test_out_of_range_names_the_axis_of_the_crs(edge_db: str) -> None:
    with pytest.raises(InvalidParameter) as geographic:
        at(edge_db, 100.0, 95.0)
    assert geographic.value.parameter == "lon"
    with pytest.raises(InvalidParameter) as projected:
        at(edge_db, 1e9, 1e9, crs=parse_crs("EPSG:3405"))
    assert projected.value.parameter == "x"


def test_locate_point_sql_is_the_statement_run(edge_db: str) -> None:
    sql = locate.locate_point_sql(parse_crs("EPSG:4326"))
    assert sql != locate.locate_point_sql()
    text = run(edge_db, lambda c: c.fetchval(sql, 20.005, 100.005, 2000.0))
    assert text == run(edge_db, lambda c: locate.locate_point(c, 20.005, 100.005, parse_crs("EPSG:4326")))


# -- overlaps of a parcel --------------------------------------------------------------------------------
def overlaps_of(url: str, geom: Any) -> dict[str, Any]:
    parcel = locate.parcel_geometry(mapping(geom), parse_crs(None))
    return orjson.loads(run(url, lambda c: locate.locate_geometry(c, parcel)))


def geodesic_area(geom: Any) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0])


def test_a_parcel_inside_a_zone_has_all_of_it(edge_db: str) -> None:
    parcel = box(100.002, 20.002, 100.003, 20.003)
    body = overlaps_of(edge_db, parcel)
    assert body["area_m2"] == pytest.approx(geodesic_area(parcel), rel=1e-5)
    assert [(o["layer"], o["code"]) for o in body["overlaps"]] == [
        ("admin_units", "E0"), ("admin_units", "ED1"),
        ("zones", "EZ0"), ("zones", "EZA"), ("zones", "EZC"), ("zones", "EZR")]  # all 100 %: by layer, code
    assert {o["share_pct"] for o in body["overlaps"]} == {100.0}
    assert {o["area_m2"] for o in body["overlaps"]} == {body["area_m2"]}
    assert body["primary_region"] == {"id": body["primary_region"]["id"], "code": "EZR", "name_vi": "Vùng EZR",
                                      "name_en": None, "share_pct": 100.0}
    assert body["primary_admin_unit"]["code"] == "ED1" and body["primary_admin_unit"]["share_pct"] == 100.0


def test_shares_of_a_parcel_over_a_zone_edge(edge_db: str) -> None:
    parcel = box(99.999, 20.004, 100.001, 20.006)  # half of it in the zones
    body = overlaps_of(edge_db, parcel)
    shares = {o["code"]: o["share_pct"] for o in body["overlaps"]}
    assert shares["EZR"] == pytest.approx(50.0, abs=0.01) and shares["ED1"] == 100.0
    ezr = next(o for o in body["overlaps"] if o["code"] == "EZR")
    assert ezr["area_m2"] == pytest.approx(geodesic_area(box(100.0, 20.004, 100.001, 20.006)), rel=1e-4)
    assert ezr["kind"] == "region" and ezr["layer"] == "zones" and ezr["name_vi"] == "Vùng EZR"
    assert [o["share_pct"] for o in body["overlaps"]] == sorted((o["share_pct"] for o in body["overlaps"]),
                                                               reverse=True)


def test_a_parcel_across_the_corridor(edge_db: str) -> None:
    body = overlaps_of(edge_db, box(100.005, 20.02, 100.007, 20.021))  # its west half in the corridor
    corridor = next(o for o in body["overlaps"] if o["layer"] == "corridors")
    assert (corridor["code"], corridor["kind"], corridor["name_vi"]) == ("EC", "corridor", "Hành lang")
    assert corridor["share_pct"] == pytest.approx(50.0, abs=0.01)
    assert codes(body["overlaps"]) == ["E0", "ED1", "EC"]


def test_a_parcel_touching_a_zone_only_along_an_edge_does_not_overlap_it(edge_db: str) -> None:
    body = overlaps_of(edge_db, box(99.99, 20.004, 100.0, 20.006))
    assert codes(body["overlaps"]) == ["E0", "ED1"] and body["primary_region"] is None


@pytest.mark.parametrize(("west", "primary"), [(100.007, "EZR"), (100.003, "EZR"), (100.0085, "EZR2")])
def test_primary_region_is_the_largest_share(edge_db: str, west: float, primary: str) -> None:
    body = overlaps_of(edge_db, box(west, 20.004, west + 0.004, 20.006))
    assert body["primary_region"]["code"] == primary
    regions = [o for o in body["overlaps"] if o.get("kind") == "region"]
    assert body["primary_region"]["share_pct"] == max(o["share_pct"] for o in regions)


def test_primary_admin_unit_is_a_district_never_the_province(edge_db: str) -> None:
    body = overlaps_of(edge_db, box(100.045, 20.1, 100.051, 20.101))  # 5/6 in ED1, 1/6 in ED2
    shares = {o["code"]: o["share_pct"] for o in body["overlaps"]}
    assert shares["E0"] == 100.0
    assert shares["ED1"] == pytest.approx(500 / 6, abs=0.01) and shares["ED2"] == pytest.approx(100 / 6, abs=0.01)
    assert body["primary_admin_unit"]["code"] == "ED1"
    assert codes(body["overlaps"]) == ["E0", "ED1", "ED2"]  # by share


def test_a_multipolygon_parcel_counts_every_part(edge_db: str) -> None:
    big = box(100.002, 20.002, 100.004, 20.004)  # in the zones, district ED1
    small = box(100.1, 20.1, 100.101, 20.102)  # in ED2 only; half the area of `big`
    parcel = MultiPolygon([big, small])
    body = overlaps_of(edge_db, parcel)
    assert body["area_m2"] == pytest.approx(geodesic_area(big) + geodesic_area(small), rel=1e-5)
    shares = {o["code"]: o["share_pct"] for o in body["overlaps"]}
    assert shares["EZR"] == pytest.approx(100 * geodesic_area(big) / geodesic_area(parcel), abs=0.01)
    assert shares["ED2"] == pytest.approx(100 * geodesic_area(small) / geodesic_area(parcel), abs=0.01)
    assert shares["E0"] == 100.0 and body["primary_admin_unit"]["code"] == "ED1"
    assert codes(body["overlaps"])[0] == "E0"


def test_a_parcel_outside_everything(edge_db: str) -> None:
    body = overlaps_of(edge_db, box(101.0, 21.0, 101.001, 21.001))
    assert body["overlaps"] == [] and body["primary_region"] is None and body["primary_admin_unit"] is None
    assert body["area_m2"] > 0


# -- what a parcel may be -----------------------------------------------------------------------------------
def test_parcel_geometry_takes_polygons_and_multipolygons() -> None:
    crs = parse_crs(None)
    polygon = box(100.0, 20.0, 100.001, 20.001)
    assert locate.parcel_geometry(mapping(polygon), crs).equals(polygon)
    multi = MultiPolygon([polygon, box(100.01, 20.0, 100.011, 20.001)])
    assert locate.parcel_geometry({"type": "Feature", "properties": {}, "geometry": mapping(multi)}, crs).equals(multi)


@pytest.mark.parametrize("geom", [Point(100.0, 20.0), shapely.LineString([(100.0, 20.0), (100.1, 20.1)])])
def test_parcel_geometry_refuses_points_and_lines(geom: Any) -> None:
    with pytest.raises(InvalidGeometry) as default:
        locate.parcel_geometry(mapping(geom), parse_crs(None))
    assert default.value.parameter == "body" and geom.geom_type in default.value.detail
    with pytest.raises(InvalidGeometry) as named:
        locate.parcel_geometry(mapping(geom), parse_crs(None), "geometry")
    assert named.value.parameter == "geometry"
