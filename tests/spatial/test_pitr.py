"""Continuous WAL archiving and point-in-time recovery on an embedded cluster of the test's own."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from spatial.embedded import EmbeddedCluster
from spatial.pitr import RecoveryError, base_backup, recover


@pytest.fixture()
def archiving(cluster_home: Path) -> Iterator[EmbeddedCluster]:
    cluster = EmbeddedCluster(cluster_home / ".data", "lapis", throwaway=True, wal_archive=True)
    cluster.start()
    yield cluster
    cluster.destroy()


def rows(cluster: EmbeddedCluster) -> list[str]:
    url = cluster.status().url
    assert url, "the cluster runs"
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM edits ORDER BY name").fetchall()]


def edit(url: str, sql: str) -> datetime:
    """Run `sql` (committed, its WAL written), then return the server's clock a moment after the commit."""
    with psycopg.connect(url, autocommit=True, options="-c synchronous_commit=on") as conn:
        conn.execute(sql)
        time.sleep(0.02)
        return conn.execute("SELECT clock_timestamp()").fetchone()[0]


def test_archiving_and_recovery_to_a_moment_between_two_edits(archiving: EmbeddedCluster, tmp_path: Path) -> None:
    url = archiving.status().url
    assert url
    edit(url, "CREATE TABLE edits (name text PRIMARY KEY)")
    base = base_backup(archiving, tmp_path / "base")
    assert base.archiving and (base.path / "backup_label").exists()

    with psycopg.connect(url, autocommit=True) as conn:  # the archive takes each finished segment
        segment = conn.execute("SELECT pg_walfile_name(pg_current_wal_lsn())").fetchone()[0]
        conn.execute("SELECT pg_switch_wal()")
    deadline = time.monotonic() + 20
    while not (archiving.wal_archive_dir / segment).exists():
        assert time.monotonic() < deadline, f"{segment} was not archived"
        time.sleep(0.05)

    # A and B stay in the segment being written: a clean stop would archive it, but the server crashes, so
    # recovery takes that segment from the old data folder.
    edit(url, "INSERT INTO edits VALUES ('A')")
    between = edit(url, "SELECT 1")
    edit(url, "INSERT INTO edits VALUES ('B')")
    assert rows(archiving) == ["A", "B"]
    archiving.kill()

    with pytest.raises(RecoveryError, match="cannot go back to"):  # before the base backup: refused, no change
        recover(archiving, base.path, datetime.fromisoformat("2020-01-01T00:00:00Z"))
    assert not list(archiving.data_dir.glob("postgres.*-recovery-*")), "nothing was moved"

    result = recover(archiving, base.path, between)
    assert rows(archiving) == ["A"], "A was committed before the moment, B after"
    assert result.timeline == 2
    assert (result.previous_data / "PG_VERSION").exists(), "the replaced data folder is kept"
    edit(archiving.status().url or "", "INSERT INTO edits VALUES ('C')")  # open for writes again
    assert rows(archiving) == ["A", "C"]


def test_a_failed_recovery_puts_the_cluster_back(archiving: EmbeddedCluster, tmp_path: Path) -> None:
    url = archiving.status().url
    assert url
    base = base_backup(archiving, tmp_path / "base")
    edit(url, "CREATE TABLE edits (name text PRIMARY KEY)")
    edit(url, "INSERT INTO edits VALUES ('kept')")
    # Later than anything recorded: PostgreSQL refuses (the WAL ends before the target).
    with pytest.raises(RecoveryError, match="nothing was recorded after it") as failure:
        recover(archiving, base.path, datetime.fromisoformat("2099-01-01T00:00:00Z"))
    assert rows(archiving) == ["kept"]
    kept = Path(str(failure.value).rsplit("kept in ", 1)[1].strip())
    assert kept.name.startswith("postgres.failed-recovery-") and kept.exists()
    assert not list(archiving.data_dir.glob("postgres.before-recovery-*")), "the live folder went back in place"


def test_a_folder_that_is_no_base_backup_is_refused(cluster_home: Path, tmp_path: Path) -> None:
    cluster = EmbeddedCluster(cluster_home / ".data", "lapis", throwaway=True, wal_archive=True)
    (tmp_path / "empty").mkdir()
    with pytest.raises(RecoveryError, match="not a LAPIS base backup"):
        recover(cluster, tmp_path / "empty", datetime.fromisoformat("2026-01-01T00:00:00Z"))
    (tmp_path / "full" / "x").mkdir(parents=True)
    with pytest.raises(RecoveryError, match="not empty"):
        base_backup(cluster, tmp_path / "full")
    with pytest.raises(RecoveryError, match="not running"):
        base_backup(cluster, tmp_path / "new")
    assert not cluster.data_dir.exists(), "nothing was made"
