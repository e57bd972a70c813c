"""Planner queries over HTTP: /locate (GET, POST), /classify (JSON and files), /search."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Geod, Transformer
from shapely.geometry import box, mapping, shape

from app.main import create_app
from spatial.crs import EPSG_URI
from spatial.settings import PROJECT_ROOT
from tests.helpers import assert_problem, make_settings, transformer

TAN_AN = (106.41, 10.535)
GEOD = Geod(ellps="WGS84")


def districts() -> dict[str, Any]:
    data = json.loads((PROJECT_ROOT / "data/geojson/admin_units.geojson").read_text())
    return {f["properties"]["code"]: shape(f["geometry"]) for f in data["features"]
            if f["properties"]["level"] == "district"}


def straddling_parcel() -> tuple[Any, str, str]:
    """A small square on the boundary of two districts, inside their union (found from the bundled data)."""
    units = districts()
    codes = sorted(units)
    for i, a in enumerate(codes):
        for b in codes[i + 1:]:
            shared = units[a].boundary.intersection(units[b].boundary)
            if shared.length < 0.02:
                continue
            centre = shared.interpolate(0.5, normalized=True)
            square = box(centre.x - 0.002, centre.y - 0.002, centre.x + 0.002, centre.y + 0.002)
            union = units[a].union(units[b])
            if square.difference(union).area == 0 and square.intersection(units[a]).area > 0.1 * square.area \
                    and square.intersection(units[b]).area > 0.1 * square.area:
                return square, a, b
    raise AssertionError("no two neighbouring districts in the bundled data")


# -- GET /locate -----------------------------------------------------------------------------------------
def test_locate_point_in_tan_an(client: TestClient) -> None:
    body = client.get("/locate", params={"lon": TAN_AN[0], "lat": TAN_AN[1]}).json()
    assert [u["code"] for u in body["admin_units"]] == ["794", "80"]
    assert body["admin_units"][0]["name_vi"] == "Tân An"
    regions = [z for z in body["zones"] if z["kind"] == "region"]
    assert [r["code"] for r in regions] == ["R1"] and regions[0]["name_vi"] == "Vùng đô thị và công nghiệp"
    assert [z["code"] for z in body["zones"] if z["kind"] == "centre"] == ["C1"]
    axis = body["nearest_axis"]
    assert axis["code"].startswith("TDL") and axis["distance_m"] > 0
    distances = [p["distance_m"] for p in body["projects"]]
    assert distances == sorted(distances) and all(d <= 2000 for d in distances)


def test_locate_radius_and_corridor(client: TestClient) -> None:
    near = client.get("/locate", params={"lon": TAN_AN[0], "lat": TAN_AN[1], "radius": 20000}).json()
    assert len(near["projects"]) > len(client.get("/locate", params={"lon": TAN_AN[0], "lat": TAN_AN[1]}
                                                  ).json()["projects"])
    assert near["radius_m"] == 20000
    corridor = json.loads((PROJECT_ROOT / "data/geojson/corridors.geojson").read_text())["features"][0]
    inside = shape(corridor["geometry"]).representative_point()
    body = client.get("/locate", params={"lon": inside.x, "lat": inside.y}).json()
    assert corridor["properties"]["code"] in [c["code"] for c in body["corridors"]]


def test_locate_vn2000_lands_within_half_a_metre_of_pyproj(client: TestClient) -> None:
    x, y = 574_321.25, 1_164_876.5
    lon, lat = transformer("EPSG:9210", "EPSG:4326").transform(x, y)
    body = client.get("/locate", params={"lon": x, "lat": y, "crs": EPSG_URI.format(9210)}).json()
    _, _, metres = GEOD.inv(lon, lat, body["point"]["lon"], body["point"]["lat"])
    assert metres < 0.5
    assert metres < 0.01  # EPSG:6960 exactly, not PROJ's own pick (EPSG:5194, ~0.8 m away here)
    default = Transformer.from_crs("EPSG:9210", "EPSG:4326", always_xy=True).transform(x, y)
    assert GEOD.inv(*default, lon, lat)[2] > 0.5  # so this test can tell the two apart
    utm = transformer("EPSG:4326", "EPSG:3405").transform(*TAN_AN)
    by_utm = client.get("/locate", params={"lon": utm[0], "lat": utm[1], "crs": "EPSG:3405"}).json()
    assert by_utm["admin_units"][0]["code"] == "794"


def test_locate_bad_input(client: TestClient) -> None:
    assert_problem(client.get("/locate", params={"lon": 500, "lat": 10}), 400, "lon")
    assert_problem(client.get("/locate", params={"lon": 0, "lat": 0, "crs": EPSG_URI.format(9210)}), 400)
    assert_problem(client.get("/locate", params={"lon": 106}), 400, "lat")
    assert_problem(client.get("/locate", params={"lon": "east", "lat": 10}), 400, "lon")
    assert_problem(client.get("/locate", params={"lon": 106, "lat": 10, "crs": "EPSG:1"}), 400, "crs")
    assert_problem(client.get("/locate", params={"lon": 106, "lat": 10, "radius": -1}), 400, "radius")


def test_locate_outside_the_province_is_empty_not_an_error(client: TestClient) -> None:
    body = client.get("/locate", params={"lon": 2.35, "lat": 48.85}).json()
    assert body["admin_units"] == [] and body["zones"] == [] and body["projects"] == []


# -- POST /locate ----------------------------------------------------------------------------------------
def test_post_locate_parcel_straddling_two_districts(client: TestClient) -> None:
    square, a, b = straddling_parcel()
    response = client.post("/locate", json={"type": "Feature", "properties": {}, "geometry": mapping(square)})
    assert response.status_code == 200, response.text
    body = response.json()
    shares = {o["code"]: o for o in body["overlaps"] if o["layer"] == "admin_units" and o["kind"] == "district"}
    assert set(shares) == {a, b}
    assert sum(o["share_pct"] for o in shares.values()) == pytest.approx(100, abs=0.01)
    assert sum(o["area_m2"] for o in shares.values()) == pytest.approx(body["area_m2"], rel=1e-4)
    geod_area = abs(GEOD.geometry_area_perimeter(square)[0])
    assert body["area_m2"] == pytest.approx(geod_area, rel=1e-3)
    share_list = [o["share_pct"] for o in body["overlaps"]]
    assert share_list == sorted(share_list, reverse=True)
    expected_primary = max(shares.values(), key=lambda o: o["share_pct"])["code"]
    assert body["primary_admin_unit"]["code"] == expected_primary
    regions = [o for o in body["overlaps"] if o["kind"] == "region"]
    assert body["primary_region"]["code"] == max(regions, key=lambda o: o["share_pct"])["code"]


def test_post_locate_in_vn2000(client: TestClient) -> None:
    to_vn = transformer("EPSG:4326", "EPSG:9210")
    square = box(TAN_AN[0] - 0.001, TAN_AN[1] - 0.001, TAN_AN[0] + 0.001, TAN_AN[1] + 0.001)
    vn = shapely.transform(square, lambda xy: list(zip(*to_vn.transform(xy[:, 0], xy[:, 1]), strict=True)))
    body = client.post(f"/locate?crs={EPSG_URI.format(9210)}", json=mapping(vn)).json()
    assert body["primary_admin_unit"]["code"] == "794" and body["primary_region"]["code"] == "R1"
    assert body["primary_region"]["share_pct"] == pytest.approx(100)


def test_post_locate_errors(client: TestClient) -> None:
    bowtie = {"type": "Polygon", "coordinates": [[[106.40, 10.50], [106.45, 10.55], [106.45, 10.50],
                                                  [106.40, 10.55], [106.40, 10.50]]]}
    body = assert_problem(client.post("/locate", json=bowtie), 422, "body")
    assert "Self-intersection" in body["detail"]
    assert_problem(client.post("/locate", json={"type": "Point", "coordinates": [106.4, 10.5]}), 422, "body")
    assert_problem(client.post("/locate", json={"type": "Polygon", "coordinates": "x"}), 422, "body")
    assert_problem(client.post("/locate", json={"hello": 1}), 422, "body")
    assert_problem(client.post("/locate", content=b"{oops", headers={"content-type": "application/json"}), 400,
                   "body")
    assert_problem(client.post("/locate", content=b"POLYGON((1 2))", headers={"content-type": "text/plain"}), 415)
    far = {"type": "Polygon", "coordinates": [[[0, 0], [500, 0], [500, 1], [0, 0]]]}
    assert_problem(client.post("/locate", json=far), 400, "body")


def test_body_too_large_is_413(db_url: str, tmp_path: Path) -> None:
    settings = make_settings(db_url, tmp_path, upload_max_bytes=200, classify_max_features=2)
    square = mapping(box(106.40, 10.50, 106.41, 10.51))
    big = {"type": "Polygon", "coordinates": [[[106.4 + i * 1e-6, 10.5] for i in range(40)] + [[106.4, 10.5]]]}
    with TestClient(create_app(settings)) as small:
        assert_problem(small.post("/locate", json=big), 413)
        fc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": square}] * 3}
    settings = make_settings(db_url, tmp_path, classify_max_features=2)
    with TestClient(create_app(settings)) as capped:
        assert_problem(capped.post("/classify", json=fc), 413, "body")


# -- POST /classify --------------------------------------------------------------------------------------
def parcels() -> gpd.GeoDataFrame:
    square, a, b = straddling_parcel()
    tan_an = box(TAN_AN[0] - 0.001, TAN_AN[1] - 0.001, TAN_AN[0] + 0.001, TAN_AN[1] + 0.001)
    return gpd.GeoDataFrame({"so_thua": ["T-1", "T-2"], "ghi_chu": ["Thửa ở Tân An", f"giữa {a} và {b}"]},
                            geometry=[tan_an, square], crs="EPSG:4326")


def check_classified(features: list[dict[str, Any]]) -> None:
    first, second = (f["properties"] for f in features)
    assert first["so_thua"] == "T-1" and first["ghi_chu"] == "Thửa ở Tân An"
    assert first["lapis_admin_code"] == "794" and first["lapis_region_code"] == "R1"
    assert first["lapis_centre"] == "C1" and first["lapis_region_share_pct"] == 100
    _, a, b = straddling_parcel()
    shares = second["lapis_shares"]
    assert shares[a] + shares[b] == pytest.approx(100, abs=0.02)
    assert second["lapis_admin_code"] == (a if shares[a] >= shares[b] else b)


def test_classify_feature_collection(client: TestClient) -> None:
    fc = json.loads(parcels().to_json())
    response = client.post("/classify", json=fc)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 2
    check_classified(body["features"])


def test_classify_csv(client: TestClient) -> None:
    response = client.post("/classify?f=csv", json=json.loads(parcels().to_json()))
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["so_thua"] for r in rows] == ["T-1", "T-2"]
    assert rows[0]["lapis_admin_code"] == "794" and rows[0]["lapis_region_name"] == "Vùng đô thị và công nghiệp"
    assert rows[0]["ghi_chu"] == "Thửa ở Tân An"


@pytest.mark.parametrize("kind", ["gpkg", "shapefile-vn2000", "geojson"])
def test_classify_uploaded_file(client: TestClient, tmp_path: Path, kind: str) -> None:
    frame = parcels()
    if kind == "gpkg":
        path = tmp_path / "parcels.gpkg"
        frame.to_file(path, driver="GPKG")
    elif kind == "geojson":
        path = tmp_path / "parcels.geojson"
        frame.to_file(path, driver="GeoJSON")
    else:
        folder = tmp_path / "shp"
        folder.mkdir()
        frame.to_crs("EPSG:9210").to_file(folder / "thua.shp", encoding="utf-8")
        path = tmp_path / "thua.zip"
        with zipfile.ZipFile(path, "w") as archive:
            for part in folder.iterdir():
                archive.write(part, part.name)
    with path.open("rb") as upload:
        response = client.post("/classify", files={"file": (path.name, upload, "application/octet-stream")})
    assert response.status_code == 200, response.text
    check_classified(response.json()["features"])


def test_classify_shapefile_without_prj_needs_crs(client: TestClient, tmp_path: Path) -> None:
    folder = tmp_path / "shp"
    folder.mkdir()
    parcels().to_crs("EPSG:9210").to_file(folder / "thua.shp", encoding="utf-8")
    (folder / "thua.prj").unlink()
    path = tmp_path / "thua.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for part in folder.iterdir():
            archive.write(part, part.name)
    with path.open("rb") as upload:
        body = assert_problem(client.post("/classify", files={"file": ("thua.zip", upload)}), 400, "crs")
    assert "VN-2000" in body["detail"]
    with path.open("rb") as upload:
        response = client.post(f"/classify?crs={EPSG_URI.format(9210)}", files={"file": ("thua.zip", upload)})
    assert response.status_code == 200, response.text
    check_classified(response.json()["features"])


def test_classify_rejects_bad_input(client: TestClient, tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    with bad.open("rb") as upload:
        assert_problem(client.post("/classify", files={"file": ("notes.txt", upload)}), 415, "file")
    line = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": {
        "type": "LineString", "coordinates": [[106, 10], [107, 11]]}}]}
    assert_problem(client.post("/classify", json=line), 422, "body")
    assert_problem(client.post("/classify", content=b"x", headers={"content-type": "text/plain"}), 415)
    assert_problem(client.post("/classify", json={"type": "FeatureCollection", "features": []}), 422, "body")


# -- GET /search -----------------------------------------------------------------------------------------
def test_search_ignores_diacritics(client: TestClient) -> None:
    body = client.get("/search", params={"q": "vanh dai 3"}).json()
    names = [r["name_vi"] for r in body["results"]]
    assert names and all("Vành đai 3" in n for n in names[:3])
    assert {r["collection"] for r in body["results"]} >= {"axes", "projects"}
    accented = client.get("/search", params={"q": "Vành đai 3"}).json()["results"]
    assert [r["code"] for r in accented] == [r["code"] for r in body["results"]]


def test_search_ranks_exact_matches_first(client: TestClient) -> None:
    results = client.get("/search", params={"q": "tan an", "limit": 5}).json()["results"]
    assert results[0]["name_vi"] == "Tân An" and results[0]["collection"] == "admin_units"
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    by_code = client.get("/search", params={"q": "DA-VD3"}).json()["results"]
    assert by_code[0]["code"] == "DA-VD3" and len(by_code[0]["bbox"]) == 4
    assert client.get("/search", params={"q": "xyzzy nothing"}).json()["results"] == []


def test_search_bad_input(client: TestClient) -> None:
    assert_problem(client.get("/search", params={"q": ""}), 400, "q")
    assert_problem(client.get("/search"), 400, "q")
    assert_problem(client.get("/search", params={"q": "a", "limit": 0}), 400, "limit")
    assert client.get("/search", params={"q": "100%_"}).status_code == 200


# -- database timeouts -----------------------------------------------------------------------------------
def test_statement_timeout_is_a_503_problem(fresh_db_url: str, tmp_path: Path) -> None:
    settings = make_settings(fresh_db_url, tmp_path, statement_timeout_ms=300)
    with psycopg.connect(fresh_db_url) as locker, TestClient(create_app(settings)) as client:
        locker.execute("LOCK TABLE zones IN ACCESS EXCLUSIVE MODE")
        response = client.get("/locate", params={"lon": TAN_AN[0], "lat": TAN_AN[1]})
        assert_problem(response, 503)
        assert "statement_timeout" in response.json()["detail"]
