"""Slow queries hold every connection of one pool: health, readiness and the other pools' routes still answer
at once, and a request that cannot get a connection in time is a 503 with Retry-After, not a hang."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient

from app.main import create_app
from spatial.pool import Database, PoolTimeout
from spatial.tiles.grid import lonlat_to_tile
from tests.helpers import assert_problem, make_settings

TAN_AN = (106.413, 10.535)
SLOW_S = 4
ACQUIRE_TIMEOUT_MS = 400


def timed(call: Callable[[], object]) -> tuple[object, float]:
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


@contextmanager
def slow_queries(client: TestClient, db: Database, count: int) -> Iterator[list[Future[str]]]:
    """`count` concurrent `SELECT pg_sleep` through `db`'s pool, in the app's own event loop; yields once the
    pool's connections are all held (the rest are waiting for one)."""

    async def hold() -> str:
        try:
            async with db.acquire() as conn:
                await conn.execute(f"SELECT pg_sleep({SLOW_S})")
            return "held"
        except PoolTimeout:
            return "timed out"

    assert client.portal is not None
    futures = [client.portal.start_task_soon(hold) for _ in range(count)]
    deadline = time.monotonic() + 10
    while db.connections() != (db.max_size, 0):
        assert time.monotonic() < deadline, f"the pool never filled: {db.connections()}"
        time.sleep(0.02)
    yield futures
    for future in futures:
        future.result(timeout=SLOW_S + 10)


def test_twelve_slow_queries_in_the_api_pool_leave_health_planner_and_tiles_alone(db_url: str,
                                                                                   tmp_path: Path) -> None:
    settings = make_settings(db_url, tmp_path, pool_max_size=10, pool_acquire_timeout_ms=ACQUIRE_TIMEOUT_MS)
    app = create_app(settings)
    tile = lonlat_to_tile(*TAN_AN, 10)
    with TestClient(app) as client:
        api = app.state.services.pools.api.primary
        assert client.get("/health/ready").status_code == 200  # the probe's connection is open
        with slow_queries(client, api, 12) as futures:
            for path in ("/health/ready", "/health/live", "/health"):
                response, elapsed = timed(lambda path=path: client.get(path))
                assert response.status_code == 200, (path, response.text)
                assert elapsed < 0.2, f"{path} took {elapsed * 1000:.0f} ms behind the API pool's slow queries"
            for path in (f"/locate?lon={TAN_AN[0]}&lat={TAN_AN[1]}", "/search?q=tan+an",
                         f"/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}"):
                response, elapsed = timed(lambda path=path: client.get(path))
                assert response.status_code == 200 and elapsed < 2, (path, response.status_code, elapsed)
            response, elapsed = timed(lambda: client.get("/collections/zones/items?limit=1"))
            body = assert_problem(response, 503)
            assert body["title"] == "Server busy" and response.headers["retry-after"] == "1"
            assert ACQUIRE_TIMEOUT_MS / 1000 <= elapsed < ACQUIRE_TIMEOUT_MS / 1000 + 1.5
        outcomes = sorted(f.result() for f in futures)
        assert outcomes == ["held"] * 10 + ["timed out"] * 2  # the two beyond the pool gave up, did not queue
        assert client.get("/collections/zones/items?limit=1").status_code == 200  # free again


def test_slow_planner_queries_leave_items_alone(db_url: str, tmp_path: Path) -> None:
    settings = make_settings(db_url, tmp_path, planner_pool_max_size=3, pool_acquire_timeout_ms=ACQUIRE_TIMEOUT_MS)
    app = create_app(settings)
    with TestClient(app) as client:
        planner = app.state.services.pools.planner.primary
        with slow_queries(client, planner, 12):
            response, elapsed = timed(lambda: client.get("/collections/zones/items?limit=2"))
            assert response.status_code == 200 and len(response.json()["features"]) == 2
            assert elapsed < 1
            response = client.post("/check?use=industrial", json={"type": "Point", "coordinates": list(TAN_AN)})
            assert_problem(response, 503)
            assert response.headers["retry-after"] == "1"
            metrics = client.get("/metrics").text
            assert 'lapis_pool_connections{pool="planner",state="open"} 3' in metrics
            assert 'lapis_pool_connections{pool="planner",state="idle"} 0' in metrics


def test_readiness_is_bounded_when_the_database_hangs(tmp_path: Path) -> None:
    """A server that accepts connections but never answers (a hung host, a full backlog): readiness says 503
    within its bound, liveness still 200."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # the kernel completes handshakes; nobody ever reads or answers
        url = f"postgresql://lapis@127.0.0.1:{silent.getsockname()[1]}/lapis"
        settings = make_settings(url, tmp_path, ready_timeout_ms=300)
        with TestClient(create_app(settings)) as client:
            for path in ("/health/ready", "/health"):
                response, elapsed = timed(lambda path=path: client.get(path))
                assert_problem(response, 503)
                assert response.headers["retry-after"] == "5"
                assert elapsed < 1, f"{path} took {elapsed:.2f} s"
            live = client.get("/health/live")
            assert live.status_code == 200 and live.json()["status"] == "alive"
