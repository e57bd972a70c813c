from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from app.dependencies import DatabaseDep
from app.negotiate import json_response
from app.problems import problem_response
from spatial.catalog import server_versions

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness and database check")
async def health(db: DatabaseDep) -> Response:
    try:
        async with db.acquire() as conn:
            versions = await server_versions(conn)
    except Exception as exc:  # any failure to reach the database is "unavailable", not a crash
        cause = exc.__cause__ or exc  # DatabaseUnavailable: the connection error it was raised from
        return problem_response(503, "Database unavailable", f"{type(cause).__name__}: the database does not answer",
                                instance="/health", headers={"Retry-After": "5"})
    return json_response({"status": "ok", **versions})
