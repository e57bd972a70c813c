"""Big JSON bodies are parsed in a short-lived child process, not in a thread of the server.

A worker thread keeps the event loop free only while the work gives up the GIL, and the parse of a JSON body does
not: orjson holds it for the whole document (measured here: 1–3 s for 25 MB on a busy machine, during which no
other request moves), and so does the Python that turns features into geometries. A child process holds its own.
It also gives every byte it used back to the system when it exits: each child serves one body
(`max_tasks_per_child=1`), so a 50 MB FeatureCollection leaves the server's memory as it found it.

Children are forked from a fork server that has imported what they need (`PRELOAD`), so one starts in
milliseconds. The body goes to the child as a file; what comes back is pickled (geometries as WKB, see
`ClassifyInput`), and so are the 4xx errors the parse raises.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import forkserver
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
PRELOAD = ["app.bodies", "spatial.queries.classify_input", "spatial.queries.locate", "spatial.queries.check"]


class Offload:
    """A pool of one-shot child processes (made on first use; `close` ends it)."""

    def __init__(self, workers: int = 2) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        """The pool, its fork server started and ready (blocking while it imports PRELOAD: call it in a thread)."""
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            forkserver.ensure_running()
            pool = ProcessPoolExecutor(self.workers, mp_context=context, max_tasks_per_child=1)
            pool.submit(int).result()  # the fork server answers once it has imported PRELOAD: wait for it here
            self._pool = pool
        return self._pool

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        pool = self._pool or await asyncio.to_thread(self._executor)
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)
        except BrokenProcessPool:  # a child was killed (out of memory?): the next request gets a fresh pool
            self.close()
            raise

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def parse_file(path: str, convert: Callable[[Any], T] | None) -> T | Any:
    """In the child: the JSON document in `path`, parsed and checked (`app.bodies.parse_json`), then converted."""
    from app.bodies import parse_json

    obj = parse_json(Path(path).read_bytes())
    return convert(obj) if convert is not None else obj
