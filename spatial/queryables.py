"""What a filter, a sort or a property selection may name on each layer: the registry's columns plus
`id`, the timestamps and the geometry. SQL expressions come from here only (alias `t`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from spatial.layers import Layer, get_layer

KIND_OF_SQL_TYPE = {"text": "text", "integer": "integer", "numeric": "number", "date": "date"}
SQL_CAST = {"text": "text", "integer": "bigint", "number": "numeric", "date": "date", "timestamp": "timestamptz"}


@dataclass(frozen=True)
class Queryable:
    name: str
    sql: str  # expression over the layer's table aliased `t`
    kind: str  # text | integer | number | date | timestamp | geometry
    title: str = ""
    enum: tuple[str, ...] = ()

    @property
    def cast(self) -> str:
        return SQL_CAST[self.kind]


def queryables(layer: Layer) -> dict[str, Queryable]:
    return _queryables(layer.id)


@cache
def _queryables(layer_id: str) -> dict[str, Queryable]:
    layer = get_layer(layer_id)
    found: dict[str, Queryable] = {"id": Queryable("id", "t.id", "integer", "Feature id")}
    for column in layer.all_columns:
        found[column.name] = Queryable(column.name, f"t.{column.name}", KIND_OF_SQL_TYPE[column.sql_type],
                                       column.description, column.enum)
    found["created_at"] = Queryable("created_at", "t.created_at", "timestamp", "When the feature was created")
    found["updated_at"] = Queryable("updated_at", "t.updated_at", "timestamp", "When the feature last changed")
    if layer.has_geometry:
        found["geometry"] = Queryable("geometry", "t.geom", "geometry", f"{layer.geometry_type} (EPSG:4326)")
    return found


def json_schema(layer: Layer, schema_id: str) -> dict[str, Any]:
    """The layer's queryables as a JSON Schema (OGC API – Features Part 3)."""
    props: dict[str, Any] = {}
    for q in queryables(layer).values():
        if q.kind == "geometry":
            gtype = layer.geometry_type or "Geometry"
            props[q.name] = ({"title": q.title, "format": "geometry-any"} if gtype == "Geometry"
                             else {"title": q.title, "format": f"geometry-{gtype.lower()}"})
            continue
        entry: dict[str, Any] = {"title": q.title or q.name}
        if q.kind in ("text", "date", "timestamp"):
            entry["type"] = "string"
            if q.kind == "date":
                entry["format"] = "date"
            elif q.kind == "timestamp":
                entry["format"] = "date-time"
        else:
            entry["type"] = q.kind
        if q.enum:
            entry["enum"] = list(q.enum)
        props[q.name] = entry
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_id,
        "type": "object",
        "title": layer.title_en,
        "properties": props,
        "additionalProperties": False,
    }


# What `datetime` (OGC API – Features Core) is matched against: a layer's own time where it has one (plans:
# the decision date; projects: start year … end year, open where unknown), otherwise when the record changed.
TEMPORAL_EXTENT: dict[str, tuple[str, str]] = {
    "plans": ("(t.decision_date::timestamp AT TIME ZONE 'UTC')",  # the whole day, in UTC
              "((t.decision_date + 1)::timestamp AT TIME ZONE 'UTC' - interval '1 microsecond')"),
    "projects": ("make_timestamptz(t.start_year, 1, 1, 0, 0, 0, 'UTC')",
                 "make_timestamptz(t.end_year, 12, 31, 23, 59, 59.999, 'UTC')"),
}
DEFAULT_TEMPORAL = ("t.updated_at", "t.updated_at")


def temporal_extent(layer: Layer) -> tuple[str, str]:
    """SQL (start, end) of a feature's time for `datetime` filtering (NULL = open)."""
    return TEMPORAL_EXTENT.get(layer.id, DEFAULT_TEMPORAL)
