"""Request bodies of the POST routes: received with a size limit (413 past it, before the whole body is held), into
memory while small and into a temporary file past `LAPIS_BODY_SPOOL_BYTES`; JSON bodies parsed after their media
type is checked (415 otherwise) — a big one in a worker thread, with what the route makes of it, so the event loop
never waits for a parse — and refused (400) when a text holds a NUL character, which PostgreSQL cannot store."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import IO, Any, TypeVar

import orjson
from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.types import Message

from app.dependencies import services_of
from app.problems import Problem
from spatial.errors import TooLarge, UnsupportedFormat

JSON_BODY = ("application/json", "application/geo+json")
T = TypeVar("T")


def declared_too_large(request: Request, limit: int, parameter: str = "body") -> None:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"{parameter}: more than {limit} bytes", parameter=parameter)


async def receive_body(request: Request, limit: int) -> tuple[IO[bytes], int]:
    """The body, in a file positioned at its start (in memory up to the spooling threshold), and its size."""
    declared_too_large(request, limit)
    spool = services_of(request.app).settings.body_spool_bytes
    body = tempfile.SpooledTemporaryFile(max_size=spool, prefix="lapis-body-")  # noqa: SIM115 - returned
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"body: more than {limit} bytes", parameter="body")
            body.write(chunk)
    except BaseException:
        body.close()
        raise
    body.seek(0)
    return body, size


def bounded(request: Request, limit: int, parameter: str = "body") -> Request:
    """The same request, whose body raises TooLarge once more than `limit` bytes have come (for parsers that read
    the whole body themselves, such as the multipart one, whatever the Content-Length said)."""
    declared_too_large(request, limit, parameter)
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise TooLarge(f"{parameter}: more than {limit} bytes", parameter=parameter)
        return message

    return Request(request.scope, receive)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def json_body(request: Request, limit: int, convert: Callable[[Any], T] | None = None) -> T | Any:
    """The JSON body, parsed (and handed to `convert`, in the same worker thread for a big body)."""
    if media_type(request) not in JSON_BODY:
        raise UnsupportedFormat("body: send application/geo+json or application/json", parameter="Content-Type")
    body, size = await receive_body(request, limit)

    def parse() -> Any:
        with body:
            obj = parse_json(body.read())
        return convert(obj) if convert is not None else obj

    if size > services_of(request.app).settings.body_spool_bytes:
        return await run_in_threadpool(parse)
    return parse()


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
        elif isinstance(node, dict):
            for key, value in node.items():
                if "\x00" in key:
                    return f"{path} (a key)"
                stack.append((value, f"{path}.{key}"))
        elif isinstance(node, list):
            stack.extend((value, f"{path}[{i}]") for i, value in enumerate(node))
    return None
