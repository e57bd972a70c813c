"""Import jobs in a real `lapis serve` process: it keeps answering while an import works, and a kill -9 of it
in the middle of an import — while the file streams into the stage, or at the INSERT of the proposal's
changes — leaves nothing half-written (no proposal, no change, the layer as it was); the next server marks the
job failed (interrupted) and removes the upload the dead one left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from spatial.embedded import free_port
from spatial.identity.model import Role
from spatial.synthetic import synthetic_parcels
from tests.helpers import snapshot
from tests.identity_fixtures import bearer, token_for
from tests.upload_files import parcels, write

OTHER_BACKENDS = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
RUNNING = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND query ILIKE %s"
KILL_POINTS = {
    "stage": ("COPY%lapis_stage%", None),
    "proposal": ("%INSERT INTO proposal_changes%", "LOCK TABLE proposal_changes IN SHARE MODE"),
}


@dataclass
class Served:
    base: str
    process: subprocess.Popen[bytes]


@contextmanager
def lapis_serve(url: str, folder: Path, **env: str) -> Iterator[Served]:
    """`lapis serve` (one process) on the database `url`; uploads wait in <folder>/uploads."""
    port = free_port()
    environment = {**os.environ, "DATABASE_URL": url, "LAPIS_DATA_DIR": str(folder / "data"),
                   "LAPIS_IMPORT_TMP_DIR": str(folder / "uploads"), "LAPIS_ACCESS_LOG": "off", **env}
    log = (folder / "server.log").open("ab")
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)], env=environment,
                               stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(f"{base}/health/live", timeout=2).status_code == 200, "the server answers", 60)
        yield Served(base, process)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
        log.close()


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 60, pause: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if value := condition():
                return value
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, what
        time.sleep(pause)


def post(base: str, token: str, path: Path, **fields: str) -> dict[str, Any]:
    with path.open("rb") as f:
        response = httpx.post(f"{base}/collections/parcels/imports", headers=bearer(token), data=fields,
                              files={"file": (path.name, f)}, timeout=120)
    assert response.status_code == 202, response.text
    return response.json()


def big_file(folder: Path, n: int) -> Path:
    frame = synthetic_parcels(n, seed=12)
    frame["code"] = "K" + frame["code"]  # codes of their own: an append of new features
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "big.fgb"
    frame.to_file(path, engine="pyogrio", SPATIAL_INDEX="NO")
    return path


def test_the_server_answers_while_an_import_works(make_database: Callable[[], str], tmp_path: Path) -> None:
    url = make_database()
    token = token_for(url, Role.editor)
    path = big_file(tmp_path / "in", 60_000)
    with lapis_serve(url, tmp_path, LAPIS_IMPORT_BATCH_ROWS="2000") as served:
        job = post(served.base, token, path)
        location = f"{served.base}/jobs/{job['id']}"
        latencies: list[float] = []
        seen: list[dict[str, Any]] = []
        with httpx.Client(timeout=30) as client:
            while (current := client.get(location, headers=bearer(token)).json())["state"] in ("queued", "running"):
                if current["state"] == "running":
                    seen.append(current["progress"])
                    for page in ("/health/live", "/collections/zones/items?limit=5"):
                        started = time.perf_counter()
                        assert client.get(served.base + page).status_code == 200
                        latencies.append(time.perf_counter() - started)
                time.sleep(0.05)
        assert current["state"] == "succeeded", current
        assert current["report"]["proposal"]["create"] == 60_000
    staged = [p["rows_done"] for p in seen if p.get("phase") == "stage"]
    assert any(0 < rows < 60_000 for rows in staged), f"progress while staging: {staged}"
    assert len(latencies) >= 10, f"only {len(latencies)} requests were answered while the import ran"
    assert max(latencies) < 2.0, f"a request waited {max(latencies):.2f} s during the import: {latencies}"


@pytest.mark.parametrize("point", KILL_POINTS)
def test_kill_9_during_an_import_leaves_nothing_half_written(make_database: Callable[[], str], tmp_path: Path,
                                                            point: str) -> None:
    url = make_database()
    database = url.rsplit("/", 1)[1]
    token = token_for(url, Role.editor)
    path = big_file(tmp_path / "in", 60_000) if point == "stage" else write("geojson", tmp_path / "in",
                                                                              parcels(50, prefix="KILL"))
    before = snapshot(url, "parcels")
    statement, blocker = KILL_POINTS[point]
    with psycopg.connect(url) as lock:
        if blocker is not None:
            lock.execute(blocker)
        with lapis_serve(url, tmp_path) as served, psycopg.connect(url, autocommit=True) as watch:
            job = post(served.base, token, path)
            wait_for(lambda: watch.execute(RUNNING, (database, statement)).fetchone()[0], f"the job's {point}",
                     timeout=120, pause=0.005)
            served.process.send_signal(signal.SIGKILL)
            served.process.wait(timeout=10)
            assert served.process.returncode == -signal.SIGKILL
        lock.rollback()
    with psycopg.connect(url, autocommit=True) as conn:  # PostgreSQL rolls the dead server's transactions back
        wait_for(lambda: conn.execute(OTHER_BACKENDS, (database,)).fetchone()[0] == 0, "the backends are gone")
        assert conn.execute("SELECT count(*) FROM proposals").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM proposal_changes").fetchone()[0] == 0
        assert conn.execute("SELECT state FROM import_jobs WHERE id = %s", (job["id"],)).fetchone()[0] == "running"
    assert snapshot(url, "parcels") == before
    assert list((tmp_path / "uploads").iterdir()), "the dead server's upload is still there"

    with lapis_serve(url, tmp_path) as served:
        location = f"{served.base}/jobs/{job['id']}"
        ended = httpx.get(location, headers=bearer(token)).json()
        assert ended["state"] == "failed" and ended["finished"] is not None
        assert ended["report"]["errors"][0]["title"] == "Interrupted"
        wait_for(lambda: not list((tmp_path / "uploads").iterdir()), "the new server removed the dead one's upload")
        again = post(served.base, token, write("geojson", tmp_path / "again", parcels(3, prefix="AGAIN")))
        done = wait_for(lambda: (j := httpx.get(f"{served.base}/jobs/{again['id']}", headers=bearer(token)).json())
                        ["state"] not in ("queued", "running") and j, "the next import ended")
        assert done["state"] == "succeeded", done
