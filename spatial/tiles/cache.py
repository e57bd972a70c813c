"""The tile cache: an in-process LRU of rendered tiles (raw and gzip) plus an optional on-disk cache.

Keys carry, per layer of the tile, the latest recorded write that met the tile (`spatial.tiles.changes`), so a
write makes the old copies of exactly the tiles it touched unreachable at once: nothing is ever purged by hand.
The LRU is bounded twice: by tiles and by bytes (a few huge tiles must not hold the memory thousands of small ones
would).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from spatial.tiles.grid import Tile


@dataclass(frozen=True)
class RenderedTile:
    data: bytes  # the MVT (empty: no feature in the tile)
    etag: str  # strong validator of the raw bytes, quoted

    @classmethod
    def of(cls, data: bytes) -> RenderedTile:
        # SHA-256 runs in hardware on current CPUs: faster than BLAKE2b for a tile (measured 0.13 vs 0.19 ms on
        # 260 KB), and it is paid on every uncached tile.
        return cls(data, f'"{hashlib.sha256(data).hexdigest()[:32]}"')

    @cached_property
    def gzipped(self) -> bytes:
        """Compressed on first use only (an uncached tile for a client without gzip never pays for it)."""
        return gzip.compress(self.data, 6, mtime=0) if self.data else b""

    @property
    def empty(self) -> bool:
        return not self.data


CacheKey = tuple[tuple[str, ...], Tile, tuple[int, ...]]
STAMP = re.compile(r"^[0-9a-f]{16}$")  # a folder of the disk cache: one per layer set and data versions
DEFAULT_CACHE_BYTES = 256 << 20
ENTRY_OVERHEAD = 512  # the key, the entry and the tile object, about


def charge(tile: RenderedTile) -> int:
    """The most memory a cached tile can come to: its MVT, its gzip copy (made on first use; gzip never grows data
    by more than a few bytes per 16 KiB block, so the MVT's size bounds it) and the entry's own overhead."""
    return 2 * len(tile.data) + 64 + ENTRY_OVERHEAD


class TileCache:
    def __init__(self, max_tiles: int, disk_dir: Path | None = None, *, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.max_tiles = max_tiles
        self.max_bytes = max_bytes
        self.disk_dir = disk_dir
        self._tiles: OrderedDict[CacheKey, RenderedTile] = OrderedDict()
        self.bytes = 0  # sum of `charge` over the tiles held
        self.hits = 0
        self.misses = 0

    def get(self, key: CacheKey) -> RenderedTile | None:
        tile = self._tiles.get(key)
        if tile is not None:
            self._tiles.move_to_end(key)
            self.hits += 1
            return tile
        tile = self._read_disk(key)
        if tile is not None:
            self._remember(key, tile)
            self.hits += 1
            return tile
        self.misses += 1
        return None

    def put(self, key: CacheKey, tile: RenderedTile) -> None:
        self._remember(key, tile)
        self._write_disk(key, tile)

    def _remember(self, key: CacheKey, tile: RenderedTile) -> None:
        if charge(tile) > self.max_bytes:
            return  # bigger than the whole cache: served, never held
        old = self._tiles.pop(key, None)
        if old is not None:
            self.bytes -= charge(old)
        self._tiles[key] = tile
        self.bytes += charge(tile)
        while len(self._tiles) > self.max_tiles or self.bytes > self.max_bytes:
            _, evicted = self._tiles.popitem(last=False)
            self.bytes -= charge(evicted)

    def __len__(self) -> int:
        return len(self._tiles)

    def _path(self, key: CacheKey) -> Path | None:
        if self.disk_dir is None:
            return None
        layers, tile, versions = key
        stamp = hashlib.blake2b(repr((layers, versions)).encode(), digest_size=8).hexdigest()
        return self.disk_dir / stamp / str(tile.z) / str(tile.x) / f"{tile.y}.mvt.gz"

    def _read_disk(self, key: CacheKey) -> RenderedTile | None:
        path = self._path(key)
        if path is None or not path.exists():
            return None
        gz = path.read_bytes()
        return RenderedTile.of(gzip.decompress(gz) if gz else b"")

    def _write_disk(self, key: CacheKey, tile: RenderedTile) -> None:
        path = self._path(key)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(tile.gzipped)
        os.replace(tmp, path)  # atomic: a reader never sees half a tile


def empty_disk_cache(disk_dir: Path | None) -> int:
    """Remove every tile a disk cache holds (its stamp folders only: nothing else in `disk_dir` is touched); the number
    of folders removed. For after a point-in-time recovery: the cluster then goes on from an earlier transaction id,
    so a version a tile is keyed on may name another transaction's data than the one it was rendered from."""
    if disk_dir is None or not disk_dir.is_dir():
        return 0
    stamps = [entry for entry in disk_dir.iterdir() if entry.is_dir() and STAMP.match(entry.name)]
    for stamp in stamps:
        shutil.rmtree(stamp, ignore_errors=True)
    return len(stamps)
