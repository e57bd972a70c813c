"""The database's postmaster killed with kill -9 under a running app: the app stays alive, answers 503 with
Retry-After (never 500, never a hang) while the database is gone, and serves again by itself once the cluster
is started again — with every committed row still there."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from fastapi.testclient import TestClient

from app.main import create_app
from spatial import migrate
from spatial.embedded import EmbeddedCluster
from spatial.tiles.grid import lonlat_to_tile
from tests.helpers import assert_problem, make_settings

TAN_AN = (106.413, 10.535)
TILE = lonlat_to_tile(*TAN_AN, 9)
READS = ("/collections/zones/items?limit=5", f"/tiles/WebMercatorQuad/{TILE.z}/{TILE.y}/{TILE.x}",
         f"/locate?lon={TAN_AN[0]}&lat={TAN_AN[1]}")
ZONE = ("INSERT INTO zones (code, name_vi, name_en, kind, geom) VALUES ('CRASH-1', 'Trước sự cố', 'Before the crash', "
        "'region', ST_Multi(ST_Buffer(ST_SetSRID(ST_Point(106.413, 10.535), 4326), 0.01)))")


def until(condition: Callable[[], bool], what: Callable[[], str], timeout_s: float = 30) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout_s, what()
        time.sleep(0.2)
    return time.monotonic() - started


def test_the_app_survives_a_postmaster_killed_with_sigkill(cluster_home: Path) -> None:
    # durable, as users run it (a throwaway cluster turns fsync and synchronous_commit off: a crash may lose
    # its last commits); still removed at the end
    cluster = EmbeddedCluster(cluster_home / ".data", "lapis", throwaway=False)
    try:
        url = cluster.start().url
        assert url
        migrate.upgrade(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(ZONE)  # committed before the crash
        settings = make_settings(url, cluster_home, pool_acquire_timeout_ms=2_000, ready_timeout_ms=500)
        with TestClient(create_app(settings)) as client:
            assert client.get("/health/ready").status_code == 200
            assert all(client.get(path).status_code == 200 for path in READS)

            cluster.kill()
            assert client.get("/health/live").status_code == 200  # the process is fine: no restart wanted
            started = time.perf_counter()
            assert_problem(client.get("/health/ready"), 503)
            assert time.perf_counter() - started < 1.5
            for path in READS:
                response = client.get(path)
                assert_problem(response, 503)
                assert response.headers["retry-after"]

            cluster.start()  # what `lapis db start` does; the app is not restarted
            took = until(lambda: client.get("/health/ready").status_code == 200, lambda: "ready again")
            statuses: list[int] = []

            def serving() -> bool:
                statuses[:] = [client.get(path).status_code for path in READS]
                return statuses == [200] * len(READS)

            until(serving, lambda: f"serving again: {statuses}")
            assert took < 30
            items = client.get("/collections/zones/items").json()["features"]
            assert [f["properties"]["code"] for f in items] == ["CRASH-1"]
    finally:
        cluster.destroy()
