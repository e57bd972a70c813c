"""Which tiles a write changed: the boxes of `tile_changes` (migration 0016), and each tile's latest change.

A tile's content depends only on the features whose `geom_3857` meets its buffered envelope, so the tile cache
keys a tile on the latest recorded change whose box meets that envelope (its transaction id), not on its layer's
data version: a write re-keys the tiles it touched — where a feature was and where it is now — and every other
tile of the layer stays cached. A whole-layer change (no box: a TRUNCATE, a load built aside, a collapse of a long
list) meets every tile.

`ChangeIndex` is immutable: a version read builds a new one when some layer changed, and the versions read for a
request carry the index read with them, so a tile is keyed on what was committed before that read (a replica
renders it only once it has replayed that far).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import asyncpg
import numpy as np

from spatial.tiles.grid import BUFFER, EXTENT, Tile

# the envelope a tile's SQL reads (ST_TileEnvelope's margin), and a little more for float rounding: a change on the
# border re-keys the tile rather than leave it stale
TILE_MARGIN = BUFFER / EXTENT * 1.01
MEMO_SIZE = 65_536  # remembered (layer, tile) → change per index: a cache hit must stay a dictionary lookup

CHANGES_SQL = """
SELECT c.layer, c.id, c.txid, c.west, c.south, c.east, c.north
FROM tile_changes c JOIN unnest($1::text[], $2::bigint[]) AS after(layer, id) ON c.layer = after.layer
WHERE c.id > after.id
ORDER BY c.layer, c.id
"""


@dataclass(frozen=True)
class LayerChanges:
    """One layer's recorded changes in commit order: ids, transaction ids and boxes (a whole-layer change's box is
    infinite). Only the rows from the latest whole-layer change on are kept: nothing earlier can be a tile's latest."""

    ids: np.ndarray  # int64
    txids: np.ndarray  # int64
    boxes: np.ndarray  # float64, (n, 4): xmin, ymin, xmax, ymax

    @classmethod
    def empty(cls) -> LayerChanges:
        return cls(np.empty(0, np.int64), np.empty(0, np.int64), np.empty((0, 4)))

    def extended(self, rows: Sequence[Sequence]) -> LayerChanges:
        """These changes followed by `rows` (id, txid, west, south, east, north; box None: the whole layer)."""
        ids = np.concatenate([self.ids, np.array([r[0] for r in rows], np.int64)])
        txids = np.concatenate([self.txids, np.array([r[1] for r in rows], np.int64)])
        boxes = np.concatenate([self.boxes, np.array([_box(r[2:6]) for r in rows], np.float64).reshape(-1, 4)])
        whole = np.flatnonzero(np.isinf(boxes[:, 0]))
        start = int(whole[-1]) if len(whole) else 0
        return LayerChanges(ids[start:], txids[start:], boxes[start:])

    def boxes_after(self, last_id: int) -> np.ndarray | None:
        """The boxes of the changes after change `last_id`; None when one of them is a whole-layer change (what the
        layer holds now then has to be read)."""
        boxes = self.boxes[self.ids > last_id]
        return None if np.isinf(boxes).any() else boxes

    @property
    def last_id(self) -> int:
        return int(self.ids[-1]) if len(self.ids) else 0

    def latest_meeting(self, box: tuple[float, float, float, float]) -> int:
        """The transaction id of the latest change whose box meets `box`; 0 when none does."""
        b = self.boxes
        meets = (b[:, 0] <= box[2]) & (b[:, 2] >= box[0]) & (b[:, 1] <= box[3]) & (b[:, 3] >= box[1])
        hits = np.flatnonzero(meets)
        return int(self.txids[hits[-1]]) if len(hits) else 0


def _box(values: Sequence[float | None]) -> tuple[float, float, float, float]:
    if values[0] is None:
        return (-np.inf, -np.inf, np.inf, np.inf)
    return (float(values[0]), float(values[1]), float(values[2]), float(values[3]))


def tile_envelope(tile: Tile) -> tuple[float, float, float, float]:
    """The EPSG:3857 box a tile's features are read from (its bounds with the MVT buffer)."""
    return tile.envelope(TILE_MARGIN)


@dataclass(frozen=True)
class ChangeIndex:
    """Every tiled layer's recorded changes, as read at one instant."""

    layers: Mapping[str, LayerChanges] = field(default_factory=dict)
    _memo: dict[tuple[str, Tile], int] = field(default_factory=dict, compare=False, repr=False)

    def tile_version(self, layer: str, tile: Tile) -> int | None:
        """The version of `layer`'s data in `tile`: the transaction id of the latest change that met it. None when
        the layer records no changes (a table without migration 0016's triggers): key it on its layer version."""
        changes = self.layers.get(layer)
        if changes is None:
            return None
        key = (layer, tile)
        found = self._memo.get(key)
        if found is None:
            found = changes.latest_meeting(tile_envelope(tile))
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = found
        return found

    def after(self) -> dict[str, int]:
        """Per layer, the last change id read (a later read asks for what follows)."""
        return {layer: changes.last_id for layer, changes in self.layers.items()}

    def extended(self, rows: Iterable[asyncpg.Record | Sequence]) -> ChangeIndex:
        """A new index with `rows` (layer, id, txid, west, south, east, north, ordered by layer and id) added."""
        grouped: dict[str, list[Sequence]] = {}
        for row in rows:
            grouped.setdefault(row[0], []).append(tuple(row[1:]))
        if not grouped:
            return self
        layers = dict(self.layers)
        for layer, layer_rows in grouped.items():
            layers[layer] = layers.get(layer, LayerChanges.empty()).extended(layer_rows)
        return ChangeIndex(layers)


async def read_changes(conn: asyncpg.Connection, index: ChangeIndex, layers: Iterable[str]) -> ChangeIndex:
    """`index` with the changes of `layers` recorded since it was read."""
    after = index.after()
    names = list(layers)
    rows = await conn.fetch(CHANGES_SQL, names, [after.get(name, 0) for name in names])
    return index.extended(rows)
