"""Uploads as jobs: `POST /collections/{id}/imports` takes a file and the loader's options and answers 202 at
once with the job's URL; `GET /jobs/{id}` tells its state, progress and report, and the proposal it made;
`POST /jobs/{id}/cancel` stops it. The load itself runs in a worker thread (`spatial.jobs`), never on the event
loop, which only moves the body's bytes to disk.

What can be told before the job is queued is a 4xx right away — an unknown collection, a body past the size
limit (413), no file, a format not read (415), a bad option (400, naming it), a zip past its member or
extracted-size limits (413) — the rest is the loader's to find, and ends the job as failed with its message.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
import zipfile
from dataclasses import dataclass
from enum import Enum
from pathlib import Path as FilePath
from typing import IO, Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.auth import require
from app.bodies import media_type, receive_body
from app.dependencies import LayerDep, ServicesDep, WriteDatabaseDep
from app.multipart import read_form
from app.negotiate import JSON, base_url, json_response
from app.openapi_edits import EDITING_TAG, PROPOSALS_TAG
from app.problems import PROBLEM_JSON, Problem
from spatial.errors import Forbidden, InvalidParameter, NotFound, TooLarge, UnsupportedFormat
from spatial.identity.model import Identity, Role
from spatial.io.loader import LoadOptions
from spatial.io.sources import ArchiveTooLarge, SourceError, ZipLimits, check_archive
from spatial.jobs import store
from spatial.jobs.options import load_options, options_json
from spatial.jobs.runner import QueueFull
from spatial.jobs.work import ImportJob
from spatial.json import dumps
from spatial.layers import Layer
from spatial.redact import public_message
from spatial.settings import Settings

router = APIRouter()
# the editing routes' tags: their security (bearer) and answers are documented alike (app.openapi_edits)
UPLOAD_TAGS: list[str | Enum] = [EDITING_TAG, "imports"]
JOB_TAGS: list[str | Enum] = [PROPOSALS_TAG, "imports"]
EditorDep = Annotated[Identity, Depends(require(Role.editor))]
JobId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The job's id (from the upload's Location)")]
PRIVATE = {"Cache-Control": "private, no-store", "Vary": "Authorization"}
MAGIC = ((b"PK\x03\x04", ".zip"), (b"SQLite format 3\x00", ".gpkg"), (b"fgb\x03", ".fgb"))
NAME_LIMIT = 120

FORM_SCHEMA = {"type": "object", "required": ["file"], "properties": {
    "file": {"type": "string", "format": "binary", "description": "zipped shapefile(s), GeoPackage, GeoJSON, "
             "FlatGeobuf or CSV (WKT or lon/lat columns); named with its extension"},
    "mode": {"type": "string", "enum": ["append", "replace", "upsert"], "default": "append",
             "description": "append: every feature is new; upsert: features matched by key are replaced; "
                            "replace: as upsert, and the layer's features the file lacks are deleted"},
    "key": {"type": "string", "default": "code", "description": "the column features are matched by"},
    "encoding": {"type": "string", "default": "auto", "description": "auto, utf-8, cp1258, tcvn3, vni, latin-1"},
    "crs": {"type": "string", "description": "the file's CRS when it does not say (e.g. EPSG:9210)"},
    "mapping": {"type": "string", "description": 'JSON: source field → layer column, e.g. {"TEN": "name_vi"}'},
    "set": {"type": "string", "description": 'JSON: layer column → value for every feature'},
    "source_layer": {"type": "string", "description": "the layer of a GeoPackage holding several"},
    "dry_run": {"type": "boolean", "default": False, "description": "report only: no proposal"},
    "strict": {"type": "boolean", "default": False, "description": "reject invalid geometries instead of "
                                                                  "repairing them"}}}
JOB_EXAMPLE = {
    "id": 7, "collection": "parcels", "author": "lan", "state": "running", "filename": "thua-dat.zip",
    "options": {"mode": "upsert", "key": "code", "encoding": "auto", "crs": None, "mapping": {}, "set": {},
                "source_layer": None, "dry_run": False, "strict": False},
    "progress": {"phase": "stage", "detail": "features of 1 source(s) into the stage", "rows_done": 20000,
                 "rows_total": 48210},
    "report": None, "proposal": None, "created": "2026-11-27T08:00:00+00:00",
    "started": "2026-11-27T08:00:01+00:00", "finished": None,
    "links": [{"rel": "self", "type": JSON, "href": "https://plan.example.vn/jobs/7"}]}
def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


SIGNED_IN = {401: _problem("Sign in: send 'Authorization: Bearer <token>' (or the token is not valid)"),
             403: _problem("The caller's role may not do this (importing needs an editor), or the collection "
                             "is reference data")}
JOB_RESPONSE = {"content": {JSON: {"example": JOB_EXAMPLE}},
                "description": "the job: state (queued, running, succeeded, failed, cancelled), progress "
                               "(phase, rows_done of rows_total), report (the loader's report with the proposal's "
                               "counts and any errors), proposal (id and link) once it made one"}


@dataclass
class Upload:
    filename: str
    options: LoadOptions


@router.post("/collections/{collectionId}/imports", status_code=202, response_class=Response, tags=UPLOAD_TAGS,
             summary="Upload a file into a collection as a proposal (a job: 202 with its URL)",
             openapi_extra={"requestBody": {"required": True,
                                            "content": {"multipart/form-data": {"schema": FORM_SCHEMA}}}},
             responses={202: {**JOB_RESPONSE, "headers": {"Location": {"schema": {"type": "string"},
                                                                       "description": "the job's URL"}}},
                        **SIGNED_IN, 503: _problem("Every import worker is busy and the queue is full (see "
                                                   "Retry-After), or the database does not answer")})
async def create_import(request: Request, layer: LayerDep, caller: EditorDep, services: ServicesDep,
                        db: WriteDatabaseDep) -> Response:
    """Editors and above. The file is received within `LAPIS_UPLOAD_MAX_BYTES` (413 past it), checked as far
    as it can be without reading it, and queued: poll the job's URL (`Location`) until it has finished."""
    if not layer.editable:  # as for the Part 4 writes (app.routers.edits): reference data is reloaded, not edited
        raise Forbidden(f"{layer.id} is reference data, replaced by a reload from its source: not imported here")
    if media_type(request) != "multipart/form-data":
        raise UnsupportedFormat("body: send multipart/form-data with the file in the field 'file'",
                                parameter="Content-Type")
    settings, runner = services.settings, services.imports
    try:
        runner.reserve()
    except QueueFull as exc:
        raise Problem(503, "Server busy", str(exc), headers={"Retry-After": "30"}) from None
    folder: FilePath | None = None
    try:
        body, _ = await receive_body(request, settings.upload_max_bytes, "file")
        key = await run_in_threadpool(runner.key)
        folder = runner.folder(key)
        upload = await run_in_threadpool(_take_apart, body, request.headers.get("content-type", ""), folder,
                                         layer, settings)
        async with db.acquire() as conn:
            record = await store.create_job(conn, caller, layer.id, upload.filename, options_json(upload.options),
                                            key)
        runner.submit(ImportJob(record["id"], caller, folder, upload.filename, upload.options))
    except BaseException:
        runner.release()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    document = job_document(record, base_url(request))
    return Response(dumps(document), status_code=202, media_type=JSON,
                    headers={**PRIVATE, "Location": document["links"][0]["href"]})


@router.get("/jobs/{jobId}", response_class=Response, tags=JOB_TAGS, summary="An import job: state, progress, report",
            responses={200: JOB_RESPONSE, **SIGNED_IN, 404: _problem("No such job of the caller's")})
async def get_job(jobId: JobId, request: Request, caller: EditorDep, db: WriteDatabaseDep) -> Response:  # noqa: N803
    """Its author's, and every approver's and admin's; anyone else: 404."""
    async with db.acquire() as conn:
        record = await store.read_job(conn, caller, jobId)
    if record is None:
        raise NotFound(f"job {jobId}: no such job of yours", parameter="jobId")
    return json_response(job_document(record, base_url(request)), headers=PRIVATE)


@router.post("/jobs/{jobId}/cancel", response_class=Response, tags=JOB_TAGS, summary="Cancel an import job",
             responses={200: JOB_RESPONSE, **SIGNED_IN, 404: _problem("No such job of the caller's"),
                        409: _problem("The job had already finished")})
async def cancel_job(jobId: JobId, request: Request, caller: EditorDep, db: WriteDatabaseDep,  # noqa: N803
                     services: ServicesDep) -> Response:
    """A queued job never starts; a running one stops and rolls back (nothing of it is written)."""
    async with db.acquire() as conn:
        record = await store.cancel_job(conn, caller, jobId)
    if record is None:
        raise NotFound(f"job {jobId}: no such job of yours", parameter="jobId")
    if record["state"] != "cancelled":
        raise Problem(409, "Conflict", f"job {jobId} has already finished: {record['state']}", parameter="jobId")
    services.imports.interrupt(jobId)
    return json_response(job_document(record, base_url(request)), headers=PRIVATE)


def job_document(record: dict[str, Any], base: str) -> dict[str, Any]:
    """A job as the API shows it."""
    job_id, proposal = record["id"], record["proposal_id"]
    links = [{"rel": "self", "type": JSON, "href": f"{base}/jobs/{job_id}"},
             {"rel": "collection", "type": JSON, "href": f"{base}/collections/{record['layer']}"}]
    if proposal is not None:
        links.append({"rel": "proposal", "type": JSON, "href": f"{base}/proposals/{proposal}"})
    return {"id": job_id, "collection": record["layer"], "author": record["author"], "state": record["state"],
            "filename": record["filename"], "options": record["options"], "progress": record["progress"],
            "report": record["report"],
            "proposal": None if proposal is None else {"id": proposal, "href": f"{base}/proposals/{proposal}"},
            "created": record["created_at"], "started": record["started_at"], "finished": record["finished_at"],
            "links": links}


# --- taking the upload apart (in a worker thread) ---------------------------------------------------------------

def _take_apart(body: IO[bytes], content_type: str, folder: FilePath, layer: Layer, settings: Settings) -> Upload:
    """The file written into `folder` under a safe form of its name, the options checked, a zip's directory
    checked against the limits."""
    part = folder / ".upload"
    with body:
        form = read_form(body, content_type, "file", part)
    if not form.found:
        raise InvalidParameter("file: a multipart field 'file' is needed", parameter="file")
    if part.stat().st_size == 0:
        raise InvalidParameter("file: the file is empty", parameter="file")
    options = load_options(layer, form.fields, settings.import_batch_rows)
    filename = _filename(form.filename, part, settings.import_format_list)
    path = part.rename(folder / filename)
    if path.suffix.lower() == ".zip":
        limits = ZipLimits(settings.upload_max_extracted_bytes, settings.upload_max_members,
                           settings.upload_max_ratio)
        try:
            check_archive(path, limits)
        except ArchiveTooLarge as exc:
            raise TooLarge(_public(exc, path, filename), parameter="file") from None
        except SourceError as exc:
            raise InvalidParameter(_public(exc, path, filename), parameter="file") from None
    return Upload(filename, options)


def _filename(given: str | None, part: FilePath, allowed: tuple[str, ...]) -> str:
    """The upload's name as the job will show it: the client's, without folders or odd characters; its
    extension one of `allowed` (or, with none, the format found from the file's first bytes)."""
    name = unicodedata.normalize("NFC", re.split(r"[\\/]", given or "")[-1]).strip()
    name = re.sub(r"[^\w.\- ]", "_", name).lstrip(".")[-NAME_LIMIT:]
    suffix = FilePath(name).suffix.lower()
    if not suffix:
        with part.open("rb") as f:
            head = f.read(64)
        suffix = next((ext for magic, ext in MAGIC if head.startswith(magic)), "")
        if not suffix and head.lstrip()[:1] == b"{":
            suffix = ".geojson"
        name = f"{name or 'upload'}{suffix}"
    if suffix not in allowed:
        shown = suffix or "a file of unknown format"
        raise UnsupportedFormat(f"file: {shown} is not a format an import reads; send one of "
                                f"{', '.join(allowed)} (named with its extension)", parameter="file")
    if suffix == ".zip" and not zipfile.is_zipfile(part):
        raise InvalidParameter("file: not a readable zip archive", parameter="file")
    return name


def _public(exc: Exception, path: FilePath, filename: str) -> str:
    return public_message(str(exc), [path], name=filename)
