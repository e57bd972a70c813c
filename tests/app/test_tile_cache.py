"""The tile cache invalidates itself: a plain-SQL edit shows up in the very next tile, with no restart."""

from __future__ import annotations

from pathlib import Path

import mapbox_vector_tile
import psycopg
from fastapi.testclient import TestClient

from app.main import create_app
from spatial.tiles.grid import lonlat_to_tile
from tests.helpers import make_settings

TAN_AN = (106.413, 10.535)


def _names(client: TestClient, url: str) -> set[str]:
    r = client.get(url, headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200
    return {f["properties"]["name_vi"] for f in mapbox_vector_tile.decode(r.content)["zones"]["features"]}


def test_plain_sql_edit_shows_in_next_tile(fresh_db_url: str, tmp_path: Path) -> None:
    settings = make_settings(fresh_db_url, tmp_path, tile_cache_dir=tmp_path / "tiles")
    tile = lonlat_to_tile(*TAN_AN, 10)
    url = f"/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}"
    with TestClient(create_app(settings)) as client:
        assert "Trung tâm Tân An" in _names(client, url)
        etag = client.get(url).headers["etag"]
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304  # served from the cache
        tiles_url = client.get("/tiles/WebMercatorQuad/tilejson.json").json()["tiles"][0]
        service = client.app.state.services.tiles
        hits = service.cache.hits

        with psycopg.connect(fresh_db_url, autocommit=True) as conn:
            conn.execute("UPDATE zones SET name_vi = 'Trung tâm mới' WHERE code = 'C1'")

        names = _names(client, url)
        assert "Trung tâm mới" in names and "Trung tâm Tân An" not in names
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 200
        assert client.get("/tiles/WebMercatorQuad/tilejson.json").json()["tiles"][0] != tiles_url
        # other layers' per-collection tiles are untouched by the zones edit: still a cache hit
        client.get(f"/collections/axes/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}")
        before = service.cache.hits
        client.get(f"/collections/axes/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}")
        assert service.cache.hits == before + 1 > hits

        with psycopg.connect(fresh_db_url, autocommit=True) as conn:
            conn.execute("DELETE FROM zones WHERE code = 'C1'")
        assert "Trung tâm mới" not in _names(client, url)

    # the on-disk cache serves a new process without touching the tile SQL (same versions)
    with TestClient(create_app(settings)) as client:
        client.get(url)
        assert client.app.state.services.tiles.cache.hits == 1


def test_cache_off(fresh_db_url: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LAPIS_TILE_CACHE", "off")
    from spatial.settings import Settings

    settings = Settings(database_url=fresh_db_url, data_dir=tmp_path)
    assert not settings.tile_cache_enabled
    tile = lonlat_to_tile(*TAN_AN, 9)
    with TestClient(create_app(settings)) as client:
        first = client.get(f"/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}")
        assert first.status_code == 200
        assert client.app.state.services.tiles.cache is None
        again = client.get(f"/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}",
                           headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304  # validators still work without a cache
        assert "x-data-version" not in first.headers  # no version read at all with the cache off
        url = f"/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}"
        assert "Trung tâm Tân An" in _names(client, url)
        with psycopg.connect(fresh_db_url, autocommit=True) as conn:
            conn.execute("UPDATE zones SET name_vi = 'Trung tâm mới' WHERE code = 'C1'")
        assert "Trung tâm mới" in _names(client, url)  # straight from the database, every time
