"""`lapis serve --workers 2`, as users run it: the workers share the tile cache on disk, an edit made with plain
SQL shows in the next tile of every worker, every request is in the access log, and a worker killed with
kill -9 is replaced by uvicorn's master while the other one goes on serving."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import mapbox_vector_tile
import psycopg
import pytest

from spatial.embedded import free_port
from spatial.tiles.grid import lonlat_to_tile

TAN_AN = (106.413, 10.535)
TILE = lonlat_to_tile(*TAN_AN, 9)
TILE_PATH = f"/collections/zones/tiles/WebMercatorQuad/{TILE.z}/{TILE.y}/{TILE.x}"


@dataclass
class Served:
    port: int
    process: subprocess.Popen[bytes]  # its own messages in <folder>/server.log
    data_dir: Path
    access_log: Path
    db_url: str


@dataclass
class Worker:
    """One keep-alive connection: every request on it is served by the same worker process."""

    conn: http.client.HTTPConnection
    pid: int

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        self.conn.request("GET", path, headers={"Accept-Encoding": "identity"})
        response = self.conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()

    def metric(self, name: str) -> float:
        text = self.get("/metrics")[2].decode()
        match = re.search(rf"^{name} (\S+)$", text, re.M)
        assert match, name
        return float(match.group(1))


def live_pid(port: int, timeout: float = 2) -> tuple[http.client.HTTPConnection, int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("GET", "/health/live")
    return conn, json.loads(conn.getresponse().read())["pid"]


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if condition():
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def one_connection_per_worker(port: int, workers: int = 2) -> dict[int, Worker]:
    """Connections until each worker has answered one (the kernel spreads accepts over the workers)."""
    found: dict[int, Worker] = {}
    for _ in range(60):
        conn, pid = live_pid(port)
        if pid in found:
            conn.close()
        else:
            found[pid] = Worker(conn, pid)
        if len(found) == workers:
            return found
    raise AssertionError(f"only workers {sorted(found)} answered")


def both_answer(port: int) -> bool:
    try:
        workers = one_connection_per_worker(port)
    except AssertionError:  # the second worker is still starting
        return False
    for worker in workers.values():
        worker.conn.close()
    return True


@pytest.fixture(scope="module")
def served(make_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("workers")
    url = make_database()
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "LAPIS_DATA_DIR": str(folder / "data"),
           "LAPIS_ACCESS_LOG": str(folder / "access.log")}
    env.pop("LAPIS_TILE_CACHE_DIR", None)
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "2"],
                               env=env, stdout=subprocess.DEVNULL, stderr=(folder / "server.log").open("wb"))
    try:
        wait_for(lambda: both_answer(port), "both workers of lapis serve answered", 60)
        yield Served(port, process, folder / "data", folder / "access.log", url)
    finally:
        process.terminate()
        process.wait(timeout=30)


def zone_names(body: bytes) -> dict[str, str]:
    layers = mapbox_vector_tile.decode(body)
    return {f["properties"]["code"]: f["properties"]["name_vi"] for f in layers["zones"]["features"]}


def test_workers_share_the_tile_cache_on_disk(served: Served) -> None:
    first, second = one_connection_per_worker(served.port).values()
    tile = lonlat_to_tile(*TAN_AN, 11)
    path = f"/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}"
    status, _, rendered = first.get(path)
    assert status == 200
    assert list((served.data_dir / "tile-cache").rglob(f"{tile.y}.mvt.gz")), "the default disk cache of workers"
    misses = second.metric("lapis_tile_cache_misses_total")
    hits = second.metric("lapis_tile_cache_hits_total")
    status, _, read = second.get(path)
    assert status == 200 and read == rendered
    assert second.metric("lapis_tile_cache_misses_total") == misses, "the other worker rendered it again"
    assert second.metric("lapis_tile_cache_hits_total") == hits + 1


def test_a_plain_sql_edit_shows_in_the_next_tile_of_every_worker(served: Served) -> None:
    workers = one_connection_per_worker(served.port)
    with psycopg.connect(served.db_url, autocommit=True) as conn:
        code = conn.execute("SELECT code FROM zones WHERE ST_Intersects(geom, ST_SetSRID(ST_Point(%s, %s), 4326)) "
                            "ORDER BY code LIMIT 1", TAN_AN).fetchone()[0]
        before = {}
        for worker in workers.values():  # the tile is now in each worker's memory
            status, headers, body = worker.get(TILE_PATH)
            assert status == 200 and code in zone_names(body)
            before[worker.pid] = headers["x-data-version"]
        assert len(set(before.values())) == 1
        conn.execute("UPDATE zones SET name_vi = 'Sửa bằng SQL' WHERE code = %s", (code,))
    for worker in workers.values():
        status, headers, body = worker.get(TILE_PATH)
        assert status == 200 and zone_names(body)[code] == "Sửa bằng SQL", f"worker {worker.pid} served a stale tile"
        assert headers["x-data-version"] != before[worker.pid]


def test_every_request_is_in_the_access_log(served: Served) -> None:
    worker = next(iter(one_connection_per_worker(served.port).values()))
    worker.get("/conformance?f=json")  # (a parameter the resource takes: any other is refused)
    worker.get("/no-such-page")
    pattern = re.compile(r'^\S+Z 127\.0\.0\.1 "GET /conformance\?f=json HTTP/1\.1" 200 \d+ [\d.]+ms$', re.M)
    wait_for(lambda: bool(pattern.search(served.access_log.read_text())), "the request was logged", 5)
    # the log is written in batches by a thread: the later request's line may come in a later batch
    missing = re.compile(r'"GET /no-such-page HTTP/1\.1" 404 \d+ ')
    wait_for(lambda: bool(missing.search(served.access_log.read_text())), "the 404 was logged", 5)


def test_a_worker_killed_with_sigkill_is_replaced(served: Served) -> None:  # last: it changes the workers
    workers = one_connection_per_worker(served.port)
    victim, survivor = sorted(workers)
    os.kill(victim, signal.SIGKILL)
    started = time.monotonic()
    while time.monotonic() - started < 30:
        conn, pid = live_pid(served.port)  # a new connection: served all along, by the survivor meanwhile
        conn.close()
        assert pid != victim
        if pid != survivor:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("no new worker within 30 s")
    replaced = one_connection_per_worker(served.port)
    assert victim not in replaced and survivor in replaced
    assert all(worker.get(TILE_PATH)[0] == 200 for worker in replaced.values())
    assert served.process.poll() is None
