"""POST /check — what may be built here — on the bundled zones and rules, through the real database.

Places are found from the bundled data itself (a point deep inside each region and away from the centre and the
economic zones; a parcel across the R1/R3 border), so the tests follow the data rather than fixed coordinates."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import box, mapping, shape

from spatial.crs import EPSG_URI
from tests.helpers import BUNDLED_DATA, assert_problem, transformer


def _features(layer: str) -> list[dict[str, Any]]:
    return json.loads((BUNDLED_DATA / f"{layer}.geojson").read_text(encoding="utf-8"))["features"]


@cache
def zones() -> dict[str, shapely.Geometry]:
    return {f["properties"]["code"]: shape(f["geometry"]) for f in _features("zones")}


@cache
def rules() -> dict[tuple[str, str], str]:
    return {(f["properties"]["zone_code"], f["properties"]["use_category"]): f["properties"]["verdict"]
            for f in _features("use_rules")}


def inside_only(region: str) -> shapely.Point:
    """A point of `region` at least ~2 km from any other zone (centre, economic zones) and from its edge."""
    others = shapely.union_all([g for code, g in zones().items() if code != region and not code.startswith("R")])
    core = zones()[region].buffer(-0.02).difference(others.buffer(0.02))
    assert not core.is_empty, region
    return core.point_on_surface()


def post(client: TestClient, geometry: dict[str, Any], use: str, **params: Any) -> Any:
    return client.post("/check", params={"use": use, **params}, json={"type": "Feature", "geometry": geometry,
                                                                      "properties": {}})


@pytest.mark.parametrize("region", ["R1", "R2", "R3"])
@pytest.mark.parametrize("use", ["industrial", "agriculture", "border_trade"])
def test_a_point_inside_one_region_gets_that_regions_rule(client: TestClient, region: str, use: str) -> None:
    point = inside_only(region)
    r = post(client, mapping(point), use)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [z["code"] for z in body["zones"]] == [region]
    assert body["zones"][0]["share_pct"] == 100
    assert body["verdict"] == rules()[(region, use)] == body["zones"][0]["verdict"]
    assert body["zones"][0]["rule"]["code"] == f"RULE-{region}-{use}"
    assert body["inferred"] is True and body["sources"]
    assert body["reasons"][0]["vi"] and body["reasons"][0]["en"]


def test_the_centre_is_more_restrictive_than_its_region_for_industry(client: TestClient) -> None:
    centre = zones()["C1"].buffer(-0.005).point_on_surface()
    body = post(client, mapping(centre), "industrial").json()
    verdicts = {z["code"]: z["verdict"] for z in body["zones"]}
    assert verdicts == {"R1": "allowed", "C1": "conditional"}
    assert body["verdict"] == "conditional"
    assert "High-tech industry only" in body["reasons"][0]["en"]


def _straddling_parcel() -> shapely.Polygon:
    """A ~1 km square centred on the R1/R3 border."""
    border = shapely.intersection(zones()["R1"].boundary, zones()["R3"].boundary)
    lines = [g for g in getattr(border, "geoms", [border]) if g.geom_type == "LineString"]
    line = max(lines, key=lambda g: g.length)
    centre = line.interpolate(0.5, normalized=True)
    return box(centre.x - 0.005, centre.y - 0.005, centre.x + 0.005, centre.y + 0.005)


def test_a_parcel_straddling_two_regions_takes_the_most_restrictive_meaningful_rule(client: TestClient) -> None:
    parcel = _straddling_parcel()
    body = post(client, mapping(parcel), "industrial").json()
    shares = {z["code"]: z["share_pct"] for z in body["zones"] if z["kind"] == "region"}
    assert set(shares) == {"R1", "R3"} and all(s > 5 for s in shares.values())
    assert sum(shares.values()) == pytest.approx(100, abs=0.5)
    assert rules()[("R1", "industrial")] == "allowed" and rules()[("R3", "industrial")] == "prohibited"
    assert body["verdict"] == "prohibited"
    assert body["parcel_area_m2"] == pytest.approx(1.2e6, rel=0.1)
    # a threshold above both shares leaves no deciding zone: unknown, and it says why
    high = post(client, mapping(parcel), "industrial", min_share_pct=max(shares.values()) + 1).json()
    assert high["verdict"] == "unknown"
    assert any("not counted" in reason["en"] for reason in high["reasons"])
    # agriculture: R1 conditional, R3 allowed → conditional
    assert post(client, mapping(parcel), "agriculture").json()["verdict"] == "conditional"


def test_a_parcel_in_vn2000_gets_the_same_answer(client: TestClient) -> None:
    parcel = _straddling_parcel()
    to_tm3 = transformer("EPSG:4326", "EPSG:9210")
    projected = shapely.transform(parcel, lambda xy: list(zip(*to_tm3.transform(xy[:, 0], xy[:, 1]), strict=True)))
    wgs = post(client, mapping(parcel), "industrial").json()
    vn = post(client, mapping(projected), "industrial", crs=EPSG_URI.format(9210)).json()
    assert vn["verdict"] == wgs["verdict"]
    for a, b in zip(vn["zones"], wgs["zones"], strict=True):
        assert a["code"] == b["code"] and a["share_pct"] == pytest.approx(b["share_pct"], abs=0.05)


def test_outside_the_province_is_unknown(client: TestClient) -> None:
    body = post(client, {"type": "Point", "coordinates": [106.70, 10.80]}, "residential").json()  # HCMC
    assert body["zones"] == [] and body["verdict"] == "unknown"
    assert "No rule for housing" in body["reasons"][0]["en"]


def test_client_mistakes_are_problems_naming_the_parameter(client: TestClient) -> None:
    point = {"type": "Point", "coordinates": [106.4, 10.5]}
    assert_problem(post(client, point, "casino"), 400, "use")
    assert_problem(client.post("/check", json=point), 400, "use")
    assert_problem(post(client, point, "industrial", min_share_pct=101), 400, "min_share_pct")
    bowtie = {"type": "Polygon", "coordinates": [[[106.4, 10.5], [106.5, 10.6], [106.5, 10.5], [106.4, 10.6],
                                                  [106.4, 10.5]]]}
    assert_problem(post(client, bowtie, "industrial"), 422, "body")
    r = client.post("/check?use=industrial", content=b"x", headers={"Content-Type": "text/plain"})
    assert_problem(r, 415)


def test_rules_are_a_collection_like_any_layer(client: TestClient) -> None:
    r = client.get("/collections/use_rules/items", params={"zone_code": "R3", "use_category": "industrial"})
    assert r.status_code == 200, r.text
    [feature] = r.json()["features"]
    assert feature["geometry"] is None
    assert feature["properties"]["verdict"] == "prohibited" and feature["properties"]["inferred"] is True
    found = client.get("/search", params={"q": "vung dem sinh thai cong nghiep"}).json()["results"]
    assert any(hit["code"] == "RULE-R3-industrial" for hit in found)
