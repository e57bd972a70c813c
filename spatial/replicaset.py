"""Reads to replicas, writes to the primary: which database a query should go to.

`ReplicaSet` holds one `Database` (asyncpg pool) per server. `writer()` is always the primary; `reader()` is
a healthy replica, round-robin, or the primary when none is. A replica is healthy when it answers, is still a
standby, and lags at most `max_lag_ms` (see `spatial.replicas.STANDBY_POSITION` for how lag is measured; the
clocks of primary and replica hosts must agree, as NTP keeps them). Health is measured on a connection of its
own per replica, never queued behind queries, and trusted for `check_interval_ms`; a stale measurement is
renewed in the background, so a reader never waits for a replica that is down (only the very first call,
or `refresh()`, waits, at most `connect_timeout_s`).

Read-your-writes: after a write commits, `await write_lsn(conn)` on the same connection gives its position
in the WAL; pass it as `reader(after_lsn=…)` (kept in the session, a cookie, …) and the answer is a replica
that has replayed past it, or the primary.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from spatial.errors import DatabaseUnavailable
from spatial.pgclient import redact
from spatial.pool import Database, PoolTimeout, acquire_within
from spatial.replicas import STANDBY_POSITION
from spatial.settings import Settings

# What asyncpg raises when the server went away or is going (a refused or reset socket, a terminated session,
# a shut-down or starting server) — not a slow or failing query. Connecting may also time out.
# (`spatial.pool` reports the first as DatabaseUnavailable.)
CONNECTION_LOST = (DatabaseUnavailable, OSError, asyncpg.PostgresConnectionError, asyncpg.AdminShutdownError,
                   asyncpg.CrashShutdownError, asyncpg.CannotConnectNowError, asyncpg.ConnectionDoesNotExistError)
UNREACHABLE = (*CONNECTION_LOST, asyncio.TimeoutError)
# What a query on a replica's pooled connection may raise while that replica shuts down under it, besides a
# lost connection: asyncpg's protocol caught mid-operation (seen in tests stopping a replica under traffic).
DYING = (*CONNECTION_LOST, asyncpg.InterfaceError, asyncpg.InternalClientError)


def _discard(conn: asyncpg.Connection) -> None:
    """Close a connection that cannot be reset (a pool that already took it back raises: nothing left to do)."""
    with contextlib.suppress(asyncpg.InterfaceError):
        conn.terminate()


def parse_lsn(lsn: str) -> int:
    """PostgreSQL's 'X/Y' WAL position as one integer (ValueError when it is not one)."""
    high, sep, low = lsn.partition("/")
    if not sep:
        raise ValueError(f"not a WAL position: {lsn!r}")
    return (int(high, 16) << 32) + int(low, 16)


async def write_lsn(conn: asyncpg.Connection) -> str:
    """The WAL position a replica must have replayed to show what this connection has committed. The insert
    position, not `pg_current_wal_lsn()`: with synchronous_commit off, the commit record may not be written yet."""
    return str(await conn.fetchval("SELECT pg_current_wal_insert_lsn()::text"))


@dataclass(frozen=True)
class ReplicaHealth:
    name: str  # the URL, password redacted
    healthy: bool
    replay_lsn: str | None
    lag_ms: float | None
    reason: str  # why it is not healthy ('' when it is)
    checked_at: float  # time.monotonic()


class _Replica:
    """One replica: its pool, its monitor connection and what was last measured."""

    def __init__(self, db: Database, connect_timeout_s: float) -> None:
        self.db = db
        self.name = redact(db.url)
        self.connect_timeout_s = connect_timeout_s
        self.health = ReplicaHealth(self.name, False, None, None, "not checked yet", float("-inf"))
        self._monitor: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()

    async def _position(self) -> tuple[bool, str | None, bool, float]:
        if self._monitor is None or self._monitor.is_closed():
            self._monitor = await asyncpg.connect(
                self.db.url, timeout=self.connect_timeout_s,
                server_settings={"application_name": "lapis-replica-monitor"})
        row = await self._monitor.fetchrow(STANDBY_POSITION, timeout=self.connect_timeout_s)
        return bool(row[0]), row[1], bool(row[2]), float(row[3])

    async def check(self, max_lag_ms: float) -> ReplicaHealth:
        async with self._lock:
            try:
                standby, replay_lsn, _paused, lag_ms = await self._position()
            except (*UNREACHABLE, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                await self._close_monitor()
                self.health = ReplicaHealth(self.name, False, None, None, f"unreachable: {type(exc).__name__}",
                                            time.monotonic())
                return self.health
            reason = ("not a standby (promoted?)" if not standby
                      else f"lagging {lag_ms:.0f} ms > {max_lag_ms:.0f} ms" if lag_ms > max_lag_ms else "")
            self.health = ReplicaHealth(self.name, not reason, replay_lsn, lag_ms, reason, time.monotonic())
            return self.health

    def mark_down(self, reason: str) -> None:
        self.health = ReplicaHealth(self.name, False, None, None, reason, time.monotonic())

    async def _close_monitor(self) -> None:
        if self._monitor is not None:
            with contextlib.suppress(*UNREACHABLE, asyncpg.InterfaceError):
                await self._monitor.close(timeout=1)
            self._monitor = None

    async def close(self) -> None:
        async with self._lock:
            await self._close_monitor()
        await self.db.close()


class ReplicaSet:
    """The primary and its read replicas (see the module docstring)."""

    def __init__(self, primary: Database, replicas: Sequence[Database] = (), *, max_lag_ms: float = 5_000,
                 check_interval_ms: float = 1_000, connect_timeout_s: float = 1.0) -> None:
        self.primary = primary
        self._replicas = [_Replica(db, connect_timeout_s) for db in replicas]
        self.max_lag_ms = max_lag_ms
        self.check_interval_s = check_interval_ms / 1000
        self._turn = itertools.count()
        self._refreshing: asyncio.Task[list[ReplicaHealth]] | None = None
        self._checked = False

    @classmethod
    def from_settings(cls, settings: Settings, primary: Database | str, **pool_options: Any) -> ReplicaSet:
        """The primary (its pool, or its URL) and the replicas of LAPIS_REPLICA_URLS, pools made with the settings'
        sizes and timeout unless `pool_options` (Database's arguments) say otherwise."""
        options = {"min_size": settings.pool_min_size, "max_size": settings.pool_max_size,
                   "statement_timeout_ms": settings.statement_timeout_ms, **pool_options}
        if isinstance(primary, str):
            primary = Database(primary, **options)
        return cls(primary, [Database(url, **options) for url in settings.replica_url_list],
                   max_lag_ms=settings.replica_max_lag_ms, check_interval_ms=settings.replica_check_interval_ms)

    @property
    def replicas(self) -> list[Database]:
        return [r.db for r in self._replicas]

    def writer(self) -> Database:
        return self.primary

    async def reader(self, after_lsn: str | None = None) -> Database:
        """A healthy replica (round-robin) that, given `after_lsn`, has replayed past it; else the primary."""
        if not self._replicas:
            return self.primary
        await self._keep_fresh()
        wanted = parse_lsn(after_lsn) if after_lsn else None
        start = next(self._turn)
        for offset in range(len(self._replicas)):
            replica = self._replicas[(start + offset) % len(self._replicas)]
            if not replica.health.healthy:
                continue
            if wanted is not None and not await self._has_replayed(replica, wanted):
                continue
            return replica.db
        return self.primary

    async def fetch(self, query: str, *args: Any, after_lsn: str | None = None,
                    timeout: float | None = None) -> list[asyncpg.Record]:
        """Run a read query where `reader()` says; when the replica's connection is lost (it went down since
        its last health check), mark it down and run the query again on the primary."""
        return await self._read("fetch", query, args, after_lsn, timeout)  # type: ignore[no-any-return]

    async def fetchrow(self, query: str, *args: Any, after_lsn: str | None = None,
                       timeout: float | None = None) -> asyncpg.Record | None:
        return await self._read("fetchrow", query, args, after_lsn, timeout)  # type: ignore[no-any-return]

    async def fetchval(self, query: str, *args: Any, after_lsn: str | None = None, timeout: float | None = None) -> Any:
        return await self._read("fetchval", query, args, after_lsn, timeout)

    @contextlib.asynccontextmanager
    async def read(self, after_lsn: str | None = None) -> AsyncIterator[asyncpg.Connection]:
        """A connection for several reads, as `reader()` chooses. A replica that cannot give one is marked down
        and the primary serves instead; a connection lost later, inside the block, is the caller's to retry
        (`fetch` and friends do that for single queries)."""
        db = await self.reader(after_lsn)
        acquired = await self._acquire_replica(db) if db is not self.primary else None
        if acquired is None:
            async with self.primary.acquire() as conn:
                yield conn
            return
        pool, conn = acquired
        try:
            yield conn
        except PoolTimeout:  # another pool was busy: nothing wrong with this replica
            raise
        except DYING as exc:  # the replica went away under this block: skip it from now on
            _discard(conn)  # its protocol may be mid-operation: a reset on release would fail
            self.mark_down(db, f"connection lost: {type(exc).__name__}")
            raise DatabaseUnavailable(f"a replica's connection was lost: {type(exc).__name__}") from exc
        except BaseException:
            _discard(conn)  # an error mid-query may leave the protocol busy: never reset such a connection
            raise
        finally:
            try:
                await pool.release(conn)
            except (asyncpg.InternalClientError, asyncpg.InterfaceError, *DYING) as exc:
                # the replica went away between the last query and the release (its reset failed)
                _discard(conn)
                self.mark_down(db, f"connection lost: {type(exc).__name__}")
                raise DatabaseUnavailable(f"a replica's connection was lost: {type(exc).__name__}") from exc

    def mark_down(self, db: Database, reason: str = "marked down") -> None:
        """Skip this replica until its next health check (say, after a query on it lost its connection)."""
        self._replica(db).mark_down(reason)

    async def refresh(self) -> list[ReplicaHealth]:
        """Measure every replica now (concurrently) and return what was found."""
        self._checked = True
        return list(await asyncio.gather(*(r.check(self.max_lag_ms) for r in self._replicas)))

    def health(self) -> list[ReplicaHealth]:
        """What was last measured, without measuring (for /health or /metrics)."""
        return [r.health for r in self._replicas]

    async def close(self) -> None:
        if self._refreshing is not None:
            self._refreshing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refreshing
        for replica in self._replicas:
            await replica.close()

    async def _keep_fresh(self) -> None:
        if not self._checked:
            await self.refresh()
            return
        oldest = min(r.health.checked_at for r in self._replicas)
        stale = time.monotonic() - oldest >= self.check_interval_s
        if stale and (self._refreshing is None or self._refreshing.done()):
            self._refreshing = asyncio.create_task(self.refresh())

    async def _has_replayed(self, replica: _Replica, wanted: int) -> bool:
        """Has the replica replayed up to `wanted`? Measured again when the last measurement says no."""
        lsn = replica.health.replay_lsn
        if lsn is not None and parse_lsn(lsn) >= wanted:
            return True
        health = await replica.check(self.max_lag_ms)
        return health.healthy and health.replay_lsn is not None and parse_lsn(health.replay_lsn) >= wanted

    async def _read(self, method: str, query: str, args: tuple[Any, ...], after_lsn: str | None,
                    timeout: float | None) -> Any:
        db = await self.reader(after_lsn)
        acquired = await self._acquire_replica(db) if db is not self.primary else None
        if acquired is not None:
            pool, conn = acquired
            try:
                return await getattr(conn, method)(query, *args, timeout=timeout)
            except DYING as exc:  # not a slow query (TimeoutError): that one is the caller's
                _discard(conn)
                self.mark_down(db, f"connection lost: {type(exc).__name__}")
            finally:
                await pool.release(conn)
        async with self.primary.acquire() as conn:
            return await getattr(conn, method)(query, *args, timeout=timeout)

    async def _acquire_replica(self, db: Database) -> tuple[asyncpg.Pool, asyncpg.Connection] | None:
        """A pooled connection to the replica, or None (and the replica marked down) when it cannot give one.
        A pool whose every connection is busy is not a replica that is down: its PoolTimeout is raised."""
        try:
            pool = await db.pool()
            return pool, await acquire_within(db, pool.acquire())
        except PoolTimeout:
            raise
        except UNREACHABLE as exc:
            self.mark_down(db, f"unreachable: {type(exc).__name__}")
            return None

    def _replica(self, db: Database) -> _Replica:
        for replica in self._replicas:
            if replica.db is db:
                return replica
        raise ValueError("not a replica of this set")
