"""A load killed mid-way (kill -9 of the `lapis load` process during its COPY, or while it builds the indexes of
the new copy of the layer) leaves the layer unchanged, and no shadow table behind: the next load just works."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from spatial.io.loader import LoadOptions, load
from spatial.io.shadow import SHADOW_PREFIX
from spatial.io.stage import STAGE_TABLE
from spatial.synthetic import synthetic_parcels
from tests.helpers import snapshot
from tests.spatial.io.files import shapefile, squares

ACTIVITY = "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE %s AND datname = %s"
OTHER_BACKENDS = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
KILL_POINTS = {
    "copy": f"COPY%{STAGE_TABLE}%",
    "index build": f'CREATE INDEX "{SHADOW_PREFIX}parcels_i%',
}


@pytest.mark.parametrize("point", KILL_POINTS)
def test_killed_load_changes_nothing(fresh_db_url: str, tmp_path: Path, point: str) -> None:
    path = tmp_path / "big.shp"
    synthetic_parcels(150_000, seed=5).to_file(path, engine="pyogrio")
    before = snapshot(fresh_db_url, "parcels")
    env = {**os.environ, "DATABASE_URL": fresh_db_url}
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "load", str(path), "--layer", "parcels",
                                "--mode", "replace"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    database = fresh_db_url.rsplit("/", 1)[1]
    deadline = time.monotonic() + 120
    seen = False
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        while time.monotonic() < deadline and process.poll() is None:
            if conn.execute(ACTIVITY, (KILL_POINTS[point], database)).fetchone()[0]:
                seen = True
                break
            time.sleep(0.005)
    assert seen, f"the load never reached its {point}: {process.stderr.read() if process.stderr else ''}"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    # the server notices the dead client (after the statement in progress) and rolls its transaction back
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        for _ in range(1200):
            if not conn.execute(OTHER_BACKENDS, (database,)).fetchone()[0]:
                break
            time.sleep(0.05)
        assert not conn.execute(OTHER_BACKENDS, (database,)).fetchone()[0], "the load's backend is gone"
        leftovers = conn.execute("SELECT relname FROM pg_class WHERE starts_with(relname, %s)",
                                 (SHADOW_PREFIX,)).fetchall()
    assert leftovers == []
    assert snapshot(fresh_db_url, "parcels") == before
    small = shapefile(tmp_path / "small.shp", squares(12), [f"p{i}" for i in range(12)], cpg="UTF-8")
    report = load(fresh_db_url, small, LoadOptions(layer="parcels", mode="replace", bulk_threshold=10))
    assert report.built_aside and snapshot(fresh_db_url, "parcels")[0] == 12
