"""The server's database connections, one pool per kind of work, so that slow queries of one kind cannot take
the connections another needs:

| pool      | serves                                               | size (setting)                  | replicas |
| --------- | ---------------------------------------------------- | ------------------------------- | -------- |
| `api`     | landing page, collections, items, /metrics           | `LAPIS_POOL_MAX_SIZE`           | reads    |
| `planner` | /locate, /check, /search                             | `LAPIS_PLANNER_POOL_MAX_SIZE`   | reads    |
| `uploads` | /classify (temporary tables: the primary only)       | `LAPIS_UPLOAD_POOL_MAX_SIZE`    | —        |
| `tiles`   | tiles (the TileService's own pool and session)       | `LAPIS_POOL_MAX_SIZE`           | renders  |
| probe     | /health, /health/ready: one connection of its own    | 1                               | —        |

Every pool waits at most `LAPIS_POOL_ACQUIRE_TIMEOUT_MS` for a free connection (then 503 + Retry-After: see
`spatial.pool.PoolTimeout`). With `LAPIS_REPLICA_URLS`, each read pool is a `ReplicaSet` of its primary pool
and a pool per replica of the same size: `acquire()` gives a healthy replica's connection, or the primary's.
Connections open on first use; at most, per app process, the sum of the sizes (+1) on the primary and the
read pools' sizes on each replica — mind `max_connections` when running several workers.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import asyncpg

from spatial.dbroles import READ_ROLE
from spatial.pool import Database
from spatial.probe import DatabaseProbe
from spatial.replicaset import ReplicaHealth, ReplicaSet
from spatial.settings import Settings
from spatial.tiles.service import TILE_SERVER_SETTINGS


@dataclass(frozen=True)
class ReadPool:
    """A kind of work's read access: `async with pool.acquire() as conn` gives a connection of a healthy replica
    (ReplicaSet.read: round-robin, lag bounded; a replica lost meanwhile is skipped) or of the primary pool.
    Every HTTP route only reads; a future write takes `primary` (or ReplicaSet.writer())."""

    primary: Database
    replicas: ReplicaSet | None = None

    @property
    def name(self) -> str:
        return self.primary.name

    def acquire(self) -> AbstractAsyncContextManager[asyncpg.Connection]:
        return self.replicas.read() if self.replicas is not None else self.primary.acquire()

    async def close(self) -> None:
        if self.replicas is not None:
            await self.replicas.close()  # the replicas' pools and monitors
        await self.primary.close()


@dataclass(frozen=True)
class Pools:
    api: ReadPool
    planner: ReadPool
    uploads: ReadPool  # never replicas: /classify writes temporary tables
    tiles: ReadPool  # its primary is the TileService's own pool; its replicas render tiles
    probe: DatabaseProbe

    def all(self) -> tuple[ReadPool, ...]:
        return self.api, self.planner, self.uploads, self.tiles

    def replica_health(self) -> list[ReplicaHealth]:
        """What was last measured of each replica (by the API pool's set: every set measures the same servers)."""
        return self.api.replicas.health() if self.api.replicas is not None else []

    async def close(self) -> None:
        await self.probe.close()
        for pool in self.all():
            await pool.close()


def _read_pool(settings: Settings, url: str, name: str, max_size: int, **options: Any) -> ReadPool:
    """The `name` pool on the primary and, for a read pool with replicas configured, a pool per replica. Its
    sessions act as `lapis_reader` from the start (a startup setting: no extra round trip, and RESET ALL keeps
    it), so a query of any route can only read; a write takes the caller's role (`spatial.session.as_caller`)."""
    server_settings = {**options.pop("server_settings", {}), "role": READ_ROLE}
    options = {"statement_timeout_ms": settings.statement_timeout_ms, "server_settings": server_settings,
               "acquire_timeout_ms": settings.pool_acquire_timeout_ms, "name": name, **options}
    primary = Database(url, min_size=min(settings.pool_min_size, max_size), max_size=max_size, **options)
    if not settings.replica_url_list or name == "uploads":
        return ReadPool(primary)
    replicas = ReplicaSet.from_settings(settings, primary, min_size=1, max_size=max_size, **options)
    return ReadPool(primary, replicas)


def build_pools(settings: Settings, url: str) -> Pools:
    """Every pool of one app process (none connects yet)."""
    return Pools(
        api=_read_pool(settings, url, "api", settings.pool_max_size),
        planner=_read_pool(settings, url, "planner", settings.planner_pool_max_size),
        uploads=_read_pool(settings, url, "uploads", settings.upload_pool_max_size),
        # plans each tile query for its own zoom; single read-only statements skip the reset on release
        tiles=_read_pool(settings, url, "tiles", settings.pool_max_size, server_settings=TILE_SERVER_SETTINGS,
                         reset_on_release=False),
        probe=DatabaseProbe(url, timeout_s=settings.ready_timeout_ms / 1000),
    )
