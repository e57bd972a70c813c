"""The in-process tile cache is bounded in bytes as well as in tiles."""

from __future__ import annotations

import os

from spatial.tiles.cache import RenderedTile, TileCache, charge
from spatial.tiles.grid import Tile


def key(i: int) -> tuple[tuple[str, ...], Tile, tuple[int, ...]]:
    return (("zones",), Tile(14, i, 0), (1,))


def test_bytes_bound_evicts_the_least_recently_used() -> None:
    tile = RenderedTile.of(os.urandom(100_000))
    cache = TileCache(max_tiles=1_000, max_bytes=5 * charge(tile))
    for i in range(20):
        cache.put(key(i), RenderedTile.of(os.urandom(100_000)))
        assert cache.bytes <= cache.max_bytes
    assert len(cache) == 5 and cache.get(key(19)) is not None and cache.get(key(0)) is None
    assert cache.bytes == sum(charge(cache.get(key(i))) for i in range(15, 20))


def test_the_charge_bounds_both_copies_of_a_tile() -> None:
    for data in (os.urandom(50_000), bytes(50_000), b"x" * 7):  # incompressible, compressible, tiny
        tile = RenderedTile.of(data)
        assert len(tile.data) + len(tile.gzipped) <= charge(tile)


def test_a_tile_bigger_than_the_cache_is_not_held_and_a_replaced_tile_is_not_counted_twice() -> None:
    cache = TileCache(max_tiles=10, max_bytes=10_000)
    cache.put(key(1), RenderedTile.of(os.urandom(20_000)))
    assert len(cache) == 0 and cache.bytes == 0
    small = RenderedTile.of(b"y" * 1_000)
    cache.put(key(2), small)
    cache.put(key(2), small)
    assert len(cache) == 1 and cache.bytes == charge(small)


def test_the_tile_count_bound_still_holds() -> None:
    cache = TileCache(max_tiles=3, max_bytes=1 << 30)
    for i in range(10):
        cache.put(key(i), RenderedTile.of(b"z"))
    assert len(cache) == 3
