"""RFC 9457 problem details: every client mistake is a 4xx `application/problem+json` naming the
parameter; nothing leaks SQL or stack traces."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from spatial.json import dumps

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("lapis")


class Problem(Exception):
    """Raise anywhere in a request: becomes a problem+json response."""

    def __init__(self, status: int, title: str, detail: str | None = None, *,
                 parameter: str | None = None, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.parameter = parameter
        self.headers = headers or {}
        self.extra = extra


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


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        return problem_response(exc.status, exc.title, exc.detail, parameter=exc.parameter,
                                instance=request.url.path, headers=exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        first = errors[0] if errors else {}
        parameter = _validation_parameter(first)
        detail = f"{parameter}: {first.get('msg', 'invalid value')}" if parameter else str(first.get("msg"))
        return problem_response(400, "Invalid parameter", detail, parameter=parameter, instance=request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        title = {404: "Not found", 405: "Method not allowed", 413: "Content too large",
                 415: "Unsupported media type"}.get(exc.status_code, "Error")
        return problem_response(exc.status_code, title, str(exc.detail) if exc.detail else None,
                                instance=request.url.path, headers=getattr(exc, "headers", None))

    @app.exception_handler(asyncpg.QueryCanceledError)
    async def _timeout(request: Request, exc: asyncpg.QueryCanceledError) -> Response:
        return problem_response(503, "Database timeout", "the query took longer than the configured "
                                "statement_timeout; narrow the request", instance=request.url.path,
                                headers={"Retry-After": "5"})

    @app.exception_handler(OSError)
    @app.exception_handler(asyncpg.PostgresConnectionError)
    @app.exception_handler(asyncpg.CannotConnectNowError)
    async def _unavailable(request: Request, exc: Exception) -> Response:
        log.warning("database unavailable: %s", exc)
        return problem_response(503, "Database unavailable", "the database does not answer",
                                instance=request.url.path, headers={"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return problem_response(500, "Internal server error", "an unexpected error was logged",
                                instance=request.url.path)


SPATIAL_STATUS = {"invalid": (400, "Invalid parameter"), "not_found": (404, "Not found"),
                  "invalid_geometry": (422, "Invalid geometry"), "too_large": (413, "Content too large"),
                  "unsupported_format": (415, "Unsupported media type")}


def install_spatial_handlers(app: FastAPI) -> None:
    """Domain input errors from `spatial` (which knows no HTTP) → problem+json with their parameter."""
    from spatial.errors import SpatialInputError
    from spatial.layers import UnknownLayer

    @app.exception_handler(SpatialInputError)
    async def _spatial(request: Request, exc: SpatialInputError) -> Response:
        status, title = SPATIAL_STATUS.get(exc.kind, (400, "Invalid parameter"))
        return problem_response(status, title, exc.detail, parameter=exc.parameter, instance=request.url.path)

    @app.exception_handler(UnknownLayer)
    async def _unknown_layer(request: Request, exc: UnknownLayer) -> Response:
        return problem_response(404, "Not found", f"no collection {exc.layer_id!r}", parameter="collectionId",
                                instance=request.url.path)

    @app.exception_handler(asyncpg.DataError)
    async def _data(request: Request, exc: asyncpg.DataError) -> Response:
        # a value the client sent that PostgreSQL rejects (division by zero in a filter, a date out of range…)
        message = exc.args[0] if exc.args else str(exc)
        return problem_response(400, "Invalid value", f"the database rejected a value: {message}",
                                instance=request.url.path)
