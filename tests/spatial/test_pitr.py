"""Continuous WAL archiving and point-in-time recovery on an embedded cluster of the test's own."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from spatial.embedded import EmbeddedCluster
from spatial.pitr import RecoveryError, base_backup, read_base_backup, recover


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


def lapis(cluster: EmbeddedCluster, *args: str, **env_vars: str) -> subprocess.CompletedProcess[str]:
    """The command as an operator runs it, on this cluster's folder, archiving on; rich's wrapping undone."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(LAPIS_DATA_DIR=str(cluster.data_dir), LAPIS_WAL_ARCHIVE="on", **env_vars)
    result = subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, env=env,
                            timeout=180, check=False)
    result.stderr = " ".join(result.stderr.split())
    return result


def test_recovery_to_a_moment_between_two_edits_and_back_after_a_failure(archiving: EmbeddedCluster,
                                                                        tmp_path: Path) -> None:
    url = archiving.status().url
    assert url
    edit(url, "CREATE TABLE edits (name text PRIMARY KEY)")
    made = lapis(archiving, "db", "basebackup", str(tmp_path / "base"))
    assert made.returncode == 0, made.stderr
    base = read_base_backup(tmp_path / "base")
    assert base.archiving and base.first_wal and f"pg_archivecleanup {archiving.wal_archive_dir}" in made.stderr

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

    tile_cache = archiving.data_dir.parent / "tiles"  # a disk tile cache: its tiles name the old timeline's versions
    (tile_cache / "0123456789abcdef" / "14" / "1").mkdir(parents=True)
    (tile_cache / "0123456789abcdef" / "14" / "1" / "2.mvt.gz").write_bytes(b"")
    (tile_cache / "README").write_text("not a tile: kept")
    recovered = lapis(archiving, "db", "recover", "--to", between.isoformat(), "--from", str(base.path), "--yes",
                      LAPIS_TILE_CACHE_DIR=str(tile_cache))
    assert recovered.returncode == 0, recovered.stderr
    assert [p.name for p in tile_cache.iterdir()] == ["README"] and "emptied the tile cache" in recovered.stderr
    assert rows(archiving) == ["A"], "A was committed before the moment, B after"
    assert "(timeline 2)" in recovered.stderr
    [previous] = archiving.data_dir.glob("postgres.before-recovery-*")
    assert str(previous) in recovered.stderr and (previous / "PG_VERSION").exists(), "the replaced folder is kept"
    edit(archiving.status().url or "", "INSERT INTO edits VALUES ('C')")  # open for writes again
    assert rows(archiving) == ["A", "C"]

    # Later than anything recorded: PostgreSQL refuses (the WAL ends before that), and the cluster is put back.
    with pytest.raises(RecoveryError, match="nothing was recorded after it") as failure:
        recover(archiving, base.path, datetime.fromisoformat("2099-01-01T00:00:00Z"))
    assert rows(archiving) == ["A", "C"]
    kept = Path(str(failure.value).rsplit("kept in ", 1)[1].strip())
    assert kept.name.startswith("postgres.failed-recovery-") and (kept / "PG_VERSION").exists()
    assert list(archiving.data_dir.glob("postgres.before-recovery-*")) == [previous], "the live folder went back"


def test_the_command_refuses_a_time_without_zone_or_a_database_url(cluster_home: Path, tmp_path: Path) -> None:
    cluster = EmbeddedCluster(cluster_home / ".data", "lapis")
    bad = lapis(cluster, "db", "recover", "--to", "yesterday", "--from", str(tmp_path), "--yes")
    assert bad.returncode == 1 and "expected an ISO 8601 time" in bad.stderr
    naive = lapis(cluster, "db", "recover", "--to", "2026-11-27T10:00:00", "--from", str(tmp_path), "--yes")
    assert naive.returncode == 1 and "give the time zone" in naive.stderr
    external = lapis(cluster, "db", "basebackup", str(tmp_path / "b"), DATABASE_URL="postgresql://x@127.0.0.1:1/x")
    assert external.returncode == 1 and "DATABASE_URL is set" in external.stderr
    assert not cluster.data_dir.exists() and not (tmp_path / "b").exists()


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
