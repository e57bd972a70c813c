"""Export plan tiles to a PMTiles v3 archive (the `pmtiles` library's writer), for static hosting and CDNs.

Tiles come from the same `TileService.render` the server uses (cache off), so an archived tile is byte for
byte the tile the server would send. Empty tiles are left out, as PMTiles readers expect.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

from spatial.errors import InvalidParameter, SpatialInputError
from spatial.pool import Database
from spatial.tiles.grid import Tile, tiles_covering
from spatial.tiles.layers import TileLayer
from spatial.tiles.service import TILE_SERVER_SETTINGS, TileService, tile_layers
from spatial.tiles.tilejson import ATTRIBUTION, lonlat_bounds, tilejson

Progress = Callable[[int, int], None]  # (tiles done, tiles planned)


class NothingToExport(SpatialInputError):
    """The collections and zoom range asked for hold no feature: an archive would be empty."""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    planned: int
    written: int
    bytes: int
    bounds: list[float]


def plan_tiles(boxes: Sequence[tuple[float, float, float, float]], minzoom: int, maxzoom: int) -> list[Tile]:
    """Every tile from minzoom to maxzoom touching the union of the layers' extents."""
    xmin = min(b[0] for b in boxes)
    ymin = min(b[1] for b in boxes)
    xmax = max(b[2] for b in boxes)
    ymax = max(b[3] for b in boxes)
    return [t for z in range(minzoom, maxzoom + 1) for t in tiles_covering((xmin, ymin, xmax, ymax), z)]


async def _export(db_url: str, path: Path, layers: tuple[TileLayer, ...], minzoom: int, maxzoom: int,
                  progress: Progress | None, concurrency: int) -> ExportResult:
    db = Database(db_url, min_size=1, max_size=max(2, concurrency),
                  server_settings=TILE_SERVER_SETTINGS)
    try:
        service = TileService(db, cache=False)
        versions = await service.versions()
        boxes = [await service.bounds(layer, versions) for layer in layers]
        present = [b for b in boxes if b is not None]
        if not present:
            raise NothingToExport("the selected collections hold no features: nothing to export",
                                  parameter="collections")
        tiles = plan_tiles(present, minzoom, maxzoom)
        tiles.sort(key=lambda t: zxy_to_tileid(t.z, t.x, t.y))
        gate = asyncio.Semaphore(concurrency)
        done = 0

        async def one(tile: Tile) -> bytes:
            nonlocal done
            async with gate:
                rendered = await service.render(layers, tile, composite=True)
            done += 1
            if progress:
                progress(done, len(tiles))
            return rendered.gzipped

        bodies = []
        for start in range(0, len(tiles), 256):  # bounded memory of in-flight work, order kept
            bodies += await asyncio.gather(*(one(t) for t in tiles[start:start + 256]))
    finally:
        await db.close()

    bounds = lonlat_bounds(present) or [-180.0, -85.0, 180.0, 85.0]
    metadata = tilejson(name="Long An plan", description="Quy hoạch tỉnh Long An 2021–2030 (QĐ 686/QĐ-TTg)",
                        tiles_url="", layers=layers, boxes=boxes, composite=True)
    metadata.pop("tiles")
    metadata["attribution"] = ATTRIBUTION
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    written = 0
    with tmp.open("wb") as f:
        writer = Writer(f)
        for tile, body in zip(tiles, bodies, strict=True):
            if body:
                writer.write_tile(zxy_to_tileid(tile.z, tile.x, tile.y), body)
                written += 1
        if not written:
            raise NothingToExport("every tile in the range is empty: nothing to export", parameter="maxzoom")
        centre = metadata["center"]
        writer.finalize({
            "tile_type": TileType.MVT, "tile_compression": Compression.GZIP,
            "min_lon_e7": int(bounds[0] * 1e7), "min_lat_e7": int(bounds[1] * 1e7),
            "max_lon_e7": int(bounds[2] * 1e7), "max_lat_e7": int(bounds[3] * 1e7),
            "center_zoom": max(minzoom, min(centre[2], maxzoom)),
            "center_lon_e7": int(centre[0] * 1e7), "center_lat_e7": int(centre[1] * 1e7),
        }, metadata)
    tmp.replace(path)
    return ExportResult(path, len(tiles), written, path.stat().st_size, bounds)


def export_pmtiles(db_url: str, path: Path, *, minzoom: int = 0, maxzoom: int = 14,
                   collections: Sequence[str] | None = None, progress: Progress | None = None,
                   concurrency: int = 4) -> ExportResult:
    """Write the composite plan tiles (or a subset of collections) for the layers' extent to `path`."""
    if not 0 <= minzoom <= maxzoom <= 24:
        raise InvalidParameter(f"zoom range: need 0 <= minzoom <= maxzoom <= 24, got {minzoom}..{maxzoom}",
                               parameter="minzoom")
    layers = tile_layers(list(collections) if collections else None)
    return asyncio.run(_export(db_url, path, layers, minzoom, maxzoom, progress, concurrency))
