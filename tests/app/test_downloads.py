"""Downloads on items (`f=gpkg|fgb|shp`, `download=true` for GeoJSON and CSV, or Accept): read back by
geopandas/pyogrio, they hold exactly the features the GeoJSON items hold, in the requested CRS."""

from __future__ import annotations

import contextlib
import csv
import io
import socket
import time
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import CRS
from shapely.geometry import shape

from spatial.settings import Settings
from spatial.synthetic import load_parcels, synthetic_parcels
from tests.helpers import assert_problem, make_settings, serve_in_thread

SUFFIX = {"gpkg": ".gpkg", "fgb": ".fgb", "shp": ".zip", "geojson": ".geojson", "csv": ".csv"}
MEDIA = {"gpkg": "application/geopackage+sqlite3", "fgb": "application/flatgeobuf", "shp": "application/zip",
         "geojson": "application/geo+json", "csv": "text/csv"}


def items(client: TestClient, layer: str, query: str = "") -> list[dict[str, Any]]:
    """Every feature the GeoJSON items give for `query` (one page: the layers here are small)."""
    response = client.get(f"/collections/{layer}/items?limit=10000{'&' if query else ''}{query}")
    assert response.status_code == 200, response.text
    page = response.json()
    assert not any(link["rel"] == "next" for link in page["links"])
    return page["features"]


def download(client: TestClient, layer: str, fmt: str, query: str = "", **headers: str) -> bytes:
    extra = "&download=true" if fmt in ("geojson", "csv") else ""
    response = client.get(f"/collections/{layer}/items?f={fmt}{extra}{'&' if query else ''}{query}",
                          headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == MEDIA[fmt]
    assert response.headers["content-disposition"] == f'attachment; filename="{layer}{SUFFIX[fmt]}"'
    return response.content


def read_back(content: bytes, layer: str, fmt: str, folder: Path) -> gpd.GeoDataFrame:
    path = folder / f"{layer}{SUFFIX[fmt]}"
    path.write_bytes(content)
    if fmt != "geojson":
        return gpd.read_file(path, engine="pyogrio")
    frame = gpd.read_file(path, engine="pyogrio", fid_as_index=True)  # the id is each Feature's `id` member
    frame.insert(0, "id", frame.index)
    return frame


def coordinates(geometry: shapely.Geometry) -> np.ndarray:
    """Normalised coordinates: the same for a one-part MultiPolygon and the Polygon a shapefile gives back."""
    return shapely.get_coordinates(shapely.normalize(geometry))


def assert_same_features(frame: gpd.GeoDataFrame, features: list[dict[str, Any]], tolerance: float = 1e-7, *,
                         ordered: bool = True) -> None:
    """Same features in the same order: ids, codes, Vietnamese names (exact, NFC), geometry within `tolerance`.
    Not `ordered` (a FlatGeobuf's spatial index orders its features): the same features by id."""
    if not ordered:
        frame = frame.sort_values("id", key=lambda ids: ids.astype(int)).reset_index(drop=True)
        features = sorted(features, key=lambda f: f["id"])
    assert [int(v) for v in frame["id"]] == [f["id"] for f in features]
    assert list(frame["code"]) == [f["properties"]["code"] for f in features]
    names = list(frame["name_vi"])
    assert names == [f["properties"]["name_vi"] for f in features]
    assert all(unicodedata.is_normalized("NFC", n) for n in names)
    for got, feature in zip(frame.geometry, features, strict=True):
        want = coordinates(shape(feature["geometry"]))
        assert coordinates(got).shape == want.shape
        assert np.allclose(coordinates(got), want, rtol=0, atol=tolerance), feature["properties"]["code"]


@pytest.mark.parametrize("fmt", ["gpkg", "fgb", "shp", "geojson"])
def test_a_download_reads_back_as_the_items(client: TestClient, tmp_path: Path, fmt: str) -> None:
    for layer in ("admin_units", "zones"):
        frame = read_back(download(client, layer, fmt), layer, fmt, tmp_path)
        assert_same_features(frame, items(client, layer), ordered=fmt != "fgb")
        assert any(not name.isascii() for name in frame["name_vi"])  # Vietnamese, compared exactly above
        assert frame.crs.equals(CRS.from_epsg(4326))


def test_the_zipped_shapefile_has_cpg_and_prj(client: TestClient) -> None:
    archive = zipfile.ZipFile(io.BytesIO(download(client, "zones", "shp")))
    assert sorted(archive.namelist()) == ["zones.cpg", "zones.dbf", "zones.prj", "zones.shp", "zones.shx"]
    assert archive.read("zones.cpg").decode().strip().upper() == "UTF-8"
    assert "WGS_1984" in archive.read("zones.prj").decode()


@pytest.mark.parametrize("fmt", ["shp", "gpkg", "fgb"])
def test_a_vn2000_download_is_in_vn2000(client: TestClient, tmp_path: Path, fmt: str) -> None:
    query = "crs=http://www.opengis.net/def/crs/EPSG/0/9210"
    response = client.get(f"/collections/admin_units/items?f={fmt}&{query}")
    assert response.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/9210>"
    frame = read_back(response.content, "admin_units", fmt, tmp_path)
    if fmt == "shp":  # a .prj holds no EPSG code: its projection says it (TM-3 at 105°45′ on VN-2000)
        prj = zipfile.ZipFile(io.BytesIO(response.content)).read("admin_units.prj").decode()
        assert "VN_2000" in prj and "105.75" in prj
        assert frame.crs.equals(CRS.from_epsg(9210), ignore_axis_order=True) or \
            frame.crs.to_epsg(min_confidence=70) == 9210
    else:
        assert frame.crs.to_epsg() == 9210
    # the same coordinates as the items in EPSG:9210 (both transformed with EPSG:6960): within a millimetre
    assert_same_features(frame, items(client, "admin_units", query), tolerance=1e-3, ordered=fmt != "fgb")


def test_geojson_and_csv_downloads_hold_the_whole_selection(client: TestClient, tmp_path: Path) -> None:
    every = items(client, "use_rules")
    assert len(every) > 10  # more than one default page
    geojson = client.get("/collections/use_rules/items?f=geojson&download=true").json()
    assert [f["id"] for f in geojson["features"]] == [f["id"] for f in every]
    assert [f["properties"]["note_vi"] for f in geojson["features"]] == [f["properties"]["note_vi"] for f in every]
    assert [f["properties"]["inferred"] for f in geojson["features"]] == [f["properties"]["inferred"] for f in every]
    rows = list(csv.DictReader(io.StringIO(download(client, "zones", "csv").decode())))
    zones = items(client, "zones")
    assert [int(r["id"]) for r in rows] == [f["id"] for f in zones]
    assert [r["name_vi"] for r in rows] == [f["properties"]["name_vi"] for f in zones]
    for row, feature in zip(rows, zones, strict=True):
        assert np.allclose(coordinates(shapely.from_wkt(row["WKT"])), coordinates(shape(feature["geometry"])),
                           rtol=0, atol=1e-7)
    # a layer without geometry downloads too (every format that holds a table)
    frame = read_back(download(client, "use_rules", "gpkg"), "use_rules", "gpkg", tmp_path)
    assert [int(v) for v in frame["id"]] == [f["id"] for f in every]
    assert list(frame["inferred"]) == [f["properties"]["inferred"] for f in every]


def test_a_filtered_download_has_exactly_the_filtered_features(client: TestClient, tmp_path: Path) -> None:
    query = ("filter=level%20%3D%20%27district%27%20AND%20name_vi%20LIKE%20%27%25%C4%90%E1%BB%A9c%25%27"
             "&bbox=105.5,10.4,106.9,11.1&sortby=-code&properties=code,name_vi,level")
    filtered = items(client, "admin_units", query)
    assert 0 < len(filtered) < 16
    for fmt in ("gpkg", "fgb", "shp"):
        frame = read_back(download(client, "admin_units", fmt, query), "admin_units", fmt, tmp_path)
        assert_same_features(frame, filtered)
        assert set(frame.columns) == {"id", "code", "name_vi", "level", "geometry"}  # properties= applies
    by_value = items(client, "admin_units", "level=province")
    frame = read_back(download(client, "admin_units", "gpkg", "level=province"), "admin_units", "gpkg", tmp_path)
    assert len(by_value) == 1
    assert_same_features(frame, by_value)
    dated = items(client, "projects", "datetime=2030-01-01/..")
    frame = read_back(download(client, "projects", "fgb", "datetime=2030-01-01/.."), "projects", "fgb", tmp_path)
    assert 0 < len(dated) < len(items(client, "projects"))
    assert sorted(int(v) for v in frame["id"]) == [f["id"] for f in dated]
    # `limit` caps a download (here: the first three in the sort order), paging does not apply
    frame = read_back(download(client, "admin_units", "gpkg", "sortby=code&limit=3"), "admin_units", "gpkg",
                      tmp_path)
    assert list(frame["code"]) == [f["properties"]["code"] for f in items(client, "admin_units", "sortby=code")][:3]


def test_accept_asks_for_a_download_and_pages_stay_pages(client: TestClient, tmp_path: Path) -> None:
    fgb = download(client, "zones", "fgb", Accept="application/flatgeobuf")
    assert len(read_back(fgb, "zones", "fgb", tmp_path)) == 6
    for accept in ("application/x-shapefile", "application/zip", "application/geopackage+sqlite3"):
        response = client.get("/collections/zones/items", headers={"Accept": accept})
        assert response.headers["content-disposition"].startswith("attachment"), accept
    # geo+json and csv are pages unless a download is asked for; a page type listed first wins
    page = client.get("/collections/zones/items?limit=2", headers={"Accept": "application/geo+json"})
    assert page.json()["numberReturned"] == 2 and "content-disposition" not in page.headers
    page = client.get("/collections/zones/items?limit=2",
                      headers={"Accept": "text/html, application/geopackage+sqlite3;q=0.5"})
    assert page.headers["content-type"].startswith("text/html")
    preferred = client.get("/collections/zones/items",
                           headers={"Accept": "application/geo+json;q=0.5, application/flatgeobuf"})
    assert preferred.headers["content-type"] == "application/flatgeobuf"
    as_csv = client.get("/collections/zones/items?download=true", headers={"Accept": "text/csv"})
    assert as_csv.headers["content-disposition"] == 'attachment; filename="zones.csv"'
    assert len(list(csv.DictReader(io.StringIO(as_csv.text)))) == 6
    paged_csv = client.get("/collections/zones/items?limit=2", headers={"Accept": "text/csv"})
    assert "content-disposition" not in paged_csv.headers and len(paged_csv.text.strip().splitlines()) == 3


def test_bad_download_requests_are_400_problems(client: TestClient) -> None:
    body = assert_problem(client.get("/collections/zones/items?f=xlsx"), 400, "f")
    assert "gpkg" in body["detail"] and "shp" in body["detail"]
    assert_problem(client.get("/collections/zones/items?f=html&download=true"), 400, "f")
    body = assert_problem(client.get("/collections/projects/items?f=shp"), 400, "f")
    assert "mixes geometry types" in body["detail"]
    for fmt in ("fgb", "shp"):  # a table has no geometry for them to hold
        body = assert_problem(client.get(f"/collections/use_rules/items?f={fmt}"), 400, "f")
        assert body["detail"] == "f: use_rules has no geometry; download it as gpkg, geojson, csv"
    assert_problem(client.get("/collections/zones/items?f=gpkg&cursor=abc"), 400, "cursor")
    assert_problem(client.get("/collections/zones/items?f=gpkg&filter=nope%3D1"), 400, "filter")
    assert_problem(client.get("/collections/zones/items?f=gpkg&crs=EPSG:1234"), 400, "crs")
    assert_problem(client.get("/collections/zones/items?f=gpkg&download=maybe"), 400, "download")
    # a value PostgreSQL refuses while the rows are read is the client's mistake too
    body = assert_problem(client.get("/collections/admin_units/items?f=fgb&filter=1%2F0%3D1"), 400)
    assert "division by zero" in body["detail"]


def test_the_collection_links_its_downloads(client: TestClient) -> None:
    links = [link for link in client.get("/collections/zones").json()["links"] if link["rel"] == "enclosure"]
    assert {link["type"] for link in links} == set(MEDIA.values())
    assert all(link["title"].startswith("Download all features as ") for link in links)
    for link in links:  # every link is a working download of the whole collection
        response = client.get(link["href"])
        assert response.status_code == 200 and response.headers["content-type"].split(";")[0] == link["type"]
        assert response.headers["content-disposition"].startswith("attachment")
    projects = client.get("/collections/projects").json()["links"]
    assert "application/zip" not in {link["type"] for link in projects if link["rel"] == "enclosure"}
    page = client.get("/collections/zones?f=html").text
    for link in links:  # in the Download list (and the links table)
        href = link["href"].replace("&", "&amp;")
        assert f'<a href="{href}" type="{link["type"]}" download>{link["title"]}</a>' in page


@pytest.fixture()
def limited(db_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    from app.main import create_app

    folder = tmp_path / "downloads"
    settings: Settings = make_settings(db_url, tmp_path, download_max_features=10, download_tmp_dir=folder,
                                       download_concurrency=1)
    with TestClient(create_app(settings)) as test_client:
        yield test_client, folder


def test_beyond_the_maximum_is_a_413_problem(limited: tuple[TestClient, Path]) -> None:
    client, folder = limited
    body = assert_problem(client.get("/collections/admin_units/items?f=gpkg"), 413)
    assert "more than 10 features" in body["detail"]
    assert_problem(client.get("/collections/use_rules/items?f=csv&download=true"), 413)
    # within the maximum: a filter, or a limit
    assert client.get("/collections/admin_units/items?f=gpkg&level=province").status_code == 200
    assert client.get("/collections/admin_units/items?f=fgb&limit=10").status_code == 200
    assert_problem(client.get("/collections/admin_units/items?f=fgb&limit=11"), 413)
    # pages are not downloads: the items maximum is not this one
    assert client.get("/collections/admin_units/items?limit=16").json()["numberReturned"] == 16
    assert list(folder.iterdir()) == []  # every temporary file is gone, sent or refused
    limiter = client.app.state.download_limiter  # type: ignore[attr-defined]
    assert (limiter.total_tokens, limiter.borrowed_tokens) == (1, 0)  # one at a time, and given back


def test_temporary_files_go_when_the_client_leaves(limited: tuple[TestClient, Path]) -> None:
    """The whole app, called as a server would: a client gone before the file is made stops the export (499 in
    the log); a client gone while it is sent (`send` fails, as ASGI 2.4 servers do) — both leave no file."""
    client, folder = limited

    async def call(receive_disconnect: bool, fail_after: int | None) -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []
        scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1",
                 "method": "GET", "scheme": "http", "path": "/collections/zones/items", "raw_path": b"",
                 "query_string": b"f=gpkg", "root_path": "", "headers": [(b"host", b"testserver")],
                 "client": ("127.0.0.1", 1), "server": ("testserver", 80), "state": {}}
        request_sent = False

        async def receive() -> dict[str, Any]:
            nonlocal request_sent
            if request_sent or receive_disconnect:
                return {"type": "http.disconnect"}
            request_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if fail_after is not None and message["type"] == "http.response.body" and len(sent) > fail_after:
                raise OSError("client disconnected")
            sent.append(message)

        with contextlib.suppress(OSError):  # the failed send, raised again once the folder is gone
            await client.app(scope, receive, send)  # type: ignore[arg-type]
        return sent

    gone_before = client.portal.call(call, True, None)  # type: ignore[union-attr]
    assert gone_before[0]["status"] == 499 and list(folder.iterdir()) == []
    gone_during = client.portal.call(call, False, 1)  # type: ignore[union-attr]
    assert gone_during[0]["status"] == 200 and len(gone_during) == 2  # the headers and one chunk, then it failed
    assert list(folder.iterdir()) == []
    complete = client.portal.call(call, False, None)  # type: ignore[union-attr]
    assert complete[0]["status"] == 200 and not complete[-1].get("more_body", False)
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("fmt", ["gpkg", "fgb", "shp"])
def test_gdal_reads_a_download_url_itself(client: TestClient, live_server_url: str, fmt: str) -> None:
    """geopandas given the URL (GDAL's /vsicurl/, as QGIS opens a URL): GDAL asks for ranges of the file; each
    request makes the file anew, so LAPIS answers with the whole file, and GDAL reads that."""
    frame = gpd.read_file(f"{live_server_url}/collections/admin_units/items?f={fmt}", engine="pyogrio")
    assert_same_features(frame, items(client, "admin_units"), ordered=fmt != "fgb")
    ranged = client.get("/collections/admin_units/items?f=gpkg", headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 200 and len(ranged.content) == int(ranged.headers["content-length"]) > 100
    assert "accept-ranges" not in ranged.headers and "etag" not in ranged.headers


@pytest.fixture(scope="module")
def parcels_server(make_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[tuple[str, Path]]:
    """A real server on a database of 40,000 parcels (a GeoJSON download of them is larger than the socket buffers
    between client and server), writing its downloads into a folder of its own."""
    from app.main import create_app

    url = make_database()
    load_parcels(url, synthetic_parcels(40_000, seed=10))
    tmp = tmp_path_factory.mktemp("parcel-downloads")
    folder = tmp / "downloads"
    with serve_in_thread(create_app(make_settings(url, tmp, download_tmp_dir=folder))) as base:
        yield base, folder


def _wait(condition: Callable[[], bool], seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_client_leaving_a_real_server_leaves_no_file(parcels_server: tuple[str, Path]) -> None:
    base, folder = parcels_server
    host, port = base.removeprefix("http://").split(":")
    request = b"GET /collections/parcels/items?f=geojson&download=true HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    # gone while the file is sent: the headers and the first bytes read, then the connection closed
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(request)
        head = sock.recv(65536)
        assert head.startswith(b"HTTP/1.1 200"), head[:200]
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")))
        assert length > 8_000_000  # more than the socket buffers hold: the server is still sending
        assert any(folder.iterdir())  # the file being sent
    assert _wait(lambda: not any(folder.iterdir())), list(folder.iterdir())
    # gone while the file is made
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(request)
        assert _wait(lambda: any(folder.iterdir()))
    assert _wait(lambda: not any(folder.iterdir())), list(folder.iterdir())
    # the server still answers
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 200")


def test_lapis_load_of_a_download_puts_the_same_features_back(client: TestClient, fresh_db_url: str,
                                                              tmp_path: Path) -> None:
    from spatial.io.loader import LoadOptions, load

    path = tmp_path / "admin_units.gpkg"
    path.write_bytes(download(client, "admin_units", "gpkg"))
    report = load(fresh_db_url, path, LoadOptions(layer="admin_units", mode="upsert", key="code"))
    assert report.unchanged == 16 and any("id" in warning for warning in report.warnings)  # the id: not a column
