"""What a layer registry entry says, and the registry that holds the entries.

One `Layer` carries every fact the code needs about a plan layer: its table and columns (loaders, features,
queryables, exports), how it is tiled (`TileSpec`), how the plan map draws it (`StyleSpec`), which columns give a
feature's time (`Temporal`), whether search looks into it, and its attribution. The entries themselves are in
`spatial.layers`; a `Registry` is what services and the app are given, so a test (or a deployment) can serve
another set of layers without touching module state. SQL identifiers come from here only, never from a request.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from spatial.errors import NotFound

GEOMETRY_KINDS = {  # PostGIS typmod -> the MapLibre geometry types a feature of it can have
    "MultiPolygon": ("Polygon",), "Polygon": ("Polygon",),
    "MultiLineString": ("LineString",), "LineString": ("LineString",),
    "MultiPoint": ("Point",), "Point": ("Point",),
    "Geometry": ("Polygon", "LineString", "Point"),
}
TEMPORAL_SQL_TYPES = ("date", "integer")  # a day, or a calendar year
# Label fonts: no glyph server, so MapLibre draws labels with the browser's own fonts (TinySDF) — Vietnamese too
FONT = ["DejaVu Sans", "Noto Sans", "Arial"]
FONT_BOLD = ["DejaVu Sans Bold", "Noto Sans Bold", "Arial Bold"]


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # PostgreSQL type as created by the migrations
    json_type: str  # JSON Schema type: string | integer | number | array | object
    description: str = ""
    enum: tuple[str, ...] = ()


# Columns every layer has (besides id, props, timestamps). `plan_id` is resolved from `plan_code`.
COMMON_COLUMNS: tuple[Column, ...] = (
    Column("code", "text", "string", "Stable unique code"),
    Column("name_vi", "text", "string", "Name in Vietnamese"),
    Column("name_en", "text", "string", "Name in English"),
    Column("source", "text", "string", "Where the fact comes from"),
    Column("accuracy", "text", "string", "schematic | surveyed | official | unknown"),
)


@dataclass(frozen=True)
class TileSpec:
    """How a layer is served as vector tiles (`spatial.tiles`)."""

    properties: tuple[str, ...]  # attributes a style and a popup need (the feature id is the table id)
    order: int = 100  # position in the composite tile, bottom to top
    in_composite: bool = True  # in the composite plan tileset when no subset is asked for
    composite_min_zoom: int = 0  # the first zoom the composite tile (and the plan map) carries it at
    max_zoom: int = 14  # the zoom past which the layer holds no more detail (TileJSON maxzoom)
    # zooms at which the table keeps its geometry rendered on the tile grid (generated columns tile_z<z>, added by a
    # migration): where its tiles are heaviest, so a tile shifts stored geometry instead of rendering it again
    stored_grid_zooms: tuple[int, ...] = ()


@dataclass(frozen=True)
class Legend:
    """One line of the plan map's legend."""

    label_vi: str
    label_en: str
    type: str  # the swatch: fill | line
    colour: str
    dash: str | None = None  # SVG dash array of a line swatch

    def label(self, lang: str) -> str:
        return self.label_en if lang == "en" else self.label_vi


@dataclass(frozen=True)
class StyleSpec:
    """How the plan map (`/styles/plan.json`) draws a layer. With no `draw` layers it is drawn by its geometry
    type in `colour`; with no `legend` lines it has one, its group title in `colour`."""

    colour: str
    order: int = 100  # drawing position, bottom to top; label layers follow the same order, above every drawing
    legend_order: int = 100  # position of its toggle group and legend lines
    group_vi: str | None = None  # title of its toggle group (default: the layer's title)
    group_en: str | None = None
    # MapLibre layers (id, type, filter, paint, layout …); source, source-layer, group and min zoom are added
    draw: tuple[dict[str, Any], ...] = ()
    # MapLibre symbol layers: the label text (`text-field`), FONT and a halo are added unless given
    labels: tuple[dict[str, Any], ...] = ()
    legend: tuple[Legend, ...] = ()


@dataclass(frozen=True)
class Temporal:
    """The columns (date: the whole day; integer: the whole year) that say when a feature is, for `datetime`.
    A NULL end is open."""

    start: str
    end: str


@dataclass(frozen=True, eq=False)  # an entry is itself: compared and hashed by identity (caches key on it)
class Layer:
    id: str  # collection id == table name
    title_vi: str
    title_en: str
    description: str
    geometry_type: str | None  # PostGIS typmod: MultiPolygon, MultiLineString, Geometry; None = no geometry
    columns: tuple[Column, ...] = field(default_factory=tuple)
    # Default field mapping for loaders: source attribute name (lower case) -> column
    aliases: dict[str, str] = field(default_factory=dict)
    tiles: TileSpec | None = None  # None: not tiled
    style: StyleSpec | None = None  # None: not on the plan map (a styled layer is tiled)
    temporal: Temporal | None = None  # None: `datetime` matches when the record last changed
    searchable: bool = True  # in `/search` (its table has the trigram index on lapis_search_text)
    attribution: str | None = None  # credit the data's licence asks for
    license_url: str | None = None
    # editable over the API (OGC API – Features Part 4, as proposals); False: reference data replaced by a reload
    editable: bool = True

    def __post_init__(self) -> None:
        problems = [*self._tile_problems(), *self._temporal_problems()]
        if self.style is not None and self.tiles is None:
            problems.append("a styled layer must be tiled: the plan map draws from the tiles")
        if self.geometry_type is not None and self.geometry_type not in GEOMETRY_KINDS:
            problems.append(f"unknown geometry type {self.geometry_type!r}")
        if problems:
            raise ValueError(f"layer {self.id!r}: {'; '.join(problems)}")

    def _tile_problems(self) -> list[str]:
        if self.tiles is None:
            return []
        problems = [f"tile property {name!r} is not a column" for name in self.tiles.properties
                    if self.column(name) is None]
        if not self.has_geometry:
            problems.append("a layer without geometry cannot be tiled")
        if any(not 0 <= z <= self.tiles.max_zoom for z in self.tiles.stored_grid_zooms):
            problems.append("stored grid zooms must lie within 0…max_zoom")
        return problems

    def _temporal_problems(self) -> list[str]:
        if self.temporal is None:
            return []
        return [f"temporal column {name!r} is not a date or integer column"
                for name in (self.temporal.start, self.temporal.end)
                if (column := self.column(name)) is None or column.sql_type not in TEMPORAL_SQL_TYPES]

    @property
    def all_columns(self) -> tuple[Column, ...]:
        return COMMON_COLUMNS + self.columns

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.all_columns)

    @property
    def has_geometry(self) -> bool:
        return self.geometry_type is not None

    def column(self, name: str) -> Column | None:
        return next((c for c in self.all_columns if c.name == name), None)


class UnknownLayer(NotFound):
    """No layer of that id in the registry (a 404 naming `collectionId`)."""

    def __init__(self, layer_id: str, known: Iterable[str] = ()) -> None:
        self.layer_id = layer_id
        self.known = tuple(known)
        super().__init__(self.describe(), parameter="collectionId")

    def describe(self) -> str:
        return f"unknown layer {self.layer_id!r}; known layers: {', '.join(self.known)}"

    def __str__(self) -> str:
        return self.describe()


class Registry(Mapping[str, Layer]):
    """Layers by id, in declaration order (the order collections are listed in). Compared by identity, so
    services can remember what they derive from one (SQL texts, tile layers)."""

    def __init__(self, layers: Iterable[Layer]) -> None:
        self._layers: dict[str, Layer] = {}
        for layer in layers:
            if layer.id in self._layers:
                raise ValueError(f"layer {layer.id!r} is registered twice")
            self._layers[layer.id] = layer

    def __getitem__(self, layer_id: str) -> Layer:
        try:
            return self._layers[layer_id]
        except KeyError:
            raise UnknownLayer(layer_id, self._layers) from None

    def __contains__(self, layer_id: object) -> bool:
        return layer_id in self._layers

    def get(self, layer_id: str, default: Layer | None = None) -> Layer | None:  # type: ignore[override]
        return self._layers.get(layer_id, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._layers)

    def __len__(self) -> int:
        return len(self._layers)

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return f"Registry({', '.join(self._layers)})"

    def with_layers(self, *layers: Layer) -> Registry:
        """A new registry: these layers after this one's."""
        return Registry((*self.values(), *layers))

    @cached_property
    def spatial(self) -> tuple[Layer, ...]:
        return tuple(layer for layer in self.values() if layer.has_geometry)

    @cached_property
    def tiled(self) -> tuple[Layer, ...]:
        """Tiled layers in composite drawing order (bottom to top)."""
        return tuple(sorted((layer for layer in self.values() if layer.tiles is not None),
                            key=lambda layer: layer.tiles.order if layer.tiles else 0))

    @cached_property
    def styled(self) -> tuple[Layer, ...]:
        """Layers on the plan map in drawing order (bottom to top)."""
        return tuple(sorted((layer for layer in self.values() if layer.style is not None),
                            key=lambda layer: layer.style.order if layer.style else 0))

    @cached_property
    def searchable(self) -> tuple[Layer, ...]:
        return tuple(layer for layer in self.values() if layer.searchable)


def match_colour(prop: str, colours: Mapping[str, str], default: str) -> list[Any]:
    """A MapLibre expression: the colour of the feature's `prop` value, `default` for any other. Each value is
    written as a one-value list (same meaning): QGIS 3.22's style converter reads only that form of `match`."""
    expr: list[Any] = ["match", ["get", prop]]
    for key, colour in colours.items():
        expr += [[key], colour]
    return [*expr, default]


def one_of(prop: str, values: Iterable[str], *, negate: bool = False) -> list[Any]:
    """A MapLibre filter: the feature's `prop` is one of `values` (or, negated, is not). Written as a `match`
    rather than `in` + `literal`, which QGIS 3.22's style converter drops (it would draw every feature)."""
    return ["match", ["get", prop], list(values), not negate, negate]
