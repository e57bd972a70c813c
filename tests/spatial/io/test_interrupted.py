"""A load killed mid-way (kill -9 of the `lapis load` process during COPY) leaves the layer unchanged."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from spatial.io.stage import STAGE_TABLE
from spatial.synthetic import synthetic_parcels
from tests.helpers import snapshot

STAGE_ACTIVITY = "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE %s AND datname = %s"
STAGE_COPY = f"COPY%{STAGE_TABLE}%"


def test_killed_load_changes_nothing(fresh_db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "big.shp"
    synthetic_parcels(150_000, seed=5).to_file(path, engine="pyogrio")
    before = snapshot(fresh_db_url, "parcels")
    env = {**os.environ, "DATABASE_URL": fresh_db_url}
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "load", str(path), "--layer", "parcels",
                                "--mode", "replace"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    database = fresh_db_url.rsplit("/", 1)[1]
    deadline = time.monotonic() + 60
    seen = False
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        while time.monotonic() < deadline and process.poll() is None:
            if conn.execute(STAGE_ACTIVITY, (STAGE_COPY, database)).fetchone()[0]:
                seen = True
                break
            time.sleep(0.005)
    assert seen, f"the load never reached COPY: {process.stderr.read() if process.stderr else ''}"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    # the server notices the dead client and rolls its transaction back
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        for _ in range(200):
            if not conn.execute(STAGE_ACTIVITY, (STAGE_COPY, database)).fetchone()[0]:
                break
            time.sleep(0.05)
    assert snapshot(fresh_db_url, "parcels") == before
