"""OGC API – Features – Part 2: Coordinate Reference Systems by Reference (OGC 18-058r1, Annex A), conformance class
CRS, one test per abstract test. A "known CRS" is one pyproj can transform (all that LAPIS lists); geometries
are compared after transforming them back, with a tolerance for the different transformation paths."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import shape

from tests.conformance.ats import (
    CRS84,
    GEOJSON,
    PROBLEM,
    all_features,
    api,
    ids,
    items_href,
    items_paths,
    media_type,
    ok_json,
    parameters,
    spatial_collections,
)
from tests.helpers import transformer

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
UNKNOWN_CRS = "http://www.opengis.net/def/crs/OGC/0/does_not_exist"


def _epsg(uri: str) -> str:
    return "EPSG:4326" if uri == CRS84 else f"EPSG:{uri.removeprefix(EPSG)}"


def _to_crs84(geometry: dict[str, Any], uri: str) -> shapely.Geometry:
    """A geometry written in `uri` (its axis order) back in CRS84."""
    geom = shape(geometry)
    if uri == CRS84:
        return geom
    if uri == f"{EPSG}4326":  # latitude first
        return shapely.transform(geom, lambda xy: xy[:, ::-1])
    back = transformer(_epsg(uri), "EPSG:4326")
    return shapely.transform(geom, lambda xy: np.column_stack(back.transform(xy[:, 0], xy[:, 1])))


def _supported(client: TestClient) -> list[tuple[dict[str, Any], str]]:
    return [(c, uri) for c in spatial_collections(client) for uri in c["crs"]]


def test_ats_crs_crs_uri(client: TestClient) -> None:
    """/conf/crs/crs-uri: every CRS listed (globally and per collection) is a CRS URI a CRS database knows."""
    from pyproj import CRS

    body = ok_json(client, "/collections")
    listed = set(body["crs"]) | {uri for c in body["collections"] for uri in c.get("crs", [])}
    assert CRS84 in listed
    for uri in listed:
        assert uri.startswith("http://www.opengis.net/def/crs/"), uri
        assert CRS.from_user_input(_epsg(uri)).name, uri


def test_ats_crs_default_crs(client: TestClient) -> None:
    """/conf/crs/default-crs: each spatial collection's CRS list (in /collections and alone) includes CRS84."""
    for collection in spatial_collections(client):
        alone = ok_json(client, f"/collections/{collection['id']}")
        assert CRS84 in collection["crs"] and CRS84 in alone["crs"]


def test_ats_crs_storage_crs(client: TestClient) -> None:
    """/conf/crs/storageCrs: a collection's storageCrs is one of its CRSs."""
    for collection in spatial_collections(client):
        assert collection["storageCrs"] in collection["crs"]


def test_ats_crs_crs_parameter(client: TestClient) -> None:
    """/conf/crs/crs-parameter: `crs` is a URI parameter of the items; for every CRS of every spatial collection the
    features and a feature answer 200 as GeoJSON with a Content-Crs header naming it."""
    spec = api(client)
    for path in items_paths(spec):
        crs = parameters(spec, path)["crs"]
        assert crs["in"] == "query" and crs["schema"]["type"] == "string" and crs["schema"]["format"] == "uri"
    for collection, uri in _supported(client):
        response = client.get(items_href(collection), params={"crs": uri, "limit": 2})
        assert response.status_code == 200 and media_type(response) == GEOJSON, (collection["id"], uri)
        assert response.headers["Content-Crs"] == f"<{uri}>"
        first = response.json()["features"][0]["id"]
        one = client.get(f"{items_href(collection)}/{first}", params={"crs": uri})
        assert one.status_code == 200 and one.headers["Content-Crs"] == f"<{uri}>"


def test_ats_crs_crs_parameter_default(client: TestClient) -> None:
    """/conf/crs/crs-parameter-default: without `crs` the geometries are in CRS84, and Content-Crs says so."""
    for collection in spatial_collections(client):
        plain = client.get(items_href(collection), params={"limit": 3})
        asked = client.get(items_href(collection), params={"limit": 3, "crs": CRS84})
        assert plain.headers["Content-Crs"] == f"<{CRS84}>" and plain.json()["features"] == asked.json()["features"]


def test_ats_crs_crs_parameter_invalid(client: TestClient) -> None:
    """/conf/crs/crs-parameter-invalid: a CRS the collection does not list is a 400, for features and a feature."""
    for collection in spatial_collections(client):
        for url in (items_href(collection), f"{items_href(collection)}/1"):
            response = client.get(url, params={"crs": UNKNOWN_CRS})
            assert response.status_code == 400 and media_type(response) == PROBLEM, url


def test_ats_crs_crs_transform(client: TestClient) -> None:
    """/conf/crs/crs-transform: geometries asked in each CRS, transformed back, are the CRS84 ones (within 1 m)."""
    for collection, uri in _supported(client):
        plain = {f["id"]: f for f in all_features(client, items_href(collection), limit=20)}
        asked = client.get(items_href(collection), params={"crs": uri, "limit": 20}).json()["features"]
        for feature in asked:
            if feature["geometry"] is None:
                continue
            back = _to_crs84(feature["geometry"], uri)
            expected = shape(plain[feature["id"]]["geometry"])
            assert back.equals_exact(expected, 1e-5) or back.hausdorff_distance(expected) < 1e-5, \
                (collection["id"], uri, feature["id"])


def test_ats_crs_bbox_crs_parameter(client: TestClient) -> None:
    """/conf/crs/bbox-crs-parameter: `bbox-crs` is a URI parameter; a bbox in any listed CRS selects the features
    the same box in CRS84 does."""
    spec = api(client)
    for path in items_paths(spec):
        bbox_crs = parameters(spec, path)["bbox-crs"]
        assert bbox_crs["in"] == "query" and bbox_crs["schema"]["format"] == "uri"
    west, south, east, north = 106.3, 10.45, 106.6, 10.75
    for collection, uri in _supported(client):
        expected = ids(all_features(client, items_href(collection), bbox=f"{west},{south},{east},{north}"))
        if uri == CRS84:
            box = (west, south, east, north)
        elif uri == f"{EPSG}4326":
            box = (south, west, north, east)
        else:
            to = transformer("EPSG:4326", _epsg(uri))
            (x0, x1), (y0, y1) = to.transform([west, east], [south, north])
            box = (x0, y0, x1, y1)
        got = ids(all_features(client, items_href(collection), bbox=",".join(map(str, box)), **{"bbox-crs": uri}))
        # a box transformed into another CRS is not quite the same area: only features at its edge may differ
        assert len(got ^ expected) <= max(1, len(expected) // 10), (collection["id"], uri, got ^ expected)
        assert got & expected or not expected


def test_ats_crs_bbox_crs_parameter_default(client: TestClient) -> None:
    """/conf/crs/bbox-crs-parameter-default: a bbox without `bbox-crs` is in CRS84."""
    for collection in spatial_collections(client):
        box = ",".join(map(str, collection["extent"]["spatial"]["bbox"][0]))
        plain = ids(all_features(client, items_href(collection), bbox=box))
        assert plain == ids(all_features(client, items_href(collection), bbox=box, **{"bbox-crs": CRS84}))


@pytest.mark.parametrize("value", [UNKNOWN_CRS, "EPSG:1"])
def test_ats_crs_bbox_crs_parameter_invalid(client: TestClient, value: str) -> None:
    """/conf/crs/bbox-crs-parameter-invalid: a bbox-crs the collection does not list is a 400."""
    for collection in spatial_collections(client):
        response = client.get(items_href(collection), params={"bbox": "106,10,107,11", "bbox-crs": value})
        assert response.status_code == 400 and response.json()["parameter"] == "bbox-crs"
