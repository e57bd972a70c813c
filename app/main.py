"""The FastAPI app factory. Settings are injected; nothing is created at import time. The app's lifespan builds
its services (pools, tile service and cache: `app.services`) and closes them; routers receive them through
`app.dependencies`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from app.cors import install_cors
from app.head import HeadAsGet
from app.middleware import install_tile_fast_path
from app.problems import install_problem_handlers
from app.query_params import reject_unknown_query_parameters
from app.routers import (
    account,
    changes,
    check,
    docs,
    edits,
    features,
    health,
    history,
    imports,
    landing,
    metrics,
    planner,
    proposals,
    revisions,
    tiles,
    viewer,
)
from app.security import install_edge
from app.services import build_services
from app.signin import install_sign_in
from spatial.db import database_url
from spatial.layers import LAYERS
from spatial.registry import Registry
from spatial.settings import PROJECT_ROOT, Settings

ROUTERS = (health.router, metrics.router, landing.router, features.router, edits.router, proposals.router,
           planner.router, check.router, docs.router, tiles.router, viewer.router, account.router,
           imports.router, history.router, revisions.router, changes.router)
# OGC conformance classes, each declared by the router that implements it (listed at /conformance)
CONFORMANCE: tuple[str, ...] = (*features.CONFORMANCE, *edits.CONFORMANCE, *getattr(tiles, "CONFORMANCE", ()))
SWAGGER_UI_DIR = PROJECT_ROOT / "node_modules" / "swagger-ui-dist"


def create_app(settings: Settings | None = None, *, db_url: str | None = None,
               registry: Registry = LAYERS) -> FastAPI:
    """The app serving `registry`'s layers (collections, tiles, style, search) from the configured database."""
    settings = settings or Settings()
    url = db_url or database_url(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = services = build_services(settings, url, CONFORMANCE, registry)
        try:
            yield
        finally:
            await services.close()

    app = FastAPI(
        title="LAPIS — Long An Planning Information System",
        version="0.1.0",
        description="Long An provincial master plan 2021–2030, vision 2050 (Decision 686/QĐ-TTg): "
                    "plan layers as OGC API Features and Tiles, and plan-aware queries.",
        lifespan=lifespan,
        docs_url=None,  # FastAPI's default pages load Swagger UI from a CDN; /api.html serves it locally
        redoc_url=None,
        dependencies=[Depends(reject_unknown_query_parameters)],  # 400 for what a resource does not declare
    )
    install_problem_handlers(app)
    install_sign_in(app, settings)  # OpenID Connect keys and the failed sign-in limit (app.signin)
    for router in ROUTERS:
        app.include_router(router)
    install_tile_fast_path(app)  # well-formed tile requests skip FastAPI's per-request machinery
    app.add_middleware(HeadAsGet)  # outside the fast path: a HEAD tile request takes it too
    install_edge(app, settings)  # request id, Host policy, NUL refusal, security headers (app.security)
    install_cors(app, settings)  # outermost: every answer, the fast path's and the edge's too, carries CORS headers
    if SWAGGER_UI_DIR.is_dir():
        app.mount(docs.SWAGGER_PATH, StaticFiles(directory=SWAGGER_UI_DIR), name="swagger-ui")
    return app


def create_app_from_env() -> FastAPI:
    """Entry point for `uvicorn --factory app.main:create_app_from_env`."""
    return create_app(Settings())
