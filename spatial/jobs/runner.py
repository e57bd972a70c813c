"""A server process's import jobs: a bounded pool of worker threads (`workers`) behind a bounded queue
(`max_queued`), so uploads never take more than their share of the machine and the event loop only moves bytes.

The process is a *runner*: it holds a session advisory lock (`store.JOB_LOCK_CLASS`, its random key) on a
connection of its own for as long as it lives, and every job it queues names that key. When the process dies —
kill -9, a crash, the machine going down — PostgreSQL rolls its jobs' transactions back and drops the lock, and
`lapis_reap_import_jobs()` (called by every process at startup, and when a job is read) marks those jobs failed.
Several processes (`lapis serve --workers N`) each hold their own key: none ever reaps a job of a live one.
"""

from __future__ import annotations

import logging
import re
import secrets
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

from spatial.db import normalise_url
from spatial.identity.model import Identity, Role
from spatial.jobs import store
from spatial.jobs.progress import Interrupt
from spatial.jobs.work import ImportJob, run_job

log = logging.getLogger("lapis")
SERVER = Identity(None, Role.editor)  # the server's own housekeeping (reaping) runs as a plain editor
KEY_TRIES = 16
FOLDER_PREFIX = "lapis-import-"  # + runner key + "-": where an upload waits for its job (`folder`)


class QueueFull(Exception):
    """Every worker is busy and the queue is full: the client should retry later (503)."""


class ImportRunner:
    def __init__(self, url: str, workers: int = 1, max_queued: int = 8, tmp_dir: Path | None = None) -> None:
        self.url = normalise_url(url)
        self.tmp_dir = Path(tmp_dir or tempfile.gettempdir())
        self.capacity = workers + max_queued
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="lapis-import")
        self._lock = threading.Lock()
        self._alive: psycopg.Connection | None = None
        self._key: int | None = None
        self._reserved = 0
        self._jobs: dict[int, tuple[ImportJob, Interrupt]] = {}
        self._closed = False

    # --- liveness ---------------------------------------------------------------------------------------------

    def key(self) -> int:
        """This process's runner key, its advisory lock held (a new one if the lock's connection was lost).
        Blocking: call it in a worker thread."""
        with self._lock:
            if self._alive is not None and self._key is not None:
                try:
                    self._alive.execute("SELECT 1")
                    return self._key
                except psycopg.Error:
                    self._alive.close()
                    self._alive = None
            conn = psycopg.connect(self.url, autocommit=True)
            for _ in range(KEY_TRIES):
                key = secrets.randbelow(2**31 - 2) + 1
                if conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (store.JOB_LOCK_CLASS, key)).fetchone()[0]:
                    self._alive, self._key = conn, key
                    return key
            conn.close()
            raise RuntimeError("no free runner key")  # 16 random draws of 2^31 all taken: not this universe

    def start(self) -> threading.Thread:
        """In the background: mark failed the jobs of processes that died (this one's lock is taken at its first
        upload). A database that is down now only delays it, to the first read of such a job."""
        thread = threading.Thread(target=self._start, name="lapis-import-start", daemon=True)
        thread.start()
        return thread

    def _start(self) -> None:
        try:
            with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
                if reaped := store.reap(conn, SERVER):
                    log.warning("import jobs %s were cut off by a server that stopped: marked failed", reaped)
                self._sweep(conn)
        except psycopg.Error as exc:
            log.warning("import jobs: cannot check for interrupted jobs yet (%s)", exc)

    def _sweep(self, conn: psycopg.Connection) -> None:
        """Remove the uploads a dead runner left behind (its folders name its key; its lock is free)."""
        pattern = re.compile(re.escape(FOLDER_PREFIX) + r"(\d+)-")
        for folder in self.tmp_dir.glob(FOLDER_PREFIX + "*"):
            match = pattern.match(folder.name)
            if match is None or not folder.is_dir():
                continue
            key = int(match.group(1))
            if conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (store.JOB_LOCK_CLASS, key)).fetchone()[0]:
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", (store.JOB_LOCK_CLASS, key))
                shutil.rmtree(folder, ignore_errors=True)

    def folder(self, key: int) -> Path:
        """A new folder of this runner's (key from `key()`) for one upload."""
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{key}-", dir=self.tmp_dir))

    # --- jobs -------------------------------------------------------------------------------------------------

    def reserve(self) -> None:
        """Hold a place for one more job (QueueFull when there is none); `submit` uses it, `release` gives it back."""
        with self._lock:
            if self._closed or self._reserved >= self.capacity:
                raise QueueFull(f"{self._reserved} uploads are being loaded or waiting; retry shortly")
            self._reserved += 1

    def release(self) -> None:
        with self._lock:
            self._reserved -= 1

    def submit(self, job: ImportJob) -> None:
        """Queue `job` (its place reserved): a worker thread runs it, and removes its folder when it ends."""
        interrupt = Interrupt()
        with self._lock:
            self._jobs[job.id] = (job, interrupt)
        self._executor.submit(self._run, job, interrupt)

    def _run(self, job: ImportJob, interrupt: Interrupt) -> None:
        try:
            run_job(self.url, job, interrupt)
        except Exception:  # run_job records what went wrong; this is its own failure (the database went away)
            log.exception("import job %s could not be recorded as ended", job.id)
        finally:
            with self._lock:
                self._jobs.pop(job.id, None)
                self._reserved -= 1

    def interrupt(self, job_id: int) -> None:
        """Stop a job of this process now (its row says cancelled already); another process's job stops at its
        next step, when it reads its row."""
        with self._lock:
            entry = self._jobs.get(job_id)
        if entry is not None:
            entry[1].fire(Interrupt.CANCELLED)

    def close(self) -> None:
        """Stop: running jobs are rolled back and marked failed, queued ones never start; then this process's
        lock goes, and its unfinished jobs are marked failed like a dead process's (blocking)."""
        with self._lock:
            self._closed = True
            jobs = list(self._jobs.values())
        for _, interrupt in jobs:
            interrupt.fire(Interrupt.SHUTDOWN)
        self._executor.shutdown(wait=True, cancel_futures=True)
        for job, _ in jobs:
            shutil.rmtree(job.folder, ignore_errors=True)  # those that never ran
        with self._lock:
            if self._alive is not None:
                self._alive.close()
                self._alive = None
        if jobs:
            try:
                with psycopg.connect(self.url, autocommit=True) as conn:
                    store.reap(conn, SERVER)
            except psycopg.Error as exc:
                log.warning("import jobs: could not mark the queued ones failed at shutdown (%s)", exc)
