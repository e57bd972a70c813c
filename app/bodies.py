"""Request bodies of the POST routes: received with a size limit (413 past it, before the whole body is held), into
memory while small and into a temporary file past `LAPIS_BODY_SPOOL_BYTES`; JSON bodies parsed after their media
type is checked (415 otherwise) — a big one in a child process (`app.offload`) with what the route makes of it,
so no other request waits for the parse — and refused (400) when a text holds a NUL character, which PostgreSQL
cannot store.
Multipart bodies (uploads) are received the same way and taken apart in a worker thread (`multipart_file`)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import orjson
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from app.dependencies import services_of
from app.multipart import read_form
from app.offload import parse_file
from app.problems import Problem
from spatial.errors import TooLarge, UnsupportedFormat

JSON_BODY = ("application/json", "application/geo+json")
T = TypeVar("T")


def declared_too_large(request: Request, limit: int, parameter: str = "body") -> None:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"{parameter}: more than {limit} bytes", parameter=parameter)


async def receive_body(request: Request, limit: int, parameter: str = "body") -> tuple[IO[bytes], int]:
    """The body, in a file positioned at its start (in memory up to the spooling threshold), and its size."""
    declared_too_large(request, limit, parameter)
    spool = services_of(request.app).settings.body_spool_bytes
    body = tempfile.SpooledTemporaryFile(max_size=spool, prefix="lapis-body-")  # noqa: SIM115 - returned
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"{parameter}: more than {limit} bytes", parameter=parameter)
            body.write(chunk)
    except BaseException:
        body.close()
        raise
    body.seek(0)
    return body, size


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def json_body(request: Request, limit: int, convert: Callable[[Any], T] | None = None) -> T | Any:
    """The JSON body, parsed and handed to `convert` — for a body past the spooling threshold, in a child process
    (`app.offload`: `convert` must then be picklable, a module function or a partial of one)."""
    if media_type(request) not in JSON_BODY:
        raise UnsupportedFormat("body: send application/geo+json or application/json", parameter="Content-Type")
    body, size = await receive_body(request, limit)
    services = services_of(request.app)
    with body:
        if size <= services.settings.body_spool_bytes:
            obj = parse_json(body.read())
            return convert(obj) if convert is not None else obj
        with tempfile.NamedTemporaryFile(prefix="lapis-body-", suffix=".json") as named:
            await run_in_threadpool(shutil.copyfileobj, body, named)
            named.flush()
            return await services.offload.run(parse_file, named.name, convert)


def parse_json(raw: bytes) -> Any:
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Problem(400, "Invalid body", f"body: not JSON: {exc}", parameter="body") from None
    if b"\\u0000" in raw and (where := nul_path(obj)) is not None:
        raise Problem(400, "Invalid body", f"body: the text at {where} contains a NUL character (\\u0000), which "
                      "cannot be stored; remove it", parameter="body")
    return obj


def nul_path(obj: Any) -> str | None:
    """Where (a JSON path like features[3].properties.name) the first text with a NUL character is, if any."""
    stack: list[tuple[Any, str]] = [(obj, "$")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return path
        elif isinstance(node, dict):  # children pushed last first: the first NUL in document order is found first
            if any("\x00" in key for key in node):
                return f"{path} (a key)"
            stack.extend((value, f"{path}.{key}") for key, value in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((node[i], f"{path}[{i}]") for i in range(len(node) - 1, -1, -1))
    return None


def multipart_file(body: IO[bytes], content_type: str, field: str, target: Path) -> bool:
    """Write the part named `field` of a multipart/form-data `body` to `target` (blocking: run it in a worker
    thread); whether the body had such a part. Other parts are skipped unread (`app.multipart.read_form`)."""
    return read_form(body, content_type, field, target, keep_fields=False).found
