"""Parameters arrive parsed: each group is one dependency returning a typed value, checked as a group first."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.dependencies import CollectionSubset, crs_parameter, parse_collection_subset, tile_address
from app.negotiate import negotiate
from spatial.crs import CRS84, EPSG_URI
from spatial.errors import InvalidParameter
from spatial.layers import LAYERS
from spatial.tiles.grid import Tile, TileOutOfRange, UnknownTileMatrixSet, lonlat_to_tile

TAN_AN = (106.413, 10.535)


def _without_fast_path(app):
    from app.middleware import TileFastPath

    app.user_middleware = [m for m in app.user_middleware if m.cls is not TileFastPath]
    return app


def _problem(client: TestClient, path: str, status: int = 400) -> dict:
    r = client.get(path)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    return r.json()


@pytest.mark.parametrize("query", [
    "bbox-crs=http://www.opengis.net/def/crs/EPSG/0/3857",
    "bbox-crs=nope",  # not even a CRS: the pair is checked before either value is parsed
    "bbox-crs=EPSG:3857&sortby=nope&properties=nope&filter=(",  # before any other value is parsed
    "bbox-crs=EPSG:3857&nope=1",  # before property filters are looked up
])
def test_bbox_crs_without_bbox_is_refused_before_anything_else(client: TestClient, query: str) -> None:
    body = _problem(client, f"/collections/zones/items?{query}")
    assert body["parameter"] == "bbox-crs" and body["detail"] == "bbox-crs: given without bbox"


def test_bbox_crs_with_bbox_is_used(client: TestClient) -> None:
    r = client.get("/collections/zones/items?bbox=11846000,1178000,11850000,1182000&bbox-crs=EPSG:3857&limit=50")
    assert r.status_code == 200 and r.json()["features"]


def test_collection_subset_parses_once_for_route_and_fast_path() -> None:
    every = parse_collection_subset(None)
    composite = [layer.id for layer in LAYERS.tiled if layer.tiles and layer.tiles.in_composite]
    assert [layer.id for layer in every.layers] == composite and not every.named and every.param == ""
    assert parse_collection_subset("").layers == every.layers
    subset = parse_collection_subset(" axes , zones,,")
    assert isinstance(subset, CollectionSubset)
    # in the order asked, the leftmost at the bottom (OGC API – Tiles, /req/collections-selection/collections-response)
    assert [layer.id for layer in subset.layers] == ["axes", "zones"]
    assert subset.named and subset.param == "collections=axes,zones"
    with pytest.raises(InvalidParameter) as error:
        parse_collection_subset("zones,plans")  # plans has no geometry, so no tiles
    assert error.value.parameter == "collections" and "'plans'" in error.value.detail


@pytest.mark.parametrize("collections", ["", ",", " axes , zones,,", "zones,zones", "parcels", "zones,nope"])
def test_fast_path_and_route_agree_on_every_subset(settings, collections: str) -> None:
    from app.main import create_app

    tile = lonlat_to_tile(*TAN_AN, 13)
    path = f"/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}?collections={collections}"
    with TestClient(create_app(settings)) as fast, TestClient(_without_fast_path(create_app(settings))) as slow:
        same_id = {"X-Request-ID": "one-request-id"}  # problem documents carry the request id
        a, b = fast.get(path, headers=same_id), slow.get(path, headers=same_id)
        assert (a.status_code, a.content) == (b.status_code, b.content), path
        tilejson = f"/tiles/WebMercatorQuad/tilejson.json?collections={collections}"
        assert fast.get(tilejson, headers=same_id).content == slow.get(tilejson, headers=same_id).content


def test_tile_address_is_one_group() -> None:
    assert tile_address("WebMercatorQuad", "3", 2, 1) == Tile(3, 1, 2)
    with pytest.raises(UnknownTileMatrixSet) as unknown:
        tile_address("WorldCRS84Quad", "3", 2, 1)
    assert unknown.value.parameter == "tileMatrixSetId"
    with pytest.raises(TileOutOfRange) as outside:
        tile_address("WebMercatorQuad", "3", 8, 1)
    assert outside.value.parameter == "tileRow"
    for name in ("three", "\u0663", "1.5"):  # tile matrices are named by strings; these are zooms in ASCII digits
        with pytest.raises(InvalidParameter) as not_a_matrix:
            tile_address("WebMercatorQuad", name, 2, 1)
        assert not_a_matrix.value.parameter == "tileMatrix"
    for name in ("03", "25", "9" * 5000):  # numbers, but no tile matrix of the set is named so
        with pytest.raises(TileOutOfRange) as no_such_matrix:
            tile_address("WebMercatorQuad", name, 2, 1)
        assert no_such_matrix.value.parameter == "tileMatrix"


def test_crs_parameter() -> None:
    parse = crs_parameter("Output CRS", name="bbox-crs")
    assert parse(None).uri == CRS84
    assert parse("EPSG:9210").uri == EPSG_URI.format(9210)
    with pytest.raises(InvalidParameter) as error:
        parse("EPSG:1")
    assert error.value.parameter == "bbox-crs"


def test_negotiation() -> None:
    assert negotiate(None, "", ("geojson", "json", "csv")) == "geojson"
    assert negotiate("CSV", "", ("geojson", "json", "csv")) == "csv"
    assert negotiate(None, "text/csv", ("geojson", "json", "csv")) == "csv"
    assert negotiate(None, "text/html,application/xhtml+xml", ("json", "html")) == "html"
    assert negotiate(None, "text/html", ("geojson", "json", "csv")) == "geojson"
    with pytest.raises(InvalidParameter) as error:
        negotiate("xml", "text/html", ("json", "html"))
    assert error.value.parameter == "f"


def test_classify_and_the_api_document_share_the_negotiation(client: TestClient) -> None:
    fc = {"type": "FeatureCollection", "features": []}
    for path, allowed in (("/api", "json, html"), ("/collections", "json, html")):
        body = _problem(client, f"{path}?f=xml")
        assert body["parameter"] == "f" and body["detail"] == f"f: 'xml' is not offered here; use one of {allowed}"
    bad = client.post("/classify?f=xml", json=fc)
    assert bad.status_code == 400 and bad.json()["detail"].endswith("use one of geojson, json, csv")
    assert client.get("/api", headers={"Accept": "text/html"}).headers["content-type"].startswith("text/html")
    assert client.get("/api?f=json", headers={"Accept": "text/html"}).json()["openapi"] == "3.0.3"
    polygon = {"type": "Polygon", "coordinates": [[[106.40, 10.52], [106.42, 10.52], [106.42, 10.54],
                                                   [106.40, 10.54], [106.40, 10.52]]]}
    one = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": polygon}]}
    as_csv = client.post("/classify", json=one, headers={"Accept": "text/csv"})
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    as_json = client.post("/classify?f=json", json=one, headers={"Accept": "text/csv"})
    assert as_json.headers["content-type"].startswith("application/geo+json")


def _parameters(spec: dict, path: str, method: str = "get") -> dict[str, str | None]:
    """name -> description of an operation's parameters (shared ones, `$ref` to components, resolved)."""
    shared = spec.get("components", {}).get("parameters", {})
    params = [shared[p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p
              for p in spec["paths"][path][method].get("parameters", [])]
    return {p["name"]: p.get("description") for p in params}


def test_the_api_document_describes_the_parameters_as_before(client: TestClient) -> None:
    spec = client.get("/api").json()
    items = _parameters(spec, "/collections/{collectionId}/items")
    # … and `proposal` (issue 12: a proposal's preview) after them
    assert list(items) == ["collectionId", "limit", "bbox", "bbox-crs", "crs", "properties", "sortby", "filter",
                           "filter-lang", "filter-crs", "cursor", "numberMatched", "datetime", "asof", "revision", "f",
                           "download", "proposal"]
    assert items["bbox-crs"] == "CRS of bbox (default CRS84)"
    assert items["f"].startswith("A page: geojson (default), json, html, csv. A download of the whole selection: gpkg")
    assert items["download"].startswith("Download the whole selection as a file")
    assert items["datetime"].startswith("Instant or interval (RFC 3339")
    assert items["asof"].startswith("The plan as it stood at this instant (RFC 3339")
    assert items["revision"].startswith("The plan as a revision fixed it")
    item = _parameters(spec, "/collections/{collectionId}/items/{featureId}")
    assert set(item) == {"collectionId", "featureId", "crs", "f", "proposal", "asof"}
    assert item["crs"] == "Output CRS URI"
    # the OGC API – Tiles names (/req/core/tc-tilematrix-definition …), and the tile URL's data version
    tile = _parameters(spec, "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}")
    assert list(tile)[:5] == ["collectionId", "tileMatrixSetId", "tileMatrix", "tileRow", "tileCol"]
    assert sorted(list(tile)[5:]) == ["asof", "proposal", "v"]
    assert tile["tileRow"] == "Row of the tile in its tile matrix"
    assert _parameters(spec, "/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}")["collections"] == \
        "Subset: a,b,c"
    locate = _parameters(spec, "/locate")
    assert list(locate) == ["lon", "lat", "crs", "radius", "asof"]
    assert locate["crs"] == "CRS of lon/lat (OGC URI); default CRS84; e.g. EPSG 9210"
    assert _parameters(spec, "/classify", "post") == {"f": "geojson (default) or csv",
                                                      "crs": "CRS of the input when it does not say (OGC URI)"}
    # `f` is listed wherever it is honoured: a resource refuses the parameters its definition does not list
    assert _parameters(spec, "/collections")["f"] == "json | html"


def test_a_property_filter_outside_its_list_of_values_is_refused(client: TestClient) -> None:
    assert client.get("/collections/projects/items", params={"status": "planned"}).status_code == 200
    r = client.get("/collections/projects/items", params={"status": "AAA"})
    assert r.status_code == 400 and r.json()["parameter"] == "status" and "planned" in r.json()["detail"]


@pytest.mark.parametrize("path", ["/collections?f=json", "/me?f=json", "/collections/zones/items?f=json"])
def test_a_token_in_the_url_is_refused_before_other_unknown_parameters(client: TestClient, path: str) -> None:
    """Whichever resource, and whatever else it does not take (`/me` takes no `f`): the token is named, with why."""
    r = client.get(f"{path}&nope=1&access_token=abc")
    assert r.status_code == 400 and r.json()["parameter"] == "access_token"
    assert "never in the URL" in r.json()["detail"] and "abc" not in r.text
