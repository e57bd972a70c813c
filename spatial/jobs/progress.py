"""How far a running job is, as the loader tells it (`spatial.io.phases`: each phase as it starts, rows as they
are staged), written to the job's row on a connection of its own — committed at once, so `GET /jobs/{id}` sees it
while the job's own transaction is still open — at most every `interval` seconds, and at every new phase.

Each write also asks whether the job is still running: a job cancelled meanwhile (or reaped) stops at its next
step (`Stopped`), and its transaction is rolled back.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg

from spatial.identity.model import Identity
from spatial.jobs import store


class Stopped(Exception):
    """The job is no longer running (cancelled, or the server is stopping): roll its work back."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Interrupt:
    """A stop asked of one job from another thread: a cancel, or the server shutting down. Besides the flag the
    job checks at each step, it cancels the statement the job's connection is running (a long INSERT … SELECT
    would not reach the next step for a while)."""

    CANCELLED, SHUTDOWN = "cancelled", "shutdown"

    def __init__(self) -> None:
        self.reason: str | None = None
        self._conn: psycopg.Connection | None = None
        self._lock = threading.Lock()

    def attach(self, conn: psycopg.Connection | None) -> None:
        with self._lock:
            self._conn = conn

    def fire(self, reason: str) -> None:
        with self._lock:
            self.reason = self.reason or reason
            if self._conn is not None:
                self._conn.cancel_safe()

    def check(self) -> None:
        if self.reason is not None:
            raise Stopped(self.reason)


class Progress:
    """The loader's callbacks (`advance`, `on_total`, `on_phase`) for one job."""

    def __init__(self, conn: psycopg.Connection, identity: Identity, job_id: int, interrupt: Interrupt,
                 interval: float = 0.5, private: str = "") -> None:
        self.conn, self.identity, self.job_id, self.interrupt = conn, identity, job_id, interrupt
        self.interval = interval
        self.private = private  # a path prefix the uploader must not see (the job's folder)
        self.phase, self.detail = "queued", ""
        self.rows_done = 0
        self.rows_total: int | None = None
        self._written = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"phase": self.phase, "detail": self.detail, "rows_done": self.rows_done,
                "rows_total": self.rows_total}

    def on_total(self, total: int | None) -> None:
        self.rows_total = total

    def advance(self, rows: int) -> None:
        self.rows_done += rows
        self._write(force=False)

    def on_phase(self, phase: str, detail: str = "") -> None:
        self.phase, self.detail = phase, detail.replace(self.private, "") if self.private else detail
        self._write(force=True)

    def _write(self, *, force: bool) -> None:
        self.interrupt.check()
        now = time.monotonic()
        if not force and now - self._written < self.interval:
            return
        self._written = now
        if not store.set_progress(self.conn, self.identity, self.job_id, self.as_dict()):
            raise Stopped(Interrupt.CANCELLED)
