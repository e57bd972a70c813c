"""The long-lived things a request needs — settings, the API pool, the tile service with its pool and cache —
built together, once per app start, by `create_app`'s lifespan, and closed together at shutdown. Routers never
build or look them up themselves: they ask `app.dependencies` for them."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.offload import Offload
from spatial.pool import Database
from spatial.registry import Registry
from spatial.settings import Settings
from spatial.tiles.service import TILE_SERVER_SETTINGS, TileService


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database  # the API pool (features, planner queries, metrics)
    tiles: TileService  # with a pool of its own: see `tile_service`
    conformance: tuple[str, ...]  # OGC conformance classes the routers implement (listed at /conformance)
    registry: Registry  # the layers this app serves (collections, tiles, style, search)
    offload: Offload = field(default_factory=Offload)  # child processes parsing big JSON bodies

    async def close(self) -> None:
        await self.db.close()
        await self.tiles.db.close()
        self.offload.close()


def tile_service(settings: Settings, url: str, registry: Registry) -> TileService:
    """The TileService, with a pool of its own that plans each tile query for its own zoom (the best index differs
    between a z8 and a z14 tile) and skips the per-release reset, and the tile cache the settings ask for."""
    db = Database(url, min_size=1, max_size=settings.pool_max_size, statement_timeout_ms=settings.statement_timeout_ms,
                  server_settings=TILE_SERVER_SETTINGS, reset_on_release=False)
    return TileService(db, cache=settings.tile_cache_enabled, cache_size=settings.tile_cache_size,
                       cache_bytes=settings.tile_cache_bytes,
                       cache_dir=settings.tile_cache_dir if settings.tile_cache_enabled else None,
                       min_feature_px=settings.tile_min_feature_px, max_features=settings.tile_max_features,
                       cap_order=settings.tile_cap_order, registry=registry)


def build_services(settings: Settings, url: str, conformance: tuple[str, ...], registry: Registry) -> Services:
    """Every service of one app. Pools connect on first use, so this works (and /health answers 503) while the
    database is down."""
    db = Database(url, min_size=settings.pool_min_size, max_size=settings.pool_max_size,
                  statement_timeout_ms=settings.statement_timeout_ms)
    return Services(settings=settings, db=db, tiles=tile_service(settings, db.url, registry), conformance=conformance,
                    registry=registry)
