"""Health for the machines that route traffic and restart processes:

- `/health/live` — liveness: the process answers (no database; restart the process only when this fails);
- `/health/ready` — readiness: the database answers within `LAPIS_READY_TIMEOUT_MS`, asked on the probe's own
  connection (`spatial.probe`), never queued behind API work; take the process out of rotation while it fails;
- `/health` — the readiness check plus the server's versions (PostgreSQL, PostGIS, PROJ, GEOS), as before.

None of them holds a pool connection, so ten slow queries cannot make a healthy server look dead.
"""

from __future__ import annotations

import os

from fastapi import APIRouter
from starlette.responses import Response

from app.dependencies import ServicesDep
from app.negotiate import json_response
from app.problems import problem_response
from spatial.errors import DatabaseUnavailable

router = APIRouter(tags=["health"])
NOT_READY = {"Retry-After": "5"}


def _unavailable(instance: str) -> Response:
    return problem_response(503, "Database unavailable", "the database does not answer", instance=instance,
                            headers=NOT_READY)


@router.get("/health/live", summary="Liveness: the process answers (no database)")
async def live() -> Response:
    return json_response({"status": "alive", "pid": os.getpid()})


@router.get("/health/ready", summary="Readiness: the database answers, on a connection of its own")
async def ready(services: ServicesDep) -> Response:
    try:
        await services.pools.probe.check()
    except DatabaseUnavailable:
        return _unavailable("/health/ready")
    replicas = [{"name": h.name, "healthy": h.healthy, "lag_ms": h.lag_ms, "reason": h.reason}
                for h in services.pools.replica_health()]
    body: dict[str, object] = {"status": "ready"}
    if replicas:
        body["replicas"] = replicas  # as last measured; reads skip an unhealthy one (readiness is the primary's)
    return json_response(body)


@router.get("/health", summary="Readiness and the database's versions")
async def health(services: ServicesDep) -> Response:
    try:
        versions = await services.pools.probe.check()
    except DatabaseUnavailable:
        return _unavailable("/health")
    return json_response({"status": "ok", **versions})
