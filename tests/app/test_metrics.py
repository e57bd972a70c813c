from __future__ import annotations

import re
from pathlib import Path

import psycopg
from fastapi.testclient import TestClient

from app.main import create_app
from spatial.tiles.grid import lonlat_to_tile
from tests.helpers import make_settings

TAN_AN = (106.413, 10.535)


def sample(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", text, re.M)
    assert match, f"{name}{labels} missing from:\n{text}"
    return float(match.group(1))


def test_metrics_report_layers_versions_pool_and_tile_cache(fresh_db_url: str, tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(fresh_db_url, tmp_path))) as client:
        first = client.get("/metrics")
        assert first.status_code == 200
        assert first.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert "# TYPE lapis_layer_features gauge" in first.text
        assert sample(first.text, "lapis_layer_features", '{layer="admin_units"}') == 16
        assert sample(first.text, "lapis_db_pool_connections", '{state="open"}') >= 1
        zones_version = sample(first.text, "lapis_layer_data_version", '{layer="zones"}')

        tile = lonlat_to_tile(*TAN_AN, 9)
        client.get(f"/collections/zones/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}")
        client.get(f"/collections/zones/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}")
        with psycopg.connect(fresh_db_url) as conn:
            conn.execute("UPDATE zones SET name_en = name_en || ' (edited)' WHERE code = 'C1'")

        second = client.get("/metrics").text
        assert sample(second, "lapis_tile_cache_misses_total") >= 1
        assert sample(second, "lapis_tile_cache_hits_total") >= 1
        assert sample(second, "lapis_layer_data_version", '{layer="zones"}') > zones_version
