"""The `import_jobs` table (migration 0013): a job's row from queueing to its end, always under the caller's
role (`spatial.session`), so row-level security keeps an editor to their own jobs.

A job moves queued → running → succeeded | failed | cancelled, and only forwards: every change names the state
it leaves (`WHERE state = …`), so a cancel and the job's own end cannot both win, and a job that a cancel or the
reaper has ended cannot be revived by its worker. The route side is asyncpg (the server's pools), the worker
side psycopg (its own connections, in a worker thread).
"""

from __future__ import annotations

from typing import Any

import asyncpg
import psycopg
from psycopg.types.json import Jsonb

from spatial.identity.model import Identity
from spatial.json import dumps
from spatial.session import as_caller, as_caller_sync

JOB_LOCK_CLASS = 19530  # the first key of every runner's advisory lock: migration 0013's lapis_reap_import_jobs
UNFINISHED = ("queued", "running")
COLUMNS = ("id, layer, author, state, filename, options, progress, report, proposal_id, created_at, started_at, "
           "finished_at")


async def create_job(conn: asyncpg.Connection, identity: Identity, layer: str, filename: str,
                     options: dict[str, Any], runner: int) -> dict[str, Any]:
    """A queued job of the caller's, owned by `runner` (the server process that will run it)."""
    async with as_caller(conn, identity):
        row = await conn.fetchrow(
            f"INSERT INTO import_jobs (layer, author, filename, options, runner) VALUES ($1, $2, $3, $4::jsonb, $5) "
            f"RETURNING {COLUMNS}", layer, identity.user, filename, dumps(options).decode(), runner)
    return _record(row)


async def read_job(conn: asyncpg.Connection, identity: Identity, job_id: int) -> dict[str, Any] | None:
    """The job as the caller may see it (None: no such job, or not theirs). An unfinished one whose server
    process is gone is first marked failed (`lapis_reap_import_jobs`), so nobody waits for a dead job."""
    async with as_caller(conn, identity):
        row = await conn.fetchrow(f"SELECT {COLUMNS} FROM import_jobs WHERE id = $1", job_id)
        if row is not None and row["state"] in UNFINISHED:
            await conn.execute("SELECT lapis_reap_import_jobs()")
            row = await conn.fetchrow(f"SELECT {COLUMNS} FROM import_jobs WHERE id = $1", job_id)
    return None if row is None else _record(row)


async def cancel_job(conn: asyncpg.Connection, identity: Identity, job_id: int) -> dict[str, Any] | None:
    """Mark an unfinished job cancelled (its worker sees it at its next step and rolls back); the job as it now
    is, or None if the caller cannot see it. A finished job is left as it was."""
    async with as_caller(conn, identity):
        await conn.execute("UPDATE import_jobs SET state = 'cancelled', finished_at = now() "
                           "WHERE id = $1 AND state = ANY($2::text[])", job_id, list(UNFINISHED))
        row = await conn.fetchrow(f"SELECT {COLUMNS} FROM import_jobs WHERE id = $1", job_id)
    return None if row is None else _record(row)


def _record(row: asyncpg.Record) -> dict[str, Any]:
    import orjson

    record = dict(row)
    for name in ("options", "progress", "report"):
        if isinstance(record[name], str):
            record[name] = orjson.loads(record[name])
    return record


# --- the worker's side (psycopg) -------------------------------------------------------------------------------

def start(conn: psycopg.Connection, identity: Identity, job_id: int) -> bool:
    """queued → running; False if the job is no longer queued (cancelled meanwhile, or reaped)."""
    with as_caller_sync(conn, identity):
        return conn.execute("UPDATE import_jobs SET state = 'running', started_at = now() "
                            "WHERE id = %s AND state = 'queued' RETURNING id", (job_id,)).fetchone() is not None


def set_progress(conn: psycopg.Connection, identity: Identity, job_id: int, progress: dict[str, Any]) -> bool:
    """Record how far the job is; False if it is no longer running (cancelled: the worker stops)."""
    with as_caller_sync(conn, identity):
        return conn.execute("UPDATE import_jobs SET progress = %s WHERE id = %s AND state = 'running' RETURNING id",
                            (Jsonb(progress), job_id)).fetchone() is not None


def finish(conn: psycopg.Connection, job_id: int, state: str, report: dict[str, Any],
           progress: dict[str, Any], proposal_id: int | None = None) -> bool:
    """running → `state`, with the report (and the proposal made), in the caller's transaction (the worker's own,
    where its changes are: they commit together or not at all); False if the job is no longer running."""
    return conn.execute(
        "UPDATE import_jobs SET state = %s, report = %s, progress = %s, proposal_id = %s, finished_at = now() "
        "WHERE id = %s AND state = 'running' RETURNING id",
        (state, Jsonb(report, dumps=_dumps), Jsonb(progress), proposal_id, job_id)).fetchone() is not None


def finish_as(conn: psycopg.Connection, identity: Identity, job_id: int, state: str, report: dict[str, Any],
              progress: dict[str, Any]) -> bool:
    """`finish` in a transaction of its own (a failed, cancelled or dry-run job: nothing else to commit)."""
    with as_caller_sync(conn, identity):
        return finish(conn, job_id, state, report, progress)


def reap(conn: psycopg.Connection, identity: Identity) -> list[int]:
    """Mark failed every unfinished job whose server process is gone; their ids."""
    with as_caller_sync(conn, identity):
        return [r[0] for r in conn.execute("SELECT lapis_reap_import_jobs()").fetchall()]


def _dumps(value: Any) -> str:
    return dumps(value).decode()
