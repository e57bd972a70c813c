"""RFC 9457 problem details: every client mistake is a 4xx `application/problem+json` naming the
parameter; nothing leaks SQL or stack traces.

One table, `PROBLEM_TYPES`, says which status and title each error class gets; an error takes the row of the
nearest class in its MRO, so a new domain error only has to derive from the right class in `spatial.errors`.
One handler, `problem_handler`, answers every exception the app raises (registered once per root of the table,
since Starlette looks handlers up by class).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from spatial.errors import (
    Conflict,
    DatabaseUnavailable,
    Forbidden,
    InvalidGeometry,
    InvalidParameter,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    SpatialInputError,
    TooLarge,
    Unauthenticated,
    UnsupportedFormat,
)
from spatial.json import dumps
from spatial.layers import UnknownLayer
from spatial.pool import PoolTimeout
from spatial.redact import scrub_paths
from spatial.tiles.grid import TileOutOfRange, UnknownTileMatrixSet
from spatial.tiles.service import UnknownTileLayer

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER = {"Retry-After": "5"}
log = logging.getLogger("lapis")
# The id of the request being served (set by `app.security`): every problem document carries it as `request_id`,
# and every log line about the request names it.
REQUEST_ID: ContextVar[str | None] = ContextVar("lapis_request_id", default=None)


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

    def __reduce__(self) -> tuple[Any, ...]:  # raised in a child process (app.offload), re-raised here
        return (_problem, (self.status, self.title, self.detail, self.parameter, self.headers, self.extra))


def _problem(status: int, title: str, detail: str | None, parameter: str | None, headers: dict[str, str],
             extra: dict[str, Any]) -> Problem:
    return Problem(status, title, detail, parameter=parameter, headers=headers, **extra)


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
    Unauthenticated: ProblemType(401, "Unauthenticated", headers={"WWW-Authenticate": 'Bearer realm="lapis"'}),
    Forbidden: ProblemType(403, "Forbidden"),
    Conflict: ProblemType(409, "Conflict"),
    PreconditionFailed: ProblemType(412, "Precondition failed"),
    PreconditionRequired: ProblemType(428, "Precondition required"),
    # a value the client sent that PostgreSQL rejects (division by zero in a filter, a date out of range…): the
    # detail says which kind (`data_error_detail`), never PostgreSQL's own words
    asyncpg.DataError: ProblemType(400, "Invalid value", "the database could not use a value of this request"),
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
        body["detail"] = scrub_paths(detail)  # a last guard: no path of this machine in an answer
    if parameter:
        body["parameter"] = parameter
    if instance:
        body["instance"] = instance
    body.update(extra)
    if (request_id := REQUEST_ID.get()) is not None:
        body["request_id"] = request_id
    return Response(dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _validation_parameter(error: dict[str, Any]) -> str | None:
    location = [str(part) for part in error.get("loc", ()) if part not in ("query", "path", "body", "header")]
    return ".".join(location) or None


def problem_of(exc: BaseException, instance: str, parameters: Iterable[str] = ()) -> Response:
    """The problem+json answer to any exception raised while serving `instance` (a path) with the query
    `parameters` (their names: they tell which parameter a database error was about, when only one can be)."""
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
    _log(exc, kind, instance)
    kind = kind or INTERNAL
    if isinstance(exc, SpatialInputError):
        return problem_response(kind.status, kind.title, exc.detail, parameter=exc.parameter, instance=instance,
                                headers=kind.headers)
    if isinstance(exc, asyncpg.DataError):
        parameter = data_error_parameter(parameters)
        return problem_response(kind.status, kind.title, data_error_detail(exc, parameter), parameter=parameter,
                                instance=instance)
    return problem_response(kind.status, kind.title, kind.detail, instance=instance, headers=kind.headers)


def _log(exc: BaseException, kind: ProblemType | None, instance: str) -> None:
    """One line per answered error, naming the request id; a traceback only for a bug (500). What a client error's
    answer leaves out (the database's message, a loader's full message kept as the cause) is logged here."""
    request_id = REQUEST_ID.get()
    if kind is None:
        log.error("request %s: unhandled error on %s", request_id, instance, exc_info=exc)
    elif kind.status >= 500 or isinstance(exc, asyncpg.PostgresError):
        log.warning("request %s: %s on %s: %s: %s", request_id, kind.title.lower(), instance, type(exc).__name__, exc)
    elif exc.__cause__ is not None:
        log.warning("request %s: %s on %s: %s (cause: %s)", request_id, kind.title.lower(), instance, exc,
                    exc.__cause__)


# What kind of value PostgreSQL refused, by SQLSTATE (class 22, data exceptions): said in our words.
DATA_ERRORS = {"22012": "a division by zero", "22003": "a number out of range", "22008": "a date or time out of range",
               "22007": "a malformed date or time", "22P02": "a value of the wrong type", "22001": "a text too long",
               "2201B": "an invalid pattern", "22021": "a character the database cannot store",
               "22023": "an invalid value", "22P05": "a character the database cannot store"}
# Query parameters whose values never reach the database as values (parsed, or identifiers from the registry).
VALUE_FREE = frozenset({"f", "limit", "crs", "bbox-crs", "filter-lang", "filter-crs", "properties", "sortby",
                        "numberMatched", "lang", "collections", "v", "cursor"})


def data_error_parameter(parameters: Iterable[str]) -> str | None:
    """The parameter a database data error was about, when exactly one of the request's could carry the value."""
    candidates = {name for name in parameters if name not in VALUE_FREE}
    return candidates.pop() if len(candidates) == 1 else None


def data_error_detail(exc: asyncpg.DataError, parameter: str | None) -> str:
    what = DATA_ERRORS.get(getattr(exc, "sqlstate", None) or "", "a value it cannot use")
    where = f"{parameter}: " if parameter else ""
    return f"{where}the database refused {what} in this request; check the values sent"


async def problem_handler(request: Request, exc: Exception) -> Response:
    if isinstance(exc, StarletteHTTPException) and exc.status_code == 405:
        allow = {"Allow": allowed_methods(request)}
        exc = StarletteHTTPException(405, exc.detail, headers={**(exc.headers or {}), **allow})
    return problem_of(exc, request.url.path, request.query_params.keys())


def allowed_methods(request: Request) -> str:
    """Every method some route offers at this path (Starlette's 405 names only the first route's)."""
    path = request.scope["path"][len(request.scope.get("root_path", "")):] or "/"
    methods: set[str] = set()
    for route in _routes(request.app.routes):
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


def _routes(routes: Iterable[Any]) -> Iterator[Any]:
    """The routes, those of included routers too (FastAPI keeps an included router whole; ours have no prefix)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes)
        else:
            yield route


def install_problem_handlers(app: FastAPI) -> None:
    """`problem_handler` for every exception: the table's classes, the HTTP ones, and `Exception` (Starlette
    answers that one last, from its outermost middleware, and re-raises it for the server's log)."""
    for cls in (Problem, RequestValidationError, StarletteHTTPException, *PROBLEM_TYPES, Exception):
        app.add_exception_handler(cls, problem_handler)
