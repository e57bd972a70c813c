"""Per-layer data versions, read from `layer_versions` (stamped by statement triggers on every write).

Reads are batched without ever going stale: a caller waits for a read that *starts after it arrived*, so a
plain-SQL edit committed before a request is always seen by that request, while a burst of concurrent requests
shares one round trip (at most one read in flight, the next one serving everyone who queued meanwhile).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Iterable

Versions = dict[str, int]


class VersionReader:
    def __init__(self, fetch: Callable[[], Awaitable[Versions]]) -> None:
        self._fetch = fetch
        self._waiting: asyncio.Future[Versions] | None = None
        self._task: asyncio.Task[None] | None = None

    async def get(self) -> Versions:
        if self._waiting is None:
            self._waiting = asyncio.get_running_loop().create_future()
        future = self._waiting
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        return await asyncio.shield(future)

    async def _run(self) -> None:
        while self._waiting is not None:
            future, self._waiting = self._waiting, None
            try:
                future.set_result(await self._fetch())
            except Exception as exc:  # every waiter of this read gets the error
                future.set_exception(exc)
                future.exception()  # mark retrieved: waiters re-raise it themselves


def version_tag(versions: Versions, layer_ids: Iterable[str]) -> str:
    """A short stable tag for the data behind a set of layers (TileJSON's `v=` and cache keys on disk)."""
    text = ";".join(f"{layer}:{versions.get(layer, 0)}" for layer in sorted(layer_ids))
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()
