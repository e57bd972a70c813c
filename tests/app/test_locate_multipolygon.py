"""POST /locate with a MultiPolygon parcel: every part counts, in whichever district it lies."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient
from pyproj import Geod
from shapely.geometry import MultiPolygon, box, mapping

GEOD = Geod(ellps="WGS84")


def district_interiors(url: str) -> list[tuple[str, float, float, float]]:
    """(code, lon, lat, radius in degrees) of a circle inside each of two bundled districts."""
    with psycopg.connect(url) as conn:
        return conn.execute("""
            SELECT code, ST_X(c.center), ST_Y(c.center), c.radius
            FROM admin_units, LATERAL ST_MaximumInscribedCircle(geom) c
            WHERE level = 'district' ORDER BY code LIMIT 2""").fetchall()


def test_every_part_of_a_multipolygon_parcel_counts(client: TestClient, db_url: str) -> None:
    (code_a, xa, ya, ra), (code_b, xb, yb, rb) = district_interiors(db_url)
    half = min(ra, rb, 0.01) / 2
    big = box(xa - half, ya - half, xa + half, ya + half)
    small = box(xb - half, yb - half / 2, xb + half, yb + half / 2)  # half the size of `big`
    parcel = MultiPolygon([big, small])
    response = client.post("/locate", json={"type": "Feature", "properties": {}, "geometry": mapping(parcel)})
    assert response.status_code == 200, response.text
    body = response.json()
    area = abs(GEOD.geometry_area_perimeter(parcel)[0])
    assert body["area_m2"] == pytest.approx(area, rel=1e-4)
    districts = {o["code"]: o for o in body["overlaps"] if o["kind"] == "district"}
    assert set(districts) == {code_a, code_b}
    assert districts[code_a]["share_pct"] == pytest.approx(200 / 3, abs=0.05)
    assert districts[code_b]["share_pct"] == pytest.approx(100 / 3, abs=0.05)
    assert districts[code_a]["area_m2"] + districts[code_b]["area_m2"] == pytest.approx(area, rel=1e-4)
    province = next(o for o in body["overlaps"] if o["kind"] == "province")
    assert province["share_pct"] == pytest.approx(100.0)
    assert body["primary_admin_unit"]["code"] == code_a


def test_a_collection_holding_a_point_is_not_a_parcel(client: TestClient) -> None:
    collection = {"type": "GeometryCollection", "geometries": [
        mapping(box(106.4, 10.5, 106.41, 10.51)), {"type": "Point", "coordinates": [106.4, 10.5]}]}
    response = client.post("/locate", json=collection)
    assert response.status_code == 422 and response.json()["parameter"] == "body"
    assert "GeometryCollection" in response.json()["detail"]
