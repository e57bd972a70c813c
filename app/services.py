"""The long-lived things a request needs — settings, the database pools (one per kind of work: `app.pools`), the
tile service with its pool and cache — built together, once per app start, by `create_app`'s lifespan, and
closed together at shutdown. Routers never build or look them up themselves: they ask `app.dependencies`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from app.offload import Offload
from app.pools import Pools, build_pools
from spatial.jobs.runner import ImportRunner
from spatial.pool import Database
from spatial.registry import Registry
from spatial.settings import Settings
from spatial.tiles.service import TileService


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database  # the primary's API pool (features, metrics; reads go through `pools.api`, replicas included)
    tiles: TileService  # with a pool of its own: see `tile_service`
    conformance: tuple[str, ...]  # OGC conformance classes the routers implement (listed at /conformance)
    registry: Registry  # the layers this app serves (collections, tiles, style, search)
    pools: Pools  # every pool by kind of work, and the readiness probe's connection
    imports: ImportRunner  # uploads loaded as jobs, in worker threads (spatial.jobs)
    offload: Offload = field(default_factory=Offload)  # child processes parsing big JSON bodies

    async def close(self) -> None:
        await asyncio.to_thread(self.imports.close)  # running imports rolled back, before the pools go
        await self.pools.close()
        self.offload.close()


def tile_service(settings: Settings, pools: Pools, registry: Registry) -> TileService:
    """The TileService on the tiles pool (which plans each tile query for its own zoom — the best index differs
    between a z8 and a z14 tile — and skips the per-release reset), rendering on replicas when there are some,
    with the tile cache the settings ask for."""
    return TileService(pools.tiles.primary, cache=settings.tile_cache_enabled, cache_size=settings.tile_cache_size,
                       cache_bytes=settings.tile_cache_bytes,
                       cache_dir=settings.tile_cache_dir if settings.tile_cache_enabled else None,
                       min_feature_px=settings.tile_min_feature_px, max_features=settings.tile_max_features,
                       cap_order=settings.tile_cap_order, registry=registry, replicas=pools.tiles.replicas)


def build_services(settings: Settings, url: str, conformance: tuple[str, ...], registry: Registry) -> Services:
    """Every service of one app. Pools connect on first use, so this works (and /health answers 503) while the
    database is down."""
    pools = build_pools(settings, url)
    imports = ImportRunner(url, settings.import_workers, settings.import_max_queued, settings.import_tmp_dir)
    imports.start()  # marks failed the jobs a stopped server left unfinished
    return Services(settings=settings, db=pools.api.primary, tiles=tile_service(settings, pools, registry),
                    conformance=conformance, registry=registry, pools=pools, imports=imports)
