"""The embedded cluster's lifecycle, on clusters of the tests' own (own folder, own port)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from spatial.embedded import EmbeddedCluster


@pytest.fixture()
def own_cluster(cluster_home: Path) -> Iterator[EmbeddedCluster]:
    cluster = EmbeddedCluster(cluster_home / ".data", "lapis", throwaway=True)
    yield cluster
    cluster.destroy()
    assert not (cluster_home / ".data").exists()


def _answers(url: str) -> bool:
    with psycopg.connect(url, connect_timeout=5) as conn:
        return conn.execute("SELECT postgis_lib_version() IS NOT NULL").fetchone()[0]


def test_start_twice_is_harmless_and_stop_stops(own_cluster: EmbeddedCluster) -> None:
    assert not own_cluster.status().running
    first = own_cluster.start()
    assert first.running and first.url and first.port
    assert (own_cluster.socket_dir / f".s.PGSQL.{first.port}").exists(), "unix socket inside .data/run"
    assert _answers(first.url)
    second = own_cluster.start()
    assert (second.pid, second.port) == (first.pid, first.port)
    assert own_cluster.stop() is True
    assert not own_cluster.status().running
    assert own_cluster.stop() is False
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(first.url, connect_timeout=2)


def test_restart_keeps_data_and_port(own_cluster: EmbeddedCluster) -> None:
    url = own_cluster.start().url
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (x int)")
        conn.execute("INSERT INTO kept VALUES (42)")
    own_cluster.stop()
    again = own_cluster.start()
    assert again.url == url
    with psycopg.connect(again.url) as conn:
        assert conn.execute("SELECT x FROM kept").fetchone() == (42,)


def test_recovers_after_crash_with_stale_pid_file(own_cluster: EmbeddedCluster) -> None:
    own_cluster.start()
    own_cluster.kill()  # SIGKILL the postmaster: postmaster.pid stays behind
    assert (own_cluster.pgdata / "postmaster.pid").exists()
    assert not own_cluster.status().running
    recovered = own_cluster.start()
    assert recovered.running and _answers(recovered.url)


def test_recovers_from_pid_file_naming_a_foreign_process(own_cluster: EmbeddedCluster) -> None:
    status = own_cluster.start()
    own_cluster.stop()
    # A pid file left by a crash whose pid was since reused by a process that is not postgres (pid 1).
    (own_cluster.pgdata / "postmaster.pid").write_text(f"1\n{own_cluster.pgdata}\n0\n{status.port}\n")
    assert own_cluster.start().running


def test_stop_touches_only_our_cluster(own_cluster: EmbeddedCluster, cluster_home: Path) -> None:
    other = EmbeddedCluster(cluster_home / "other" / ".data", "lapis", throwaway=True)
    try:
        other_url = other.start().url
        own_cluster.start()
        own_cluster.stop()
        assert _answers(other_url)
    finally:
        other.destroy()
