"""RFC 9457 problem details: every client mistake is a 4xx `application/problem+json` naming the
parameter; nothing leaks SQL or stack traces.

One table, `PROBLEM_TYPES`, says which status and title each error class gets; an error takes the row of the
nearest class in its MRO, so a new domain error only has to derive from the right class in `spatial.errors`.
One handler, `problem_handler`, answers every exception the app raises (registered once per root of the table,
since Starlette looks handlers up by class).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from spatial.errors import (
    DatabaseUnavailable,
    InvalidGeometry,
    InvalidParameter,
    NotFound,
    SpatialInputError,
    TooLarge,
    UnsupportedFormat,
)
from spatial.json import dumps
from spatial.layers import UnknownLayer
from spatial.pool import PoolTimeout
from spatial.tiles.grid import TileOutOfRange, UnknownTileMatrixSet
from spatial.tiles.service import UnknownTileLayer

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER = {"Retry-After": "5"}
log = logging.getLogger("lapis")


class Problem(Exception):
    """Raise anywhere in a request for an HTTP-only answer (a body too large, a media type not read) that no
    domain error describes: becomes a problem+json response with exactly this status and title."""

    def __init__(self, status: int, title: str, detail: str | None = None, *,
                 parameter: str | None = None, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.parameter = parameter
        self.headers = headers or {}
        self.extra = extra


@dataclass(frozen=True)
class ProblemType:
    status: int
    title: str
    # Errors whose message is not for the client (the database's) get this detail instead; `{message}` is
    # replaced by the error's first argument where it says what the client sent wrong.
    detail: str | None = None
    headers: dict[str, str] | None = None


_UNAVAILABLE = ProblemType(503, "Database unavailable", "the database does not answer", RETRY_AFTER)
PROBLEM_TYPES: dict[type[BaseException], ProblemType] = {
    SpatialInputError: ProblemType(400, "Invalid parameter"),
    InvalidParameter: ProblemType(400, "Invalid parameter"),
    NotFound: ProblemType(404, "Not found"),
    UnknownLayer: ProblemType(404, "Not found"),
    UnknownTileLayer: ProblemType(404, "Unknown collection"),
    UnknownTileMatrixSet: ProblemType(404, "Unknown tile matrix set"),
    TileOutOfRange: ProblemType(404, "Tile out of range"),
    TooLarge: ProblemType(413, "Content too large"),
    UnsupportedFormat: ProblemType(415, "Unsupported media type"),
    InvalidGeometry: ProblemType(422, "Invalid geometry"),
    # a value the client sent that PostgreSQL rejects (division by zero in a filter, a date out of range…)
    asyncpg.DataError: ProblemType(400, "Invalid value", "the database rejected a value: {message}"),
    asyncpg.QueryCanceledError: ProblemType(503, "Database timeout", "the query took longer than the configured "
                                            "statement_timeout; narrow the request", RETRY_AFTER),
    # the database's own connection errors only: an OSError of anything else is a 500 like any other bug
    DatabaseUnavailable: _UNAVAILABLE,
    PoolTimeout: ProblemType(503, "Server busy", "every database connection for this kind of request is busy; "
                             "retry shortly", {"Retry-After": "1"}),
    asyncpg.PostgresConnectionError: _UNAVAILABLE,
    asyncpg.CannotConnectNowError: _UNAVAILABLE,
    asyncpg.AdminShutdownError: _UNAVAILABLE,
}
HTTP_TITLES = {404: "Not found", 405: "Method not allowed", 413: "Content too large", 415: "Unsupported media type"}
INTERNAL = ProblemType(500, "Internal server error", "an unexpected error was logged")


def problem_type(exc: BaseException) -> ProblemType | None:
    """The table's row for the nearest class of `exc` that has one (None: not an error the table knows)."""
    return next((PROBLEM_TYPES[cls] for cls in type(exc).__mro__ if cls in PROBLEM_TYPES), None)


def problem_response(status: int, title: str, detail: str | None = None, *, parameter: str | None = None,
                     instance: str | None = None, headers: dict[str, str] | None = None,
                     **extra: Any) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if parameter:
        body["parameter"] = parameter
    if instance:
        body["instance"] = instance
    body.update(extra)
    return Response(dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _validation_parameter(error: dict[str, Any]) -> str | None:
    location = [str(part) for part in error.get("loc", ()) if part not in ("query", "path", "body", "header")]
    return ".".join(location) or None


def problem_of(exc: BaseException, instance: str) -> Response:
    """The problem+json answer to any exception raised while serving `instance` (a path)."""
    if isinstance(exc, Problem):
        return problem_response(exc.status, exc.title, exc.detail, parameter=exc.parameter, instance=instance,
                                headers=exc.headers, **exc.extra)
    if isinstance(exc, RequestValidationError):  # FastAPI's own checks of declared parameters (types, bounds)
        first = exc.errors()[0] if exc.errors() else {}
        parameter = _validation_parameter(first)
        detail = f"{parameter}: {first.get('msg', 'invalid value')}" if parameter else str(first.get("msg"))
        return problem_response(400, "Invalid parameter", detail, parameter=parameter, instance=instance)
    if isinstance(exc, StarletteHTTPException):  # routing: no such path, method not allowed
        return problem_response(exc.status_code, HTTP_TITLES.get(exc.status_code, "Error"),
                                str(exc.detail) if exc.detail else None, instance=instance, headers=exc.headers)
    kind = problem_type(exc)
    if kind is None:
        log.error("unhandled error on %s", instance, exc_info=exc)
        kind = INTERNAL
    elif kind.status >= 500:
        log.warning("%s on %s: %s", kind.title.lower(), instance, exc)
    if isinstance(exc, SpatialInputError):
        return problem_response(kind.status, kind.title, exc.detail, parameter=exc.parameter, instance=instance)
    message = exc.args[0] if exc.args else str(exc)
    detail = kind.detail.format(message=message) if kind.detail else None
    return problem_response(kind.status, kind.title, detail, instance=instance, headers=kind.headers)


async def problem_handler(request: Request, exc: Exception) -> Response:
    return problem_of(exc, request.url.path)


def install_problem_handlers(app: FastAPI) -> None:
    """`problem_handler` for every exception: the table's classes, the HTTP ones, and `Exception` (Starlette
    answers that one last, from its outermost middleware, and re-raises it for the server's log)."""
    for cls in (Problem, RequestValidationError, StarletteHTTPException, *PROBLEM_TYPES, Exception):
        app.add_exception_handler(cls, problem_handler)
