"""The HTML pages (f=html): every link of the JSON twin, the data as stored (Vietnamese exact), hostile text
escaped, and the small map's wiring (the browser test in tests/browser draws it)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from app import html
from app.main import create_app
from spatial.layers import get_layer
from tests.helpers import make_settings

HOSTILE_NAME = '<script>alert("tên")</script> Vùng độc hại'
HOSTILE_NOTE = "<img src=x onerror=alert(1)>"


class Page(HTMLParser):
    """What a reader gets from a page: link targets, visible text, script sources, the map's data-* attributes."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: set[str] = set()
        self.scripts: list[str] = []
        self.inline_scripts = 0
        self.map: dict[str, str] | None = None
        self.chunks: list[str] = []
        self._in_script = False
        self.feed(text)
        self.text = " ".join(" ".join(self.chunks).split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if "href" in values:
            self.hrefs.add(values["href"])
        if tag == "script":
            self._in_script = True
            if "src" in values:
                self.scripts.append(values["src"])
            else:
                self.inline_scripts += 1
        if values.get("id") == "page-map":
            self.map = values

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if not self._in_script:
            self.chunks.append(data)
PAGE_MAP_SCRIPTS = ("vendor/maplibre-gl.js", "assets/bounds.js", "assets/page-map.js")  # served by the app


def get_page(client: TestClient, url: str) -> tuple[Page, str]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert unicodedata.is_normalized("NFC", response.text)
    return Page(response.text), response.text


def assert_links_shown(page: Page, links: list[dict[str, Any]], html_twin: dict[str, str] | None = None) -> None:
    """Each JSON link's href is a link on the page, with its rel, type and title shown. `html_twin` maps a JSON
    href to the href the HTML page carries instead (the same link asking for f=html)."""
    for link in links:
        href = (html_twin or {}).get(link["href"], link["href"])
        assert href in page.hrefs, (href, sorted(page.hrefs))
        for key in ("rel", "type", "title"):
            if link.get(key):
                assert link[key] in page.text, (key, link)


def test_landing_page(client: TestClient) -> None:
    body = client.get("/").json()
    page, _ = get_page(client, "/?f=html")
    assert_links_shown(page, body["links"])
    assert body["description"] in page.text
    for layer in body["layers"]:
        assert layer["title_vi"] in page.text
        assert f"http://testserver/collections/{layer['id']}/items?f=html" in page.hrefs
    assert page.map is None and page.scripts == []


def test_collections_page(client: TestClient) -> None:
    body = client.get("/collections").json()
    page, _ = get_page(client, "/collections?f=html")
    assert_links_shown(page, body["links"])
    for collection in body["collections"]:
        assert_links_shown(page, collection["links"])
        assert collection["description"] in page.text  # "Vùng và phân khu. The 3 socio-economic regions…"
    assert "Vùng và phân khu" in page.text and "Đơn vị hành chính" in page.text


def test_collection_page_has_links_and_a_map_of_its_items(client: TestClient) -> None:
    body = client.get("/collections/zones").json()
    page, _ = get_page(client, "/collections/zones?f=html")
    assert_links_shown(page, body["links"])
    assert body["description"] in page.text and body["geometryType"] in page.text
    assert page.map is not None
    assert page.map["data-src"] == f"http://testserver/collections/zones/items?f=json&limit={html.MAP_LIMIT}"
    assert [float(v) for v in page.map["data-bbox"].strip("[]").split(",")] == body["extent"]["spatial"]["bbox"][0]
    assert page.scripts == [f"http://testserver/map/{s}" for s in PAGE_MAP_SCRIPTS]
    assert page.inline_scripts == 0
    # the map's source answers, and everything the page loads is served by the app itself
    assert client.get(page.map["data-src"]).json()["type"] == "FeatureCollection"
    for src in page.scripts:
        assert client.get(src).status_code == 200
    assert client.get("/map/vendor/maplibre-gl.css").status_code == 200
    # a layer without geometry gets no map
    plans, _ = get_page(client, "/collections/plans?f=html")
    assert plans.map is None and plans.scripts == []


def test_items_page_lists_features_properties_and_links(client: TestClient) -> None:
    # sorted by category: the economic zone (a list-valued property) comes first, whatever order the ids have
    body = client.get("/collections/projects/items?limit=4&sortby=category&f=geojson").json()
    page, _ = get_page(client, "/collections/projects/items?limit=4&sortby=category&f=html")
    twin = {link["href"]: link["href"].replace("f=geojson", "f=html") for link in body["links"]
            if link["rel"] in ("next", "prev")}
    assert_links_shown(page, body["links"], twin)
    assert "next" in page.text and "Next page" in page.text
    assert len(body["features"]) == 4
    for feature in body["features"]:
        assert f"http://testserver/collections/projects/items/{feature['id']}?f=html" in page.hrefs
        for value in feature["properties"].values():
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                assert str(value) in page.text, value
            elif isinstance(value, list):
                assert ", ".join(value) in page.text, value
    names = [f["properties"]["name_vi"] for f in body["features"]]
    assert "Khu kinh tế cửa khẩu Long An" in names and ["Bình Hiệp", "Mỹ Quý Tây", "Long Khốt"] in [
        f["properties"].get("gates") for f in body["features"]]
    # the page's geometries on a map, fed with the same page as GeoJSON (OGC API – Features, /req/html/content)
    assert page.map is not None and "f=json" in page.map["data-src"] and "limit=4" in page.map["data-src"]
    plans, _ = get_page(client, "/collections/plans/items?f=html")
    assert plans.map is None  # no geometry, no map


def test_item_page_lists_properties_links_and_maps_the_geometry(client: TestClient) -> None:
    first = client.get("/collections/admin_units/items?limit=1").json()["features"][0]
    body = client.get(f"/collections/admin_units/items/{first['id']}?f=geojson").json()
    page, _ = get_page(client, f"/collections/admin_units/items/{first['id']}?f=html")
    assert_links_shown(page, body["links"])
    for key, value in body["properties"].items():
        assert key in page.text
        if value is not None:
            assert str(value) in page.text, value
    assert body["properties"]["name_vi"] in page.text  # e.g. "Long An" / "Thành phố Tân An", exact
    assert page.map is not None
    assert page.map["data-src"] == f"http://testserver/collections/admin_units/items/{first['id']}?f=json"
    assert client.get(page.map["data-src"]).json()["geometry"]["type"] == "MultiPolygon"
    assert page.scripts == [f"http://testserver/map/{s}" for s in PAGE_MAP_SCRIPTS]
    # asked in another CRS, the page shows that CRS's header but the map still fetches CRS84
    projected, _ = get_page(client, f"/collections/admin_units/items/{first['id']}?f=html&crs=EPSG:9210")
    assert projected.map is not None and "crs" not in projected.map["data-src"]


def test_conformance_and_queryables_pages(client: TestClient) -> None:
    classes = client.get("/conformance").json()["conformsTo"]
    page, _ = get_page(client, "/conformance?f=html")
    assert set(classes) <= page.hrefs
    schema = client.get("/collections/projects/queryables").json()
    page, _ = get_page(client, "/collections/projects/queryables?f=html")
    assert schema["$id"] in page.hrefs
    for name, entry in schema["properties"].items():
        assert name in page.text and entry["title"] in page.text


@pytest.fixture()
def hostile_client(fresh_db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """An app over a database copy holding a zone whose name and extra property are markup."""
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO zones (code, name_vi, kind, props, geom) VALUES (%s, %s, 'other', "
                     "jsonb_build_object('ghi_chú', %s::text), "
                     "ST_Multi(ST_MakeEnvelope(106.30, 10.50, 106.35, 10.55, 4326)))",
                     ("HOSTILE-1", HOSTILE_NAME, HOSTILE_NOTE))
    with TestClient(create_app(make_settings(fresh_db_url, tmp_path))) as client:
        yield client


def test_hostile_text_is_escaped_on_every_page(hostile_client: TestClient) -> None:
    feature = hostile_client.get("/collections/zones/items?code=HOSTILE-1").json()["features"][0]
    assert feature["properties"]["name_vi"] == HOSTILE_NAME
    for url in ("/collections/zones/items?code=HOSTILE-1&f=html", f"/collections/zones/items/{feature['id']}?f=html",
                "/collections/zones/items?f=html&limit=100"):
        page, raw = get_page(hostile_client, url)
        assert "<script>alert" not in raw and "<img src=x" not in raw
        assert "&lt;script&gt;alert(" in raw and "&lt;img src=x onerror=alert(1)&gt;" in raw
        assert HOSTILE_NAME in page.text and HOSTILE_NOTE in page.text  # shown as the text it is
        assert page.inline_scripts == 0


def _request(path: str = "/") -> Request:
    return Request({"type": "http", "method": "GET", "scheme": "http", "server": ("lapis.test", 80),
                    "path": path, "root_path": "", "query_string": b"", "headers": []})


def test_renderer_escapes_links_and_json_values_and_normalises_to_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Thành phố Tân An")
    assert decomposed != "Thành phố Tân An"
    links = [{"rel": "self", "type": "text/html", "title": '"><script>x()</script>',
              "href": 'http://lapis.test/a?b=1&c="2"'}]
    feature = orjson.dumps({"type": "Feature", "id": 7, "geometry": None, "properties": {
        "name_vi": decomposed, "extra": {"k": "</code><script>y()</script>"}, "url": "https://example.org/?q=<b>",
        "gates": ["Long Khốt", "<i>Mỹ Quý Tây</i>"]}})
    response = html.item_page(_request(), get_layer("plans"), feature, links)
    raw = response.body.decode()
    assert "<script>" not in raw and "</code><script>" not in raw
    assert "&lt;script&gt;x()&lt;/script&gt;" in raw and 'href="http://lapis.test/a?b=1&amp;c=&#34;2&#34;"' in raw
    assert "\\u003c/code\\u003e\\u003cscript\\u003ey()" in raw  # JSON values: tojson escapes < and >
    assert "<td>Long Khốt, &lt;i&gt;Mỹ Quý Tây&lt;/i&gt;</td>" in raw  # a list of names reads as text
    page = Page(raw)
    assert "Thành phố Tân An" in page.text and decomposed not in raw
    assert 'http://lapis.test/a?b=1&c="2"' in page.hrefs and "https://example.org/?q=<b>" in page.hrefs
    assert page.map is None and page.scripts == []  # no geometry, no map


def test_templates_ship_with_the_package() -> None:
    """The package-data glob `templates/**/*` in pyproject.toml names a real folder with every template."""
    import tomllib

    project = tomllib.loads((Path(html.__file__).parent.parent / "pyproject.toml").read_text())
    assert "templates/**/*" in project["tool"]["setuptools"]["package-data"]["app"]
    names = {p.name for p in html.TEMPLATES.glob("**/*") if p.is_file()}
    assert {"base.html", "macros.html", "landing.html", "collections.html", "collection.html", "items.html",
            "item.html", "conformance.html", "queryables.html"} <= names
    assert set(html.ENV.list_templates()) == names
