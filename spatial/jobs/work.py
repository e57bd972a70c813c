"""One import job, from its start to its end, in a worker thread of the server.

Everything the job writes — the new proposal, its changes, the job's own `succeeded` — is one transaction, under
the uploader's role: it commits whole or not at all. A job that fails, is cancelled or is a dry run rolls it
back and records its end on the progress connection instead. A process killed mid-job leaves the transaction
to PostgreSQL, which rolls it back; the job's row still says running until a live process reaps it
(`spatial.jobs.runner`).

What the uploader reads (the report, the error) names their file as they named it, never a path on the server.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import psycopg

from spatial.db import connect
from spatial.errors import Conflict, SpatialInputError
from spatial.identity.model import Identity
from spatial.io.loader import LoadOptions, LoadReport, load_into
from spatial.io.phases import COMMIT, ROLLBACK
from spatial.jobs import store
from spatial.jobs.options import form_words
from spatial.jobs.progress import Interrupt, Progress, Stopped
from spatial.jobs.propose import ROWS_TABLE, Proposed, propose_step
from spatial.redact import public_message
from spatial.session import as_caller_sync

log = logging.getLogger("lapis")
FORM_PARAMETERS = {"map": "mapping"}  # the loader's parameter names that the form spells otherwise


@dataclass(frozen=True)
class ImportJob:
    id: int
    identity: Identity  # the uploader: the job acts as them
    folder: Path  # the job's own folder, holding the upload; removed when the job ends
    filename: str  # the upload's name as the uploader gave it (made safe), the file's name in `folder`
    options: LoadOptions
    title: str = ""  # the proposal's title

    @property
    def path(self) -> Path:
        return self.folder / self.filename


@dataclass
class Outcome:
    state: str
    report: dict[str, Any]
    errors: list[dict[str, Any]] = field(default_factory=list)
    recorded: bool = False  # the job's end was written in its own transaction, with its proposal


def run_job(url: str, job: ImportJob, interrupt: Interrupt) -> str:
    """Run `job` (queued) to its end and record it; its final state."""
    try:
        with connect(url, autocommit=True) as status:
            if not store.start(status, job.identity, job.id):
                return "cancelled"  # cancelled (or reaped) while it waited
            progress = Progress(status, job.identity, job.id, interrupt, private=str(job.folder) + "/")
            outcome = _outcome(url, job, progress, interrupt)
            if outcome.recorded:
                return outcome.state
            report = {**outcome.report, "errors": outcome.errors}
            if not store.finish_as(status, job.identity, job.id, outcome.state, report, progress.as_dict()):
                return "cancelled"
            return outcome.state
    finally:
        shutil.rmtree(job.folder, ignore_errors=True)


def _outcome(url: str, job: ImportJob, progress: Progress, interrupt: Interrupt) -> Outcome:
    """The job's work, and how it ended: succeeded (committed, or a dry run's report), failed or cancelled."""
    try:
        return _work(url, job, progress, interrupt)
    except Stopped as exc:
        return _stopped(job, exc.reason)
    except psycopg.errors.QueryCanceled:
        if interrupt.reason is not None:  # our own interrupt stopped the statement
            return _stopped(job, interrupt.reason)
        return _failed(job, "Database timeout", "a statement of the import took longer than the server allows")
    except SpatialInputError as exc:
        title = "Conflict" if isinstance(exc, Conflict) else "Invalid file or option"
        return _failed(job, title, form_words(_public(job, str(exc))), exc.parameter)
    except psycopg.OperationalError:
        log.exception("import job %s lost its database connection", job.id)
        return _failed(job, "Database unavailable", "the database connection was lost: nothing was written; "
                                                    "upload the file again")
    except psycopg.Error as exc:
        diag = exc.diag
        detail = f" ({diag.message_detail})" if diag.message_detail else ""
        constraint = f" [constraint {diag.constraint_name}]" if diag.constraint_name else ""
        primary = (diag.message_primary or str(exc)).replace(f'"{ROWS_TABLE}"', f'"{job.options.layer}"')
        message = f"the database refused the import: {primary}{detail}{constraint}"
        return _failed(job, "Refused by the database", _public(job, message))
    except Exception:
        log.exception("import job %s failed", job.id)
        return _failed(job, "Internal error", "an unexpected error stopped the import (logged); nothing was written")


def _stopped(job: ImportJob, reason: str) -> Outcome:
    if reason == Interrupt.SHUTDOWN:
        return _failed(job, "Interrupted", "the server was stopped while the job ran: nothing of it was written; "
                                           "upload the file again")
    return Outcome("cancelled", {})


def _work(url: str, job: ImportJob, progress: Progress, interrupt: Interrupt) -> Outcome:
    proposed = Proposed(title=job.title or f"Import of {job.filename} into {job.options.layer}",
                        identity=job.identity, dry_run=job.options.dry_run)
    with connect(url, autocommit=True) as conn:
        interrupt.attach(conn)
        try:
            interrupt.check()
            with as_caller_sync(conn, job.identity):
                report = load_into(conn, job.path, job.options, progress.advance, progress.on_total,
                                   progress.on_phase, apply=partial(propose_step, proposed=proposed))
                document = _report(job, report, proposed)
                if job.options.dry_run or report.loaded == 0 or proposed.proposal_id is None:
                    progress.on_phase(ROLLBACK, "dry run" if job.options.dry_run else "nothing to propose")
                    raise psycopg.Rollback()
                progress.on_phase(COMMIT, f"{proposed.changes:,} changes in proposal {proposed.proposal_id}")
                if not store.finish(conn, job.id, "succeeded", {**document, "errors": []}, progress.as_dict(),
                                    proposed.proposal_id):
                    raise Stopped(Interrupt.CANCELLED)
        finally:
            interrupt.attach(None)
    if report.loaded == 0:
        why = "every feature was rejected (see rejects)" if report.rejected else "the file has no features"
        return Outcome("failed", document, [{"title": "Nothing to load", "detail": f"nothing to load: {why}"}])
    if proposed.proposal_id is None and not job.options.dry_run:
        document["warnings"].append(f"no changes: {job.options.layer} already holds every feature of the file as it "
                                    "is; no proposal was made")
        return Outcome("succeeded", document)
    return Outcome("succeeded", document, recorded=not job.options.dry_run)


def _report(job: ImportJob, report: LoadReport, proposed: Proposed) -> dict[str, Any]:
    """The loader's report as the uploader reads it: their file's name in place of the server's path, and what
    the proposal holds."""
    document = _scrub(report.as_dict(), str(job.folder) + "/")
    document["proposal"] = {"id": proposed.proposal_id, **proposed.counts}
    return document


def _scrub(value: Any, prefix: str) -> Any:
    if isinstance(value, str):
        return value.replace(prefix, "")
    if isinstance(value, dict):
        return {k: _scrub(v, prefix) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, prefix) for v in value]
    return value


def _public(job: ImportJob, message: str) -> str:
    return public_message(message.replace(str(job.folder) + "/", ""), [job.path], name=job.filename)


def _failed(job: ImportJob, title: str, detail: str, parameter: str | None = None) -> Outcome:
    error: dict[str, Any] = {"title": title, "detail": detail}
    if parameter is not None:
        error["parameter"] = FORM_PARAMETERS.get(parameter, parameter)
    return Outcome("failed", {}, [error])
