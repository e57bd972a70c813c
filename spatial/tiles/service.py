"""Rendering tiles: per-layer MVTs fetched concurrently, assembled into composite tiles, cached by data version,
with concurrent misses for the same tile computed once.

With read replicas, data versions are still read on the primary, together with its WAL position, and a tile is
rendered on a replica only once that replica has replayed past that position (else on the primary): a tile
cached under a version then always shows at least that version's data, never an older one from a lagging
replica."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import asyncpg

from spatial.catalog import layer_versions
from spatial.layers import LAYERS
from spatial.pool import Database
from spatial.registry import Registry, UnknownLayer
from spatial.replicaset import ReplicaSet, write_lsn
from spatial.tiles.cache import DEFAULT_CACHE_BYTES, CacheKey, RenderedTile, TileCache
from spatial.tiles.changes import ChangeIndex, read_changes
from spatial.tiles.grid import BUFFER, EXTENT, Tile
from spatial.tiles.layers import TileLayer, generalisation, tile_layers_of
from spatial.tiles.limits import LayerExtent, TilesetLimits, tileset_limits
from spatial.tiles.versions import VersionReader, Versions, version_tag

Box = tuple[float, float, float, float]
# Session settings of the tile pool: plan each tile query for its own zoom (the best index differs between a z8
# and a z14 tile), and no parallel workers (on a small machine, concurrent tiles already use every core).
# The tile pool runs single read-only statements only, so its connections skip asyncpg's reset on release.
TILE_SERVER_SETTINGS = {"plan_cache_mode": "force_custom_plan", "max_parallel_workers_per_gather": "0"}


class UnknownTileLayer(UnknownLayer):
    """No tiled collection of that id (a layer without geometry has no tiles)."""

    def describe(self) -> str:
        return f"unknown tiled collection {self.layer_id!r}; known: {', '.join(self.known)}"


def tile_layers(ids: Sequence[str] | None, registry: Registry = LAYERS) -> tuple[TileLayer, ...]:
    """Layers for a tileset in drawing order (bottom to top): the composite's, or the named subset of the tiled
    layers in the order named — the leftmost first, at the bottom (OGC API – Tiles, collections-selection)."""
    tiled = tile_layers_of(registry)
    if not ids:
        return tuple(layer for layer in tiled.values() if layer.spec.in_composite)
    for layer_id in ids:
        if layer_id not in tiled:
            raise UnknownTileLayer(layer_id, tiled)
    return tuple(tiled[layer_id] for layer_id in dict.fromkeys(ids))


@dataclass(frozen=True)
class KnownExtent:
    version: int  # the layer's data version it is the extent at
    extent: LayerExtent
    last_change: int  # the last recorded change (tile_changes id) it includes


NEVER_READ = -1  # no layer version is negative; a layer without one yet has None


class VersionsAt(dict[str, int]):
    """Layer versions, the tile changes read with them, and (with replicas) the primary's WAL position read right
    after them: a replica that has replayed that far holds at least these versions and changes."""

    def __init__(self, versions: Versions, changes: ChangeIndex, lsn: str | None = None) -> None:
        super().__init__(versions)
        self.changes = changes
        self.lsn = lsn


def tile_versions(versions: Versions, layers: Sequence[TileLayer], tile: Tile) -> tuple[int, ...]:
    """What a cached tile is keyed on: per layer, the latest recorded change that met the tile (`spatial.tiles.
    changes`), so a write re-keys the tiles it touched only; a layer that records no changes, its data version."""
    changes: ChangeIndex | None = getattr(versions, "changes", None)
    keyed = []
    for layer in layers:
        found = None if changes is None else changes.tile_version(layer.id, tile)
        keyed.append(versions.get(layer.id, 0) if found is None else found)
    return tuple(keyed)


class TileService:
    def __init__(self, db: Database, *, cache: bool = True, cache_size: int = 20_000,
                 cache_bytes: int = DEFAULT_CACHE_BYTES, cache_dir: Path | None = None, min_feature_px: float = 2.0,
                 max_features: int = 10_000, cap_order: Literal["size", "id"] = "size",
                 registry: Registry = LAYERS, replicas: ReplicaSet | None = None) -> None:
        self.db = db  # the primary: data versions, and every read when there are no replicas
        self.replicas = replicas  # whose primary is `db`
        self.registry = registry
        self.min_feature_px = min_feature_px
        self.max_features = max_features
        self.largest_first = cap_order == "size"
        self.cache = TileCache(cache_size, cache_dir, max_bytes=cache_bytes) if cache else None
        self._versions = VersionReader(self._fetch_versions)
        self._extents: dict[str, KnownExtent] = {}  # per layer, its extent at the last version asked for
        self._inflight: dict[CacheKey, asyncio.Future[RenderedTile]] = {}
        self._changes = ChangeIndex()
        self._changes_read_at: dict[str, int | None] = {}  # per tiled layer, its version when its changes were read

    def tile_layers(self, ids: Sequence[str] | None) -> tuple[TileLayer, ...]:
        """This service's tilesets: the composite's layers, or the named subset (UnknownTileLayer if one is not
        a tiled layer of its registry)."""
        return tile_layers(ids, self.registry)

    async def _fetch_versions(self) -> Versions:
        """The layers' versions and, for each tiled layer whose version moved, the tile changes that came with it
        (read after the versions: they may hold a later change too, never miss one)."""
        async with self.db.acquire() as conn:
            versions = await layer_versions(conn)
            moved = [layer.id for layer in self.registry.tiled
                     if self._changes_read_at.get(layer.id, NEVER_READ) != versions.get(layer.id)]
            if moved:
                self._changes = await read_changes(conn, self._changes, moved)
                self._changes_read_at.update({layer_id: versions.get(layer_id) for layer_id in moved})
            return VersionsAt(versions, self._changes, None if self.replicas is None else await write_lsn(conn))

    def _reader(self, versions: Versions | None) -> AbstractAsyncContextManager[asyncpg.Connection]:
        """A connection that sees at least `versions`: a replica that has replayed past them, or the primary."""
        lsn = getattr(versions, "lsn", None)
        return self.db.acquire() if self.replicas is None or lsn is None else self.replicas.read(after_lsn=lsn)

    async def versions(self) -> Versions:
        return await self._versions.get()

    async def data_version(self, layers: Sequence[TileLayer]) -> str:
        return version_tag(await self.versions(), [layer.id for layer in layers])

    async def bounds(self, layer: TileLayer, versions: Versions | None = None) -> Box | None:
        """The layer's EPSG:3857 extent (None when empty), remembered per data version."""
        return (await self.extent(layer, versions)).box

    async def extent(self, layer: TileLayer, versions: Versions | None = None) -> LayerExtent:
        """The layer's extent and largest feature size at its data version: the last one known grown by the boxes of
        the changes since (`LayerExtent.grown`), or — at first, after a whole-layer change, or for a layer that
        records no changes — read from the layer (a scan of all of it)."""
        versions = versions if versions is not None else await self.versions()
        version = versions.get(layer.id, 0)
        known = self._extents.get(layer.id)
        if known is not None and known.version == version:
            return known.extent
        changes: ChangeIndex | None = getattr(versions, "changes", None)
        recorded = None if changes is None else changes.layers.get(layer.id)
        boxes = None if known is None or recorded is None else recorded.boxes_after(known.last_change)
        if boxes is not None:
            assert known is not None and recorded is not None
            extent = known.extent.grown(boxes)
        else:
            extent = await self._read_extent(layer, versions)
        self._extents[layer.id] = KnownExtent(version, extent, recorded.last_id if recorded is not None else 0)
        return extent

    async def _read_extent(self, layer: TileLayer, versions: Versions) -> LayerExtent:
        async with self._reader(versions) as conn:
            row = await conn.fetchrow(layer.extent_sql)
        empty = row is None or row[0] is None
        return LayerExtent(None if empty else (row[0], row[1], row[2], row[3]), None if empty else row[4])

    async def limits(self, layers: Sequence[TileLayer], *, composite: bool,
                     versions: Versions | None = None) -> TilesetLimits:
        """The zooms, rows and columns of a tileset of `layers` (a tile outside them is out of range)."""
        versions = versions if versions is not None else await self.versions()
        extents = [await self.extent(layer, versions) for layer in layers]
        return tileset_limits(layers, extents, composite=composite, min_feature_px=self.min_feature_px)

    async def render(self, layers: Sequence[TileLayer], tile: Tile, *, composite: bool = False,
                     versions: Versions | None = None) -> RenderedTile:
        """The MVT of `layers` at `tile`. A composite tile leaves out layers below their composite min zoom.
        Pass `versions` read for this request to spare a second read."""
        if composite:
            layers = [layer for layer in layers if tile.z >= layer.composite_min_zoom]
        versions = versions if versions is not None else await self.versions()
        key: CacheKey = (tuple(layer.id for layer in layers), tile, tile_versions(versions, layers, tile))
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            return hit
        if (pending := self._inflight.get(key)) is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[RenderedTile] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            rendered = RenderedTile.of(await self._render(layers, tile, versions))
            if self.cache is not None:
                self.cache.put(key, rendered)
            future.set_result(rendered)
            return rendered
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()
            raise
        finally:
            del self._inflight[key]

    async def render_fresh(self, layers: Sequence[TileLayer], tile: Tile, *, composite: bool = False) -> RenderedTile:
        """The MVT straight from the database: no version read, no cache, no sharing with a render already in
        flight (which may have started before the latest write), no extent shortcut (an extent remembered without
        a version could be stale). What a server with its cache off serves: always the committed data."""
        if composite:
            layers = [layer for layer in layers if tile.z >= layer.composite_min_zoom]
        return RenderedTile.of(await self._render(layers, tile, None))

    async def _render(self, layers: Sequence[TileLayer], tile: Tile, versions: Versions | None) -> bytes:
        margin = BUFFER / EXTENT
        if versions is None:
            wanted = list(layers)
        else:
            wanted = [layer for layer in layers
                      if (box := await self.bounds(layer, versions)) is not None and tile.intersects(box, margin)]
        if not wanted:
            return b""
        if len(wanted) == 1:
            return await self._layer_tile(wanted[0], tile, versions)
        parts = await asyncio.gather(*(self._layer_tile(layer, tile, versions) for layer in wanted))
        return b"".join(parts)

    async def _layer_tile(self, layer: TileLayer, tile: Tile, versions: Versions | None) -> bytes:
        tolerance, min_size = generalisation(tile, self.min_feature_px)
        async with self._reader(versions) as conn:
            data = await conn.fetchval(layer.sql, tile.z, tile.x, tile.y, tolerance, min_size,
                                       self.max_features, self.largest_first)
        return data or b""
