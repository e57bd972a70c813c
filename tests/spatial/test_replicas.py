"""Read replicas: a real hot standby made by `lapis db replica create` of a primary of the tests' own, and the
`ReplicaSet` that sends reads to it, writes to the primary, and skips it when it is down or behind."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import psycopg
import pytest

from spatial.pool import Database
from spatial.replicas import registered
from spatial.replicaset import ReplicaSet, parse_lsn, write_lsn
from spatial.settings import Settings
from tests.replica_pair import Pair, execute, replica_pair, wait_for


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    """A primary with a table of notes, and its replica, for the whole module."""
    def prepare(url: str) -> None:
        execute(url, "CREATE TABLE notes (id int PRIMARY KEY, body text)")
        execute(url, "GRANT SELECT ON notes TO lapis_reader")  # the replica's URL is the server's login

    with replica_pair(prepare) as made:
        yield made


def replica_set(pair: Pair, *, replicas: int = 1, max_lag_ms: float = 60_000) -> ReplicaSet:
    dbs = [Database(pair.replica_url, min_size=1, max_size=2) for _ in range(replicas)]
    return ReplicaSet(Database(pair.primary_url, min_size=1, max_size=2), dbs, max_lag_ms=max_lag_ms,
                      check_interval_ms=60_000)


def test_the_replica_streams_and_refuses_writes(pair: Pair) -> None:
    assert pair.replica_url.startswith("postgresql://") and f":{pair.port}/" in pair.replica_url
    execute(pair.primary_url, "INSERT INTO notes VALUES (1, 'written on the primary')")
    wait_for(lambda: execute(pair.replica_url, "SELECT body FROM notes WHERE id = 1") == [("written on the primary",)],
             "the write reached the replica")
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        execute(pair.replica_url, "INSERT INTO notes VALUES (2, 'x')")
    status = pair.lapis("db", "replica", "status")
    assert status.returncode == 0, status.stderr
    assert status.stdout.split() == [pair.replica_url]
    assert f"lapis_replica_{pair.port}" in execute(pair.primary_url, "SELECT slot_name FROM pg_replication_slots")[0]


def test_reads_go_round_robin_to_replicas_and_writes_to_the_primary(pair: Pair) -> None:
    async def run() -> None:
        settings = Settings(replica_urls=f" {pair.replica_url} ,{pair.replica_url}", replica_max_lag_ms=60_000)
        rs = ReplicaSet.from_settings(settings, pair.primary_url, min_size=1, max_size=2)
        try:
            assert [db.url for db in rs.replicas] == [pair.replica_url] * 2 and rs.primary.url == pair.primary_url
            chosen = [await rs.reader() for _ in range(4)]
            assert chosen == [rs.replicas[0], rs.replicas[1], rs.replicas[0], rs.replicas[1]]
            assert rs.writer() is rs.primary
            async with rs.read() as conn:
                assert await conn.fetchval("SELECT pg_is_in_recovery()") is True
            assert all(h.healthy and h.lag_ms is not None for h in rs.health())
        finally:
            await rs.close()

    asyncio.run(run())


def test_read_your_writes_goes_to_the_primary_while_the_replica_is_behind(pair: Pair) -> None:
    async def run() -> None:
        rs = replica_set(pair)
        try:
            await rs.refresh()
            pair.replay("pause")
            async with rs.writer().acquire() as conn:
                await conn.execute("INSERT INTO notes VALUES (10, 'mine')")
                lsn = await write_lsn(conn)
            assert await rs.reader(after_lsn=lsn) is rs.primary, "the replica has not replayed the write"
            assert await rs.reader() is rs.replicas[0], "other reads may still go to the (slightly behind) replica"
            async with rs.read(after_lsn=lsn) as conn:
                assert await conn.fetchval("SELECT body FROM notes WHERE id = 10") == "mine"
            pair.replay("resume")
            deadline = time.monotonic() + 10
            while await rs.reader(after_lsn=lsn) is rs.primary:
                assert time.monotonic() < deadline, "the replica caught up"
                await asyncio.sleep(0.05)
            async with rs.read(after_lsn=lsn) as conn:
                assert await conn.fetchval("SELECT body FROM notes WHERE id = 10") == "mine"
                assert await conn.fetchval("SELECT pg_is_in_recovery()") is True
        finally:
            pair.replay("resume")
            await rs.close()

    asyncio.run(run())


def test_a_replica_lagging_beyond_the_bound_is_skipped(pair: Pair) -> None:
    async def run() -> None:
        rs = replica_set(pair, max_lag_ms=300)
        try:
            assert await rs.reader() is rs.replicas[0]
            pair.replay("pause")
            execute(pair.primary_url, "INSERT INTO notes VALUES (20, 'while paused')")
            await asyncio.sleep(0.6)
            [health] = await rs.refresh()
            assert not health.healthy and health.reason.startswith("lagging")
            assert await rs.reader() is rs.primary
            pair.replay("resume")
            deadline = time.monotonic() + 10
            while not (await rs.refresh())[0].healthy:  # caught up again
                assert time.monotonic() < deadline, rs.health()[0].reason
                await asyncio.sleep(0.05)
        finally:
            pair.replay("resume")
            await rs.close()

    asyncio.run(run())


def test_a_stopped_replica_is_skipped_and_reads_continue_from_the_primary(pair: Pair) -> None:
    async def run() -> None:
        pooled, fresh = replica_set(pair), replica_set(pair)
        try:
            await check(pooled, fresh)
        finally:
            await pooled.close()
            await fresh.close()

    async def check(pooled: ReplicaSet, fresh: ReplicaSet) -> None:
        assert await pooled.fetchval("SELECT pg_is_in_recovery()") is True  # a replica connection is now pooled
        await fresh.refresh()  # healthy, no connection pooled yet
        stopped = pair.lapis("db", "replica", "stop", "--port", str(pair.port))
        assert stopped.returncode == 0 and "stopped" in stopped.stderr
        # Mid-traffic, before any health check notices: the query on the lost connection runs on the primary,
        assert await pooled.fetchval("SELECT pg_is_in_recovery()") is False
        assert pooled.health()[0].reason.startswith("connection lost")
        async with fresh.read() as conn:  # and a replica that refuses connections gives way to the primary.
            assert await conn.fetchval("SELECT pg_is_in_recovery()") is False
        assert fresh.health()[0].reason.startswith("unreachable")
        [health] = await pooled.refresh()
        assert not health.healthy and health.reason.startswith("unreachable")
        assert await pooled.reader() is pooled.primary

        started = pair.lapis("db", "replica", "start", "--port", str(pair.port))
        assert started.returncode == 0, started.stderr
        deadline = time.monotonic() + 10
        while not (await pooled.refresh())[0].healthy:  # back, and streaming again
            assert time.monotonic() < deadline, pooled.health()[0].reason
            await asyncio.sleep(0.05)
        assert await pooled.reader() is pooled.replicas[0]
        assert await pooled.fetchval("SELECT pg_is_in_recovery()") is True

    try:
        asyncio.run(run())
    finally:
        pair.lapis("db", "replica", "start", "--port", str(pair.port))


def test_lsn_parsing() -> None:
    assert parse_lsn("0/0") == 0
    assert parse_lsn("16/B374D848") == (0x16 << 32) + 0xB374D848
    assert parse_lsn("1/0") > parse_lsn("0/FFFFFFFF")
    with pytest.raises(ValueError):
        parse_lsn("B374D848")


def test_remove_drops_the_slot_and_the_folder(pair: Pair) -> None:  # the last test of the module
    assert (pair.folder / "postgres" / "standby.signal").exists()
    removed = pair.lapis("db", "replica", "remove", "--port", str(pair.port), "--yes")
    assert removed.returncode == 0, removed.stderr
    assert not pair.folder.exists() and registered(pair.primary) == {}
    assert execute(pair.primary_url, "SELECT slot_name FROM pg_replication_slots") == []
    unknown = pair.lapis("db", "replica", "stop", "--port", str(pair.port))
    assert unknown.returncode == 1 and "no replica on port" in unknown.stderr
