"""Is the database there? Asked on one connection of the probe's own, never from a pool that queries share.

A readiness check that borrows from the API pool waits behind every slow query holding that pool's connections
(measured: 15–30 s with ten slow queries), so an orchestrator would take a busy, healthy server for a dead one.
`DatabaseProbe` keeps a single connection for itself and bounds every check — connecting included — by
`timeout_s`: the answer is "ready" or "not ready" within that bound, whatever the pools are doing. Concurrent
checks share one round trip (a burst of probes is one query), and a connection that failed is dropped, so the
next check connects again: the probe recovers by itself when the database comes back.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg

from spatial.catalog import server_versions
from spatial.errors import DatabaseUnavailable
from spatial.pool import CONNECT_ERRORS, LOST_ERRORS


class DatabaseProbe:
    def __init__(self, url: str, *, timeout_s: float = 0.5) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._conn: asyncpg.Connection | None = None
        self._inflight: asyncio.Task[dict[str, str]] | None = None

    async def check(self) -> dict[str, str]:
        """The database's versions (postgresql, postgis, proj, geos), asked now (or by the check already in
        flight); DatabaseUnavailable when it does not answer within `timeout_s`."""
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.create_task(self._check())
        try:
            return await asyncio.wait_for(asyncio.shield(self._inflight), self.timeout_s)
        except TimeoutError:
            raise DatabaseUnavailable(f"the database did not answer within {self.timeout_s * 1000:.0f} ms") from None

    async def _check(self) -> dict[str, str]:
        try:
            async with asyncio.timeout(self.timeout_s):
                if self._conn is None or self._conn.is_closed():
                    self._conn = await asyncpg.connect(self.url, timeout=self.timeout_s,
                                                       server_settings={"application_name": "lapis-probe"})
                versions = await server_versions(self._conn)
        except (TimeoutError, *CONNECT_ERRORS, *LOST_ERRORS, asyncpg.InterfaceError) as exc:
            await self._drop()
            raise DatabaseUnavailable(f"{type(exc).__name__}: the database does not answer") from exc
        return versions

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()  # no goodbye to a server that may not answer

    async def close(self) -> None:
        if self._inflight is not None and not self._inflight.done():
            self._inflight.cancel()
            with contextlib.suppress(asyncio.CancelledError, DatabaseUnavailable):
                await self._inflight
        if self._conn is not None and not self._conn.is_closed():
            with contextlib.suppress(*LOST_ERRORS, asyncpg.InterfaceError, TimeoutError):
                await self._conn.close(timeout=1)
        self._conn = None
