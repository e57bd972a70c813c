"""How `lapis serve` runs the app: uvicorn with N worker processes and LAPIS's own access log.

Workers are separate processes, each with its own pools and in-memory tile cache. They share:
- the tile cache on disk: with `--workers` > 1 it defaults to `<data dir>/tile-cache` (unless
  `LAPIS_TILE_CACHE_DIR` is set or the cache is off), so a tile rendered by one worker is read by the others;
- data versions: every worker reads the layers' versions from the database per request (batched: one round trip
  serves every request that arrived meanwhile) and keys its caches by them, so an edit — even plain SQL — shows
  in the next tile of every worker, and the entries of old versions are never served again (they age out of
  the LRU; old folders of the disk cache can be deleted at any time).
uvicorn's master process restarts a worker that dies (kill -9 included).
"""

from __future__ import annotations

import os

from starlette.types import ASGIApp

from app.access_log import AccessLog, open_writer
from app.main import create_app
from spatial.settings import Settings


def create_served_app() -> ASGIApp:
    """The uvicorn factory of `lapis serve` (called once in every worker): the app, wrapped in the access log
    unless LAPIS_ACCESS_LOG=off."""
    settings = Settings()
    app = create_app(settings)
    writer = open_writer(settings.access_log)
    return app if writer is None else AccessLog(app, writer)


def shared_tile_cache(settings: Settings, workers: int) -> str | None:
    """The disk cache folder several workers should share, when the settings leave it to us (else None)."""
    if workers > 1 and settings.tile_cache_enabled and settings.tile_cache_dir is None:
        return str(settings.shared_tile_cache_dir)
    return None


def serve(settings: Settings, *, host: str | None, port: int | None, workers: int) -> None:
    import uvicorn

    if (folder := shared_tile_cache(settings, workers)) is not None:
        os.environ["LAPIS_TILE_CACHE_DIR"] = folder  # read by every worker's Settings()
    if host:  # the app (built from the environment in each worker) answers for the address it is bound to
        os.environ["LAPIS_HOST"] = host
    uvicorn.run("app.serving:create_served_app", factory=True, host=host or settings.host,
                port=port or settings.port, workers=workers, log_level="info", access_log=False,
                server_header=False)  # no "server: uvicorn" banner on the responses
