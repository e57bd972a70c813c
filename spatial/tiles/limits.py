"""What a tileset covers: its zoom range and, at each zoom, the rows and columns that hold data — the OGC
`tileMatrixSetLimits` its metadata advertises and the tiles it serves. A tile outside them is out of range
(OGC API – Tiles, /req/core/tc-error: 404); inside them, an empty tile is a 204.

A tileset starts at the first zoom whose tiles can hold a feature: below z13 lines and polygons under
`min_feature_px` display pixels are left out of tiles (`spatial.tiles.layers.generalisation`), so a layer of
small polygons has nothing to draw at z0 and its tileset starts where its largest feature reaches that size
(a layer with points starts at z0: a point is always kept). The largest feature's size is read with the layer's
extent, once per data version (`TileService.extent`) — or, after writes that changed parts of the layer, grown by
the boxes they recorded (`LayerExtent.grown`): an edit never costs a scan of the whole layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from spatial.tiles.grid import Tile, tile_matrix_limits, tile_range
from spatial.tiles.layers import DROP_BELOW_ZOOM, TileLayer, generalisation

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class LayerExtent:
    box: Box | None  # EPSG:3857; None: the layer holds no feature
    largest: float | None  # the largest feature's bounding-box diagonal in metres (infinite for a point)

    def grown(self, boxes: np.ndarray) -> LayerExtent:
        """This extent with `boxes` in it (EPSG:3857 boxes of what was written since, an (n, 4) array): the extent
        after those writes — or a little more, where some of them removed a feature or moved it inwards. The largest
        feature's size likewise (a box's diagonal; a point's box has none: infinite, as `lapis_feature_size`)."""
        if len(boxes) == 0:
            return self
        west, south = boxes[:, 0].min(), boxes[:, 1].min()
        east, north = boxes[:, 2].max(), boxes[:, 3].max()
        if self.box is not None:
            west, south = min(west, self.box[0]), min(south, self.box[1])
            east, north = max(east, self.box[2]), max(north, self.box[3])
        diagonals = np.hypot(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
        largest = float(np.where(diagonals > 0, diagonals, np.inf).max())
        return LayerExtent((float(west), float(south), float(east), float(north)),
                           largest if self.largest is None else max(largest, self.largest))


def first_zoom(largest: float | None, min_feature_px: float) -> int:
    """The first zoom whose tiles keep a feature of size `largest` (0 when nothing is dropped)."""
    if largest is None or min_feature_px <= 0:
        return 0
    for z in range(DROP_BELOW_ZOOM):
        if largest >= generalisation(Tile(z, 0, 0), min_feature_px)[1]:
            return z
    return DROP_BELOW_ZOOM


@dataclass(frozen=True)
class TilesetLimits:
    min_zoom: int
    max_zoom: int
    box: Box | None  # union of the layers' extents (EPSG:3857); None: no data, every tile of a zoom is in range

    @property
    def zooms(self) -> range:
        return range(self.min_zoom, self.max_zoom + 1)

    def matrix_limits(self) -> list[dict]:
        """OGC `tileMatrixSetLimits`: per zoom, the rows and columns holding data."""
        return tile_matrix_limits(self.box, self.zooms)

    def contains(self, tile: Tile) -> bool:
        if tile.z not in self.zooms:
            return False
        if self.box is None:
            return True
        x0, x1, y0, y1 = tile_range(self.box, tile.z)
        return x0 <= tile.x <= x1 and y0 <= tile.y <= y1


def layer_min_zooms(layers: Sequence[TileLayer], extents: Sequence[LayerExtent], *, composite: bool,
                    min_feature_px: float) -> list[int]:
    """Each layer's first zoom in this tileset: where the composite starts carrying it and its data shows."""
    return [max(layer.composite_min_zoom if composite else 0, first_zoom(extent.largest, min_feature_px))
            for layer, extent in zip(layers, extents, strict=True)]


def tileset_limits(layers: Sequence[TileLayer], extents: Sequence[LayerExtent], *, composite: bool,
                   min_feature_px: float) -> TilesetLimits:
    """The limits of a tileset of `layers` (the layers holding data decide; all of them when none does)."""
    zooms = layer_min_zooms(layers, extents, composite=composite, min_feature_px=min_feature_px)
    present = [i for i, extent in enumerate(extents) if extent.box is not None] or list(range(len(layers)))
    boxes = [box for extent in extents if (box := extent.box) is not None]
    union = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
             max(b[3] for b in boxes)) if boxes else None
    return TilesetLimits(min(zooms[i] for i in present), max(layers[i].max_zoom for i in present), union)
