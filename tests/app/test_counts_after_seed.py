"""Counts right after set-up: seeding leaves every bundled layer analyzed (a planner row estimate, not -1), so
the items of a small layer carry `numberMatched` from the very first request — no VACUUM ANALYZE needed (the
test template runs one; this database is migrated and seeded on its own)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from spatial import migrate
from spatial.embedded import EmbeddedCluster
from spatial.seed import bundled_files, seed
from tests.helpers import BUNDLED_DATA, make_settings

DATABASE = "lapis_just_seeded"


@pytest.fixture()
def just_seeded(cluster: EmbeddedCluster) -> Iterator[str]:
    port = cluster.status().port
    admin = cluster.url(port, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    url = cluster.url(port, DATABASE)
    migrate.upgrade(url)
    seed(url, BUNDLED_DATA)
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def test_every_bundled_layer_has_a_row_estimate_right_after_seeding(just_seeded: str, tmp_path: Path) -> None:
    files = bundled_files(BUNDLED_DATA)
    assert len(files) >= 6
    with psycopg.connect(just_seeded) as conn:
        for layer, path in files:
            estimate = conn.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", (layer,)).fetchone()[0]
            assert estimate == len(json.loads(path.read_text())["features"]), layer
    with TestClient(create_app(make_settings(just_seeded, tmp_path))) as client:
        body = client.get("/collections/zones/items").json()
    assert body["numberMatched"] == 6 and body["numberReturned"] == 6
