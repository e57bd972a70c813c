"""What a filter, a sort or a property selection may name on each layer: the registry's columns plus
`id`, the timestamps and the geometry. SQL expressions come from here only (alias `t`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from spatial.registry import Layer

KIND_OF_SQL_TYPE = {"text": "text", "integer": "integer", "numeric": "number", "date": "date", "boolean": "boolean"}
SQL_CAST = {"text": "text", "integer": "bigint", "number": "numeric", "date": "date", "timestamp": "timestamptz",
            "boolean": "boolean"}


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


@cache
def queryables(layer: Layer) -> dict[str, Queryable]:
    """What a filter, sort or selection may name on `layer` (made once per registry entry)."""
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
        props[q.name] = _property_schema(q)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_id,
        "type": "object",
        "title": layer.title_en,
        "properties": props,
        "additionalProperties": False,
    }


def feature_schema(layer: Layer, schema_id: str) -> dict[str, Any]:
    """A JSON Schema of the layer's GeoJSON features, its properties typed as the columns are (the collection's
    `describedby` link). Clients that guess a property's type from the first page — GDAL's OAPIF driver, so QGIS
    too — read the types here instead: a number whose first values are whole stays a real, a year that starts null
    stays an integer."""
    props = {q.name: _property_schema(q) for q in queryables(layer).values() if q.name not in ("id", "geometry")}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_id,
        "title": layer.title_en,
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "integer"},
            "geometry": {"title": f"{layer.geometry_type or 'none'} (CRS84)"},
            "properties": {"type": "object", "properties": props},
        },
    }


def _property_schema(q: Queryable) -> dict[str, Any]:
    """The JSON Schema of one property: its type (and format for dates and times), title and allowed values."""
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
    return entry


# What `datetime` (OGC API – Features Core) is matched against: a layer's own time where its registry entry names
# one (plans: the decision date; projects: start year … end year, open where unknown) — the temporal extent its
# collection advertises. A layer without one has no temporal geometry, so `datetime` matches all of its features
# (/req/core/fc-time-response C); when a record changed is a queryable (`updated_at`) for filters, not its time.
# A date covers its whole day in UTC, an integer year its whole year.
START_OF = {"date": "({c}::timestamp AT TIME ZONE 'UTC')",
            "integer": "make_timestamptz({c}, 1, 1, 0, 0, 0, 'UTC')"}
END_OF = {"date": "(({c} + 1)::timestamp AT TIME ZONE 'UTC' - interval '1 microsecond')",
          "integer": "make_timestamptz({c}, 12, 31, 23, 59, 59.999, 'UTC')"}


def temporal_extent(layer: Layer) -> tuple[str, str] | None:
    """SQL (start, end) of a feature's time for `datetime` filtering (NULL = open); None: the layer has none."""
    if layer.temporal is None:
        return None
    return _instant_sql(layer, layer.temporal.start, START_OF), _instant_sql(layer, layer.temporal.end, END_OF)


def _instant_sql(layer: Layer, name: str, forms: dict[str, str]) -> str:
    column = layer.column(name)  # a date or integer column: the entry checked it when it was made
    return forms[column.sql_type if column else ""].format(c=f"t.{name}")
