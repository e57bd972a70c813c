"""The asyncpg connection pool the server uses: created on first use, so the app starts (and answers
/health with 503) even while the database is down.

A failure to reach the server — at connect time any OSError (refused, no such socket file, unknown host,
timeout) or PostgreSQL's own "cannot connect now"; while a connection is in use, a lost connection — is raised
as `DatabaseUnavailable`, so that callers tell the database's absence from their own OSErrors (a file they
could not read is not "database unavailable").

Every acquire waits at most `acquire_timeout_ms` for a free connection, then raises `PoolTimeout` (a kind of
DatabaseUnavailable: the server answers 503 with Retry-After), so that slow queries holding every connection
make later requests fail fast instead of queueing without end."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Any

import asyncpg

from spatial.db import normalise_url
from spatial.errors import DatabaseUnavailable

# Raised while connecting: the server is not there (OSError covers refused, missing socket, DNS and timeouts).
CONNECT_ERRORS = (OSError, asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError,
                  asyncpg.TooManyConnectionsError)
# Raised by a statement on a connection that was open: the server went away under it.
LOST_ERRORS = (ConnectionError, asyncpg.PostgresConnectionError, asyncpg.AdminShutdownError,
               asyncpg.CrashShutdownError, asyncpg.ConnectionDoesNotExistError)


class PoolTimeout(DatabaseUnavailable):
    """No connection of the pool became free within its acquire timeout (every one is busy)."""


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool `reset` for connections whose session state is never changed (see Database.reset_on_release)."""


class Database:
    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10, statement_timeout_ms: int = 30_000,
                 connect_timeout: float = 5.0, server_settings: dict[str, str] | None = None,
                 reset_on_release: bool = True, acquire_timeout_ms: int | None = None, name: str = "lapis") -> None:
        self.url = normalise_url(url)
        self.name = name  # which pool (api, planner, tiles, …): in PoolTimeout messages and /metrics
        # None: wait as long as it takes (scripts, exports); the server always sets one
        self.acquire_timeout_s = acquire_timeout_ms / 1000 if acquire_timeout_ms is not None else None
        self.min_size = min_size
        self.max_size = max_size
        self.statement_timeout_ms = statement_timeout_ms
        self.connect_timeout = connect_timeout
        self.server_settings = server_settings or {}
        # asyncpg resets a connection on every release (one more round trip: unlock advisory locks, close
        # cursors, UNLISTEN, RESET ALL). A pool that only ever runs single read-only statements can skip it.
        self.reset_on_release = reset_on_release
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    async def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    try:
                        self._pool = await asyncpg.create_pool(
                            self.url, min_size=self.min_size, max_size=self.max_size, init=_init_connection,
                            timeout=self.connect_timeout, command_timeout=None,
                            reset=None if self.reset_on_release else _keep_session,
                            server_settings={"statement_timeout": str(self.statement_timeout_ms),
                                             "application_name": "lapis", "jit": "off", **self.server_settings},
                        )
                    except CONNECT_ERRORS as exc:
                        raise DatabaseUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return self._pool

    def acquire(self) -> Any:
        return _Acquire(self)

    def connections(self) -> tuple[int, int]:
        """(open, idle) connections, without creating the pool: (0, 0) before its first use."""
        if self._pool is None:
            return 0, 0
        return self._pool.get_size(), self._pool.get_idle_size()

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


class _Acquire:
    """`async with db.acquire() as conn` that creates the pool lazily."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._ctx: Any = None
        self._conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> asyncpg.Connection:
        pool = await self._db.pool()
        self._ctx = pool.acquire()
        self._conn = await acquire_within(self._db, self._ctx.__aenter__())  # may open a new connection
        return self._conn

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        # asyncpg's own "the underlying connection is closed" (InterfaceError) hides the lost connection it follows
        closed = isinstance(exc, asyncpg.InterfaceError) and self._closed()
        if isinstance(exc, LOST_ERRORS) and self._conn is not None and not closed:
            self._conn.terminate()  # its protocol may be mid-operation: the reset on release would fail
        await self._ctx.__aexit__(exc_type, exc, tb)
        if isinstance(exc, LOST_ERRORS) or closed:
            raise DatabaseUnavailable(f"connection lost: {type(exc).__name__}: {exc}") from exc

    def _closed(self) -> bool:
        if self._conn is None:
            return False
        try:
            return self._conn.is_closed()
        except asyncpg.InterfaceError:  # already taken back by the pool, which does so when the connection is lost
            return True

async def acquire_within(db: Database, acquiring: Awaitable[asyncpg.Connection]) -> asyncpg.Connection:
    """Await `acquiring` (a connection of `db`'s pool) for at most `db.acquire_timeout_s`: PoolTimeout when that
    deadline passes, DatabaseUnavailable when connecting fails (a connect timeout included)."""
    deadline = asyncio.timeout(db.acquire_timeout_s)
    try:
        async with deadline:
            return await acquiring
    except TimeoutError as exc:
        if deadline.expired():  # our deadline, not a connect timeout inside the acquire
            raise PoolTimeout(f"no connection of the {db.name} pool became free within "
                              f"{db.acquire_timeout_s * 1000:.0f} ms") from exc
        raise DatabaseUnavailable(f"{type(exc).__name__}: {exc}") from exc
    except CONNECT_ERRORS as exc:
        raise DatabaseUnavailable(f"{type(exc).__name__}: {exc}") from exc
