"""Readers during a load: threads that run small read queries back to back on their own connections while a
load runs, and keep each query's latency — what a user of the API would wait for while data is loaded."""

from __future__ import annotations

import threading
import time
from types import TracebackType

import psycopg

QUERIES = {
    "items": "SELECT id, code FROM parcels WHERE geom && ST_MakeEnvelope(106.3, 10.6, 106.5, 10.8, 4326) "
             "ORDER BY id LIMIT 10",
    "layer_versions": "SELECT count(*) FROM layer_versions",
}


class ReaderProbe:
    """`with ReaderProbe(url) as probe: …load…` then `probe.summary()`."""

    def __init__(self, url: str, queries: dict[str, str] = QUERIES, pause_s: float = 0.02) -> None:
        self.url = url
        self.queries = queries
        self.pause_s = pause_s
        self.latencies: dict[str, list[float]] = {name: [] for name in queries}
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(name,), daemon=True) for name in queries]

    def _run(self, name: str) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.is_set():
                started = time.perf_counter()
                conn.execute(self.queries[name]).fetchall()
                self.latencies[name].append(time.perf_counter() - started)
                time.sleep(self.pause_s)

    def __enter__(self) -> ReaderProbe:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)

    def summary(self) -> str:
        parts = []
        for name, values in self.latencies.items():
            ordered = sorted(values) or [0.0]
            parts.append(f"{name}: {len(values)} queries, median {ordered[len(ordered) // 2] * 1000:.0f} ms, "
                         f"worst {ordered[-1] * 1000:.0f} ms")
        return "; ".join(parts)
