"""GDAL against a live LAPIS that logs every request it receives: Debian 12's gdal-bin (GDAL 3.6, `ogr2ogr` and
`ogrinfo` as subprocesses) and the current GDAL bundled in pyogrio's wheel (3.12, in a subprocess).

- OAPIF pages at the server's maximum by itself (GDAL >= 3.8 reads `limit`'s default and maximum from /api; GDAL
  3.6 always asks for 10 a page unless given `-oo PAGE_SIZE`, GDAL issue 8522);
- `-where` reaches the server as a CQL `filter` (both versions), so a filtered copy is a request or two;
- OGCAPI follows the tiles links: GDAL 3.12 reads features from the vector tiles; GDAL 3.6 follows every link but
  cannot read vector tiles at all (its Debian build leaves that code out: GDAL pull request 7993, fixed in 3.7.1),
  so there it reads the collection's features through `API=ITEMS`;
- the MVT driver opens a tile URL ending in `.pbf`.
The paging test uses a server with small pages (default 2, maximum 5) so that paging shows with the bundled data;
the others one with the default settings (GDAL types a layer's fields from the first page it reads).
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import mapbox_vector_tile
import pytest
from pyproj import Transformer
from starlette.types import ASGIApp, Receive, Scope, Send

from spatial.tiles.grid import lonlat_to_tile
from tests.helpers import make_settings, serve_in_thread

pytestmark = pytest.mark.skipif(shutil.which("ogr2ogr") is None, reason="gdal-bin is not installed")
DEFAULT_LIMIT, MAX_LIMIT = 2, 5
TILE = lonlat_to_tile(106.413, 10.535, 12)


class RequestLog:
    """ASGI middleware keeping (method, path, query) of every HTTP request the app receives."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.requests.append((scope["method"], scope["path"], parse_qs(scope["query_string"].decode("latin-1"))))
        await self.app(scope, receive, send)

    def mark(self) -> int:
        return len(self.requests)

    def paths(self, since: int) -> list[str]:
        return [path for _, path, _ in self.requests[since:]]

    def items(self, since: int, layer_id: str) -> list[dict[str, list[str]]]:
        """The queries of the items requests of a collection since `since`."""
        return [query for _, path, query in self.requests[since:] if path == f"/collections/{layer_id}/items"]


def _serve(db_url: str, folder: Path, **settings: Any) -> Iterator[tuple[str, RequestLog]]:
    from app.main import create_app

    log = RequestLog(create_app(make_settings(db_url, folder, **settings)))
    with serve_in_thread(log) as url:
        yield url, log


@pytest.fixture(scope="module")
def small_pages(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, RequestLog]]:
    yield from _serve(db_url, tmp_path_factory.mktemp("gdal-small"), items_default_limit=DEFAULT_LIMIT,
                      items_max_limit=MAX_LIMIT)


@pytest.fixture(scope="module")
def server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, RequestLog]]:
    yield from _serve(db_url, tmp_path_factory.mktemp("gdal-app"))


def _run(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def _current_gdal(script: str) -> Any:
    """Run `script` (which prints one JSON value) with pyogrio's GDAL in a fresh interpreter."""
    return json.loads(_run(sys.executable, "-c", "import json, pyogrio\n" + script).strip().splitlines()[-1])


def _codes(url: str, layer_id: str, **params: str) -> list[str]:
    """Every feature's code through the API itself, following the next links."""
    codes: list[str] = []
    next_url: str | None = f"{url}/collections/{layer_id}/items"
    query: dict[str, str] | None = {"limit": str(MAX_LIMIT), **params}
    while next_url:
        page = httpx.get(next_url, params=query).json()
        codes += [f["properties"]["code"] for f in page["features"]]
        next_url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
        query = None
    return sorted(codes)


def test_current_gdal_pages_at_the_servers_maximum(small_pages: tuple[str, RequestLog]) -> None:
    url, log = small_pages
    expected = _codes(url, "projects")
    mark = log.mark()
    codes = _current_gdal(f"df = pyogrio.read_dataframe('OAPIF:{url}', layer='projects')\n"
                          "print(json.dumps(sorted(df['code'])))")
    assert codes == expected and len(codes) > 2 * MAX_LIMIT
    limits = [query["limit"] for query in log.items(mark, "projects")]
    # one request for the layer's schema, then pages of the maximum: not pages of 10 (or of the default, 2)
    assert limits[1:] == [[str(MAX_LIMIT)]] * math.ceil(len(codes) / MAX_LIMIT), limits
    assert len(limits) == 1 + math.ceil(len(codes) / MAX_LIMIT)


@pytest.mark.parametrize(("layer_id", "where", "cql2", "key"), [
    ("projects", "category = 'ring_road' AND start_year >= 2020", "category = 'ring_road' AND start_year >= 2020",
     "code"),
    ("zones", "kind = 'region' AND code <> 'R2'", "kind = 'region' AND code <> 'R2'", "code"),
    ("zones", "name_vi ILIKE '%TRUNG%'", "CASEI(name_vi) LIKE CASEI('%TRUNG%')", "code"),
    ("plans", "decision_date = '2023-06-13'", "decision_date = DATE('2023-06-13')", "decision_no"),
])
def test_debian_gdal_sends_where_to_the_server(server: tuple[str, RequestLog], tmp_path: Path, layer_id: str,
                                               where: str, cql2: str, key: str) -> None:
    url, log = server
    expected = httpx.get(f"{url}/collections/{layer_id}/items", params={"filter": cql2, "limit": 100}).json()
    expected_values = sorted(f["properties"][key] for f in expected["features"])
    assert expected_values and len(expected_values) < 10
    mark = log.mark()
    out = tmp_path / "out.geojson"
    _run("ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{url}", layer_id, "-where", where)
    got = sorted(f["properties"][key] for f in json.loads(out.read_text())["features"])
    assert got == expected_values
    requests = log.items(mark, layer_id)
    filtered = [query for query in requests if "filter" in query]
    assert filtered, requests
    for query in filtered:
        assert query["filter-lang"] == ["cql-text"]
        for word in where.replace("'", " ").split():
            if word.isidentifier() and word.upper() not in {"AND", "ILIKE"}:
                assert word in query["filter"][0], (word, query)
    assert len(requests) <= 2  # the schema probe, then one filtered page — never the whole layer


def test_current_gdal_sends_where_to_the_server(server: tuple[str, RequestLog]) -> None:
    url, log = server
    mark = log.mark()
    codes = _current_gdal(f"df = pyogrio.read_dataframe('OAPIF:{url}', layer='zones', "
                          "where=\"kind = 'region' AND code <> 'R2'\")\nprint(json.dumps(sorted(df['code'])))")
    assert codes == ["R1", "R3"]
    filtered = [query for query in log.items(mark, "zones") if "filter" in query]
    assert len(filtered) == 1 and "kind = 'region'" in filtered[0]["filter"][0]


def test_current_gdal_reads_the_vector_tiles(server: tuple[str, RequestLog]) -> None:
    """GDAL's OGCAPI driver reads the collection's tileset, the tile matrix set and MVT tiles. GDAL takes the
    collection's CRS84 bbox as TMS coordinates, so for WebMercatorQuad the extent is given in EPSG:3857."""
    url, log = server
    bbox = httpx.get(f"{url}/collections/zones").json()["extent"]["spatial"]["bbox"][0]
    to_3857 = Transformer.from_crs(4326, 3857, always_xy=True)
    (minx, maxx), (miny, maxy) = to_3857.transform([bbox[0], bbox[2]], [bbox[1], bbox[3]])
    mark = log.mark()
    opts = f"API='TILES', VECTOR_FORMAT='MVT', MINX={minx}, MINY={miny}, MAXX={maxx}, MAXY={maxy}"
    result = _current_gdal(
        f"url = 'OGCAPI:{url}/collections/zones'\n"
        f"df = pyogrio.read_dataframe(url, layer='Zoom level 8', {opts})\n"
        "print(json.dumps({'codes': sorted(set(df['code'])), 'kinds': sorted(set(df['kind']))}))")
    assert {"R1", "R2", "R3", "C1"} <= set(result["codes"]) and "region" in result["kinds"]
    paths = log.paths(mark)
    for expected in ("/collections/zones", "/collections/zones/tiles", "/collections/zones/tiles/WebMercatorQuad",
                     "/tileMatrixSets/WebMercatorQuad"):
        assert expected in paths
    assert any(p.startswith("/collections/zones/tiles/WebMercatorQuad/8/") for p in paths)


def test_debian_gdal_follows_the_tile_links_and_reads_items(server: tuple[str, RequestLog]) -> None:
    url, log = server
    mark = log.mark()
    subprocess.run(["ogrinfo", "-ro", "-so", f"OGCAPI:{url}/collections/zones", "-oo", "API=TILES"],
                   capture_output=True, text=True, timeout=180)  # GDAL 3.6 cannot go on to read MVT (see above)
    assert log.paths(mark)[:4] == ["/collections/zones", "/collections/zones/tiles",
                                   "/collections/zones/tiles/WebMercatorQuad", "/tileMatrixSets/WebMercatorQuad"]
    out = _run("ogrinfo", "-ro", "-al", "-so", f"OGCAPI:{url}/collections/zones", "-oo", "API=ITEMS")
    assert f"Feature Count: {len(_codes(url, 'zones'))}" in out


def test_debian_gdal_opens_a_pbf_tile_url(server: tuple[str, RequestLog]) -> None:
    url, _ = server
    tile_url = f"{url}/collections/zones/tiles/WebMercatorQuad/{TILE.z}/{TILE.y}/{TILE.x}.pbf"
    out = _run("ogrinfo", "-ro", "-al", tile_url)
    assert "using driver `MVT' successful" in out and "Layer name: zones" in out
    decoded = mapbox_vector_tile.decode(httpx.get(tile_url, headers={"Accept-Encoding": "identity"}).content)
    for feature in decoded["zones"]["features"]:
        assert f"code (String) = {feature['properties']['code']}" in out
    assert f"Feature Count: {len(decoded['zones']['features'])}" in out


def test_debian_gdal_types_fields_from_the_feature_schema(server: tuple[str, RequestLog], tmp_path: Path) -> None:
    """GDAL guesses a field's type from the first page unless the collection links a schema: the first projects
    (border gates) have no start year and whole lengths, which would make start_year text and length_km integer."""
    url, log = server
    mark = log.mark()
    info = _run("ogrinfo", "-so", f"OAPIF:{url}", "projects")
    assert "start_year: Integer" in info and "length_km: Real" in info and "investment_vnd_bn: Real" in info
    assert log.paths(mark).count("/collections/projects/schema") == 1
    out = tmp_path / "projects.geojson"
    _run("ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{url}", "projects", "-where", "code = 'DA-VD3'")
    [feature] = json.loads(out.read_text())["features"]
    assert feature["properties"]["length_km"] == 6.84 and feature["properties"]["start_year"] == 2023
