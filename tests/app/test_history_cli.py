"""`lapis restore`, `lapis history export` and `lapis export --asof` as a steward runs them (subprocesses)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import psycopg
import pyogrio
import shapely

from tests.helpers import committed_instant

LAPIS = [sys.executable, "-m", "app.cli"]
MOVED = shapely.MultiPolygon([shapely.box(106.5, 10.7, 106.52, 10.72)])


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LAPIS, *args], capture_output=True, text=True, env=env, timeout=180, check=False)


def _env(url: str, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "LAPIS_DATA_DIR": str(tmp_path / ".data")}


def test_restore_and_export_the_history(fresh_db_url: str, tmp_path: Path) -> None:
    env = _env(fresh_db_url, tmp_path)
    with psycopg.connect(fresh_db_url) as conn:
        zone, original = conn.execute("SELECT id, ST_AsBinary(geom) FROM zones WHERE code = 'R2'").fetchone()
        before = committed_instant(conn)
        conn.execute("UPDATE zones SET geom = ST_GeomFromWKB(%s, 4326) WHERE id = %s", (shapely.to_wkb(MOVED), zone))
        moved = committed_instant(conn)
        conn.execute("DELETE FROM zones WHERE id = %s", (zone,))
        conn.commit()

    exported = run(["export", "zones", str(tmp_path / "then.gpkg"), "--asof", before.isoformat()], env)
    assert exported.returncode == 0, exported.stderr
    then = pyogrio.read_dataframe(tmp_path / "then.gpkg")
    assert shapely.to_wkb(then[then.code == "R2"].geometry.iloc[0]) == bytes(original)

    refused = run(["restore", "zones", str(zone), "--asof", "2999-01-01T00:00:00Z"], env)
    assert refused.returncode == 2 and "future" in refused.stderr
    restored = run(["restore", "zones", str(zone), "--reason", "xóa nhầm"], env)
    assert restored.returncode == 0, restored.stderr
    assert f"zones {zone} is back" in restored.stderr
    again = run(["restore", "zones", str(zone)], env)
    assert again.returncode == 1 and "exists" in again.stderr
    rolled = run(["restore", "zones", str(zone), "--asof", before.isoformat()], env)
    assert rolled.returncode == 0 and "rolled back" in rolled.stderr, rolled.stderr
    with psycopg.connect(fresh_db_url) as conn:
        assert bytes(conn.execute("SELECT ST_AsBinary(geom) FROM zones WHERE id = %s", (zone,)).fetchone()[0]) \
            == bytes(original)
        reasons = [r[0] for r in conn.execute("SELECT reason FROM history.zones WHERE id = %s ORDER BY version",
                                              (zone,)).fetchall()]
        total = conn.execute("SELECT count(*) FROM history.zones").fetchone()[0]

    out = tmp_path / "zones-history.gpkg"
    written = run(["history", "export", "zones", str(out)], env)
    assert written.returncode == 0, written.stderr
    frame = pyogrio.read_dataframe(out)
    assert len(frame) == total
    mine = frame[frame.id == zone].sort_values("version")
    assert list(mine.operation) == ["insert", "update", "delete", "insert", "update"]
    assert list(mine.reason.fillna("")) == [r or "" for r in reasons] and reasons[3] == "xóa nhầm"
    assert shapely.to_wkb(mine.geometry.iloc[0]) == bytes(original)
    assert shapely.to_wkb(mine.geometry.iloc[1]) == shapely.to_wkb(MOVED) and mine.geometry.iloc[2] is None
    valid_from, valid_to = list(mine.valid_from), list(mine.valid_to)
    assert all(valid_to[i] == valid_from[i + 1] for i in range(4)) and pd.isna(valid_to[4])  # GPKG keeps ms
    assert valid_from[0] <= before < valid_from[1] <= moved
