"""A load says what it is doing: every phase is announced, in the order it runs (`spatial.io.phases`), and a
load that would load nothing is rolled back instead of committed."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import shapely

from spatial.io.loader import LoadOptions, load
from spatial.io.phases import ANALYZE, CHECK, COMMIT, INDEX, PHASES, READ, ROLLBACK, STAGE, SWITCH, WRITE
from tests.helpers import snapshot
from tests.spatial.io.files import shapefile, squares

BOWTIE = shapely.Polygon([(106.0, 10.5), (106.01, 10.51), (106.01, 10.5), (106.0, 10.51), (106.0, 10.5)])


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, phase: str, detail: str = "") -> None:
        assert phase in PHASES, phase
        self.calls.append((phase, detail))

    @property
    def phases(self) -> list[str]:
        """The phases in the order they started (a phase reported again as it moves on counts once)."""
        return [p for i, (p, _) in enumerate(self.calls) if i == 0 or self.calls[i - 1][0] != p]


def test_a_big_replace_goes_through_every_phase_in_order(fresh_db_url: str, tmp_path: Path) -> None:
    path = shapefile(tmp_path / "p.shp", squares(30), [f"p{i}" for i in range(30)], cpg="UTF-8")
    heard = Recorder()
    report = load(fresh_db_url, path, LoadOptions(layer="parcels", mode="replace", bulk_threshold=10),
                  on_phase=heard)
    assert heard.phases == [READ, STAGE, CHECK, WRITE, INDEX, ANALYZE, SWITCH, COMMIT]
    indexes = [detail for phase, detail in heard.calls if phase == INDEX]
    assert len(indexes) == 1 + report.indexes_rebuilt and indexes[-1].startswith(f"{report.indexes_rebuilt}/")
    assert report.committed and report.built_aside


def test_a_small_append_is_written_in_place_and_analyzed(fresh_db_url: str, tmp_path: Path) -> None:
    path = shapefile(tmp_path / "p.shp", squares(3), ["a", "b", "c"], cpg="UTF-8")
    heard = Recorder()
    report = load(fresh_db_url, path, LoadOptions(layer="parcels"), on_phase=heard)
    assert heard.phases == [READ, STAGE, CHECK, WRITE, ANALYZE, COMMIT]
    assert report.committed and not report.built_aside


def test_a_few_features_added_to_a_big_layer_leave_analyze_to_autovacuum(fresh_db_url: str, tmp_path: Path) -> None:
    """Three features into a layer estimated at a million rows: no ANALYZE (seconds for nothing); into a small or
    never analyzed layer: always."""
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:  # the cluster's role is a superuser
        conn.execute("UPDATE pg_class SET reltuples = 1e6 WHERE oid = 'parcels'::regclass")
    heard = Recorder()
    load(fresh_db_url, shapefile(tmp_path / "p.shp", squares(3), ["a", "b", "c"], cpg="UTF-8"),
         LoadOptions(layer="parcels"), on_phase=heard)
    assert heard.phases == [READ, STAGE, CHECK, WRITE, COMMIT]
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        assert conn.execute("SELECT reltuples FROM pg_class WHERE oid = 'parcels'::regclass").fetchone()[0] == 1e6
        conn.execute("UPDATE pg_class SET reltuples = -1 WHERE oid = 'parcels'::regclass")
    heard = Recorder()
    load(fresh_db_url, shapefile(tmp_path / "q.shp", squares(3), ["d", "e", "f"], cpg="UTF-8"),
         LoadOptions(layer="parcels"), on_phase=heard)
    assert ANALYZE in heard.phases
    with psycopg.connect(fresh_db_url) as conn:
        assert conn.execute("SELECT reltuples FROM pg_class WHERE oid = 'parcels'::regclass").fetchone()[0] == 6


@pytest.mark.parametrize("bulk", [False, True], ids=["in place", "built aside"])
def test_an_invalid_geometry_sends_the_load_back_through_the_full_check(fresh_db_url: str, tmp_path: Path,
                                                                        bulk: bool) -> None:
    """The layer's CHECK (on the new copy too) finds the invalid row; the load goes back to its savepoint (the
    new copy with it) and runs again with the full check, which repairs it."""
    path = shapefile(tmp_path / "p.shp", [*squares(2), BOWTIE], ["a", "b", "bowtie"], cpg="UTF-8")
    heard = Recorder()
    options = LoadOptions(layer="parcels", mode="replace", bulk_threshold=2 if bulk else 50_000)
    report = load(fresh_db_url, path, options, on_phase=heard)
    aside = [INDEX, ANALYZE, SWITCH] if bulk else [ANALYZE]
    assert heard.phases == [READ, STAGE, CHECK, WRITE, CHECK, WRITE, *aside, COMMIT]
    assert "full validity check" in [detail for phase, detail in heard.calls if phase == CHECK][1]
    assert report.repaired == 1 and report.loaded == 3 and report.committed and report.built_aside == bulk
    assert snapshot(fresh_db_url, "parcels")[0] == 3


def test_a_dry_run_and_a_load_of_nothing_roll_back(fresh_db_url: str, tmp_path: Path) -> None:
    load(fresh_db_url, shapefile(tmp_path / "old.shp", squares(3), ["a", "b", "c"], cpg="UTF-8"),
         LoadOptions(layer="parcels"))
    before = snapshot(fresh_db_url, "parcels")
    heard = Recorder()
    dry = load(fresh_db_url, shapefile(tmp_path / "new.shp", squares(2), ["x", "y"], cpg="UTF-8"),
               LoadOptions(layer="parcels", mode="replace", dry_run=True), on_phase=heard)
    assert heard.phases == [READ, STAGE, CHECK, WRITE, ROLLBACK] and dry.loaded == 2 and not dry.committed
    heard = Recorder()
    nothing = load(fresh_db_url, shapefile(tmp_path / "none.shp", [None, shapely.Polygon()], ["n", "e"], cpg="UTF-8"),
                   LoadOptions(layer="parcels", mode="replace"), on_phase=heard)
    assert heard.phases == [READ, STAGE, CHECK, WRITE, ROLLBACK]
    assert (nothing.loaded, nothing.rejected, nothing.committed) == (0, 2, False)
    assert "nothing to load: rolled back, the layer is unchanged" in nothing.warnings
    assert snapshot(fresh_db_url, "parcels") == before, "a replace that loads nothing does not empty the layer"
