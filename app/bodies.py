"""Request bodies of the POST routes: read with a size limit (413 past it, before the whole body is held), and
JSON bodies parsed after their media type is checked (415 otherwise)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request

from app.problems import Problem
from spatial.errors import TooLarge, UnsupportedFormat

JSON_BODY = ("application/json", "application/geo+json")


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"body: more than {limit} bytes", parameter="body")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"body: more than {limit} bytes", parameter="body")
        chunks.append(chunk)
    return b"".join(chunks)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def json_body(request: Request, limit: int) -> Any:
    if media_type(request) not in JSON_BODY:
        raise UnsupportedFormat("body: send application/geo+json or application/json", parameter="Content-Type")
    try:
        return orjson.loads(await read_body(request, limit))
    except orjson.JSONDecodeError as exc:
        raise Problem(400, "Invalid body", f"body: not JSON: {exc}", parameter="body") from None
