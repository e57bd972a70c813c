"""The registry: an entry that contradicts itself is refused when it is made, and a registry is a value of its
own (extending one leaves the default untouched; services derive their tilesets from the one they are given)."""

from __future__ import annotations

from typing import Any

import pytest

from spatial.layers import LAYERS, get_layer
from spatial.queryables import temporal_extent
from spatial.registry import Column, Layer, Registry, StyleSpec, Temporal, TileSpec, UnknownLayer
from spatial.tiles.service import UnknownTileLayer, tile_layers

DEPTH = Column("depth_m", "numeric", "number", "Depth")


def _layer(layer_id: str = "wells", geometry_type: str | None = "Point", **facts: Any) -> Layer:
    return Layer(layer_id, "Giếng", "Wells", "Test layer.", geometry_type, (DEPTH,), **facts)


@pytest.mark.parametrize("facts,geometry_type,message", [
    ({"tiles": TileSpec(("code", "depth"))}, "Point", "tile property 'depth' is not a column"),
    ({"tiles": TileSpec(("code",))}, None, "a layer without geometry cannot be tiled"),
    ({"tiles": TileSpec(("code",), max_zoom=12, stored_grid_zooms=(12, 13))}, "Point", "within 0…max_zoom"),
    ({"style": StyleSpec("#000000")}, "Point", "a styled layer must be tiled"),
    ({"temporal": Temporal("depth_m", "code")}, "Point", "'code' is not a date or integer column"),
    ({"temporal": Temporal("drilled", "drilled")}, "Point", "'drilled' is not a date or integer column"),
    ({}, "Polygonal", "unknown geometry type"),
])
def test_contradictory_entries_are_refused(facts: dict, geometry_type: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _layer(geometry_type=geometry_type, **facts)


def test_registry_lookup_and_extension() -> None:
    extended = LAYERS.with_layers(_layer())
    assert list(extended) == [*LAYERS, "wells"] and "wells" not in LAYERS
    assert extended["zones"] is get_layer("zones")
    with pytest.raises(UnknownLayer) as caught:
        LAYERS["wells"]
    assert caught.value.layer_id == "wells" and caught.value.known == tuple(LAYERS)
    with pytest.raises(UnknownLayer, match="known layers: plans, .*, parcels, use_rules, wells$"):
        extended["nope"]
    assert LAYERS.get("wells") is None  # an UnknownLayer is a KeyError: the Mapping protocol holds
    with pytest.raises(ValueError, match="registered twice"):
        Registry((_layer(), _layer()))
    assert extended != LAYERS.with_layers(_layer())  # registries are compared by identity


def test_tilesets_follow_the_registry() -> None:
    below = _layer("below", tiles=TileSpec(("code",), order=0))
    aside = _layer("aside", tiles=TileSpec(("code", "depth_m"), order=35, in_composite=False))
    registry = Registry((*LAYERS.values(), aside, below))
    composite = [layer.id for layer in tile_layers(None, registry)]
    assert composite == ["below", "admin_units", "zones", "corridors", "parcels", "axes", "projects"]
    # a subset is drawn in the order named, the leftmost at the bottom (OGC API – Tiles collections-selection)
    assert [layer.id for layer in tile_layers(["projects", "aside", "zones"], registry)] == ["projects", "aside",
                                                                                             "zones"]
    with pytest.raises(UnknownTileLayer, match="known: admin_units, zones"):
        tile_layers(["aside"])  # not a layer of the default registry


def test_temporal_extent_from_the_entry() -> None:
    year = Column("drilled", "integer", "integer", "Year drilled")
    day = Column("inspected", "date", "string", "Day inspected")
    layer = Layer("wells", "Giếng", "Wells", "Test layer.", "Point", (year, day),
                  temporal=Temporal("drilled", "inspected"))
    extent = temporal_extent(layer)
    assert extent is not None
    start, end = extent
    assert start == "make_timestamptz(t.drilled, 1, 1, 0, 0, 0, 'UTC')"
    assert end == "((t.inspected + 1)::timestamp AT TIME ZONE 'UTC' - interval '1 microsecond')"
    # without one the layer has no temporal geometry: `datetime` matches all its features (fc-time-response)
    assert temporal_extent(_layer()) is None
