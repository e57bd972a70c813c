"""The app with a real read replica (`lapis db replica create` of a primary of the tests' own): items and planner
queries read from the replica, tiles never show data older than the versions they are cached under, and a
replica stopped in the middle of traffic leaves the reads to the primary (no 500, service goes on)."""

from __future__ import annotations

import http.client
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from spatial import migrate
from spatial.embedded import free_port
from spatial.tiles.grid import lonlat_to_tile
from tests.helpers import make_settings
from tests.replica_pair import LAPIS, Pair, execute, replica_pair, wait_for

TAN_AN = (106.413, 10.535)
TILE = lonlat_to_tile(*TAN_AN, 10)
TILE_PATH = f"/collections/zones/tiles/WebMercatorQuad/{TILE.z}/{TILE.y}/{TILE.x}"
ITEMS = "/collections/zones/items?limit=100"


def add_zone(url: str, code: str, dx: float = 0.0) -> None:
    execute(url, "INSERT INTO zones (code, name_vi, name_en, kind, geom) VALUES (%s, %s, %s, 'region', "
                 "ST_Multi(ST_Buffer(ST_SetSRID(ST_Point(%s, %s), 4326), 0.02)))",
            code, f"Vùng {code}", f"Zone {code}", TAN_AN[0] + dx, TAN_AN[1])


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    """A migrated primary, with one zone, and its replica."""
    def prepare(url: str) -> None:
        migrate.upgrade(url)
        add_zone(url, "REP-A")

    with replica_pair(prepare) as made:
        yield made


def codes(response: object) -> list[str]:
    return sorted(f["properties"]["code"] for f in response.json()["features"])  # type: ignore[attr-defined]


def tile_codes(body: bytes) -> list[str]:
    return sorted(f["properties"]["code"] for f in mapbox_vector_tile.decode(body)["zones"]["features"]) if body else []


def test_reads_go_to_the_replica_and_tiles_never_show_older_data(pair: Pair, tmp_path: Path) -> None:
    wait_for(lambda: execute(pair.replica_url, "SELECT count(*) FROM zones") == [(1,)], "REP-A on the replica")
    # a commit replayed since the base backup: until then a replica that has received WAL it has not replayed has
    # no measurable lag (no last replayed commit) and counts as lagging — whether it has, when REP-B is added
    # below, would otherwise depend on how soon the primary's WAL writer sends that commit
    execute(pair.primary_url, "SELECT pg_current_xact_id()")
    wait_for(lambda: execute(pair.replica_url, "SELECT pg_last_xact_replay_timestamp() IS NOT NULL") == [(True,)],
             "a commit replayed on the replica")
    settings = make_settings(pair.primary_url, tmp_path, replica_urls=pair.replica_url, replica_max_lag_ms=600_000)
    with TestClient(create_app(settings)) as client:
        assert codes(client.get(ITEMS)) == ["REP-A"]
        assert tile_codes(client.get(TILE_PATH).content) == ["REP-A"]
        [replica] = client.get("/health/ready").json()["replicas"]
        assert replica["healthy"] is True
        pair.replay("pause")
        try:
            add_zone(pair.primary_url, "REP-B", dx=0.01)
            # the primary has REP-B: answers without it came from the (paused, still within the lag bound) replica
            assert codes(client.get(ITEMS)) == ["REP-A"]
            assert [r["code"] for r in client.get("/search?q=REP").json()["results"]] == ["REP-A"]
            # a tile is keyed by the versions read on the primary: rendered where REP-B is, never without it
            tile = client.get(TILE_PATH)
            assert tile_codes(tile.content) == ["REP-A", "REP-B"]
            assert 'lapis_replica_healthy{replica="' in client.get("/metrics").text
        finally:
            pair.replay("resume")
        wait_for(lambda: codes(client.get(ITEMS)) == ["REP-A", "REP-B"], "the replica caught up")


def traffic(port: int, stop: threading.Event, seen: Counter[int]) -> None:
    """Reads on a keep-alive connection (a new one after an error) until `stop`, counting the statuses."""
    paths = [ITEMS, "/search?q=REP", f"/locate?lon={TAN_AN[0]}&lat={TAN_AN[1]}",
             f"/tiles/WebMercatorQuad/{TILE.z}/{TILE.y}/{TILE.x}"]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    n = 0
    while not stop.is_set():
        try:
            conn.request("GET", paths[n % len(paths)])
            response = conn.getresponse()
            response.read()
            seen[response.status] += 1
        except OSError:
            seen[0] += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        n += 1
    conn.close()


def test_a_replica_stopped_mid_traffic_leaves_the_reads_to_the_primary(pair: Pair, tmp_path: Path) -> None:
    port = free_port()
    env = {**pair.env, "DATABASE_URL": pair.primary_url, "LAPIS_DATA_DIR": str(tmp_path),
           "LAPIS_REPLICA_URLS": pair.replica_url, "LAPIS_REPLICA_CHECK_INTERVAL_MS": "200",
           "LAPIS_ACCESS_LOG": "off"}
    server = subprocess.Popen([*LAPIS, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=(tmp_path / "server.log").open("wb"))
    stop, seen = threading.Event(), Counter[int]()
    threads = [threading.Thread(target=traffic, args=(port, stop, seen)) for _ in range(4)]
    try:
        wait_for(lambda: _answers(port), "lapis serve answered", 60)
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        before = sum(seen.values())
        stopped = pair.lapis("db", "replica", "stop", "--port", str(pair.port))
        assert stopped.returncode == 0, stopped.stderr
        add_zone(pair.primary_url, "REP-C", dx=-0.01)  # only the primary can show this one now
        time.sleep(2)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", ITEMS)
        body = conn.getresponse().read().decode()
        assert '"REP-C"' in body, "reads after the stop come from the primary"
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=20)
        server.terminate()
        server.wait(timeout=30)
        pair.lapis("db", "replica", "start", "--port", str(pair.port))
    assert before > 20 and sum(seen.values()) > before + 20, seen  # traffic on both sides of the stop
    assert seen[500] == 0 and seen[0] == 0, seen
    assert seen[503] <= 8, f"only requests in flight at the stop may fail: {seen}"


def _answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/health/ready")
        return conn.getresponse().status == 200
    except OSError:
        return False
