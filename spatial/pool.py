"""The asyncpg connection pool the server uses: created on first use, so the app starts (and answers
/health with 503) even while the database is down.

A failure to reach the server — at connect time any OSError (refused, no such socket file, unknown host,
timeout) or PostgreSQL's own "cannot connect now"; while a connection is in use, a lost connection — is raised
as `DatabaseUnavailable`, so that callers tell the database's absence from their own OSErrors (a file they
could not read is not "database unavailable")."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg

from spatial.db import normalise_url
from spatial.errors import DatabaseUnavailable

# Raised while connecting: the server is not there (OSError covers refused, missing socket, DNS and timeouts).
CONNECT_ERRORS = (OSError, asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError,
                  asyncpg.TooManyConnectionsError)
# Raised by a statement on a connection that was open: the server went away under it.
LOST_ERRORS = (ConnectionError, asyncpg.PostgresConnectionError, asyncpg.AdminShutdownError,
               asyncpg.CrashShutdownError)


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool `reset` for connections whose session state is never changed (see Database.reset_on_release)."""


class Database:
    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10, statement_timeout_ms: int = 30_000,
                 connect_timeout: float = 5.0, server_settings: dict[str, str] | None = None,
                 reset_on_release: bool = True) -> None:
        self.url = normalise_url(url)
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
        try:
            self._conn = await self._ctx.__aenter__()  # may open a new connection
            return self._conn
        except CONNECT_ERRORS as exc:
            raise DatabaseUnavailable(f"{type(exc).__name__}: {exc}") from exc

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        # asyncpg's own "the underlying connection is closed" (InterfaceError) hides the lost connection it follows
        closed = isinstance(exc, asyncpg.InterfaceError) and self._closed()
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
