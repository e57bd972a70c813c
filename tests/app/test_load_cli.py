"""`lapis load` as a user runs it (a subprocess): each phase reported as it ends, and an exit code that tells
what happened — 0 loaded, 1 refused, 2 no database, 3 nothing to load, 4 rejections with --strict (README,
"Loading and exporting data")."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import shapely

from app.load_progress import EXIT_NOTHING_LOADED, EXIT_REJECTED_WITH_STRICT
from tests.helpers import snapshot
from tests.spatial.io.files import shapefile, squares

BOWTIE = shapely.Polygon([(106.0, 10.5), (106.01, 10.51), (106.01, 10.5), (106.0, 10.51), (106.0, 10.5)])


def lapis_load(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", "load", *args], capture_output=True, text=True,
                          env={**os.environ, "DATABASE_URL": url, "COLUMNS": "160"}, timeout=180, check=False)


def test_a_load_reports_its_phases_in_order_and_exits_0(fresh_db_url: str, tmp_path: Path) -> None:
    path = shapefile(tmp_path / "p.shp", squares(30), [f"p{i}" for i in range(30)], cpg="UTF-8")
    done = lapis_load(fresh_db_url, str(path), "--layer", "parcels", "--mode", "replace")
    assert done.returncode == 0, done.stderr
    phases = re.findall(r"^\s+(\w+)\s+done in\s+[\d.]+ s", done.stderr, re.MULTILINE)
    assert phases == ["read", "stage", "check", "write", "analyze", "commit"], done.stderr
    assert "30 features loaded into parcels" in done.stderr


def test_nothing_to_load_exits_3_and_changes_nothing(fresh_db_url: str, tmp_path: Path) -> None:
    lapis_load(fresh_db_url, str(shapefile(tmp_path / "old.shp", squares(2), ["a", "b"], cpg="UTF-8")),
               "--layer", "parcels")
    before = snapshot(fresh_db_url, "parcels")
    path = shapefile(tmp_path / "none.shp", [None, None, shapely.Polygon()], ["x", "y", "z"], cpg="UTF-8")
    for extra in ([], ["--strict"]):
        done = lapis_load(fresh_db_url, str(path), "--layer", "parcels", "--mode", "replace", *extra)
        assert done.returncode == EXIT_NOTHING_LOADED == 3, done.stderr
        assert "nothing loaded (every feature was rejected): rolled back, parcels is unchanged" in done.stderr
        assert snapshot(fresh_db_url, "parcels") == before


def test_rejections_with_strict_exit_4(fresh_db_url: str, tmp_path: Path) -> None:
    path = shapefile(tmp_path / "p.shp", [*squares(2), BOWTIE], ["a", "b", "bowtie"], cpg="UTF-8")
    done = lapis_load(fresh_db_url, str(path), "--layer", "parcels", "--strict")
    assert done.returncode == EXIT_REJECTED_WITH_STRICT == 4, done.stderr
    assert "2 features loaded into parcels; 1 rejected with --strict" in done.stderr
    repaired = lapis_load(fresh_db_url, str(path), "--layer", "parcels", "--mode", "replace")
    assert repaired.returncode == 0, "without --strict a repaired feature is no failure"


def test_a_refused_load_exits_1(fresh_db_url: str, tmp_path: Path) -> None:
    path = shapefile(tmp_path / "p.shp", squares(2), ["a", "b"], cpg="UTF-8")
    done = lapis_load(fresh_db_url, str(path), "--layer", "parcels", "--key", "nope", "--mode", "upsert")
    assert done.returncode == 1 and "nothing was loaded; the layer is unchanged" in done.stderr


def test_an_unreachable_database_exits_2(tmp_path: Path) -> None:
    path = shapefile(tmp_path / "p.shp", squares(2), ["a", "b"], cpg="UTF-8")
    done = lapis_load("postgresql://nobody@127.0.0.1:1/none", str(path), "--layer", "parcels")
    assert done.returncode == 2 and "cannot reach the database" in done.stderr and "Traceback" not in done.stderr
