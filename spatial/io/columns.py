"""Where each layer column's value comes from in a load (a `Mapping`), and the SQL expression that computes
it from a stage row `s`: casts from the source's types, blank text as NULL, generated codes, names that
default to the code, `props` built from the unmapped fields, and the plan looked up by its code.

Identifiers come from the layer registry and the stage's own `fN` columns; every value (constants given
with `--set`, source field names in `props`) is a bound parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psycopg import sql

from spatial.io import copy as pgcopy
from spatial.io.stage import STAGE, StageField
from spatial.layers import Column, Layer

PSEUDO_COLUMNS = ("plan_code", "props")  # mappable besides layer columns
JSONB_BUILD_PAIRS = 45  # jsonb_build_object takes at most 100 arguments

Expression = tuple[sql.Composable, list[Any]]  # SQL and the values of its %s placeholders, in order


@dataclass
class Mapping:
    """Where each layer column's value comes from."""

    fields: dict[str, StageField]  # layer column (or plan_code/props) -> stage field
    constants: dict[str, str] = field(default_factory=dict)  # layer column -> constant text (--set)
    props: list[StageField] = field(default_factory=list)  # unmapped fields kept in props
    stems: list[str] = field(default_factory=list)  # per source (1-based src): prefix of generated codes
    ignored: list[str] = field(default_factory=list)

    @property
    def generated_code(self) -> bool:
        return "code" not in self.fields and "code" not in self.constants


def _cast(f: StageField, sql_type: str) -> sql.Composable:
    column = sql.SQL("s.{}").format(sql.Identifier(f.column))
    if f.pg_type == pgcopy.TEXT:
        blank_is_null = sql.SQL("NULLIF(btrim({}), '')").format(column)
        return blank_is_null if sql_type == "text" else sql.SQL("({})::{}").format(blank_is_null, sql.SQL(sql_type))
    if sql_type == "text":
        if f.pg_type == pgcopy.JSONB:
            return sql.SQL("({} #>> '{{}}')").format(column)
        return sql.SQL("({})::text").format(column)
    if f.pg_type == pgcopy.JSONB:
        return sql.SQL("({} #>> '{{}}')::{}").format(column, sql.SQL(sql_type))
    return sql.SQL("({})::{}").format(column, sql.SQL(sql_type))


def code_expression(mapping: Mapping) -> Expression:
    if "code" in mapping.constants:
        return sql.SQL("%s::text"), [mapping.constants["code"]]
    if "code" in mapping.fields:
        return _cast(mapping.fields["code"], "text"), []
    # generated: <source stem>-<row number in that source>, stable for a given file
    return sql.SQL("((%s::text[])[s.src] || '-' || s.row_no)"), [mapping.stems]


def column_expression(column: Column, mapping: Mapping) -> Expression:
    name = column.name
    if name == "code":
        return code_expression(mapping)
    if name in mapping.constants:
        expression, params = sql.SQL("%s::{}").format(sql.SQL(column.sql_type)), [mapping.constants[name]]
    elif name in mapping.fields:
        expression, params = _cast(mapping.fields[name], column.sql_type), []
    else:
        expression, params = sql.SQL("NULL::{}").format(sql.SQL(column.sql_type)), []
    if name == "name_vi":  # NOT NULL: a feature without a name is named by its code
        code, code_params = code_expression(mapping)
        return sql.SQL("coalesce({}, {})").format(expression, code), params + code_params
    if name == "accuracy":
        return sql.SQL("coalesce({}, 'unknown')").format(expression), params
    return expression, params


def props_expression(mapping: Mapping) -> Expression:
    base: sql.Composable = sql.SQL("'{}'::jsonb")
    params: list[Any] = []
    if "props" in mapping.fields:
        f = mapping.fields["props"]
        source = sql.SQL("s.{}").format(sql.Identifier(f.column))
        base = sql.SQL("coalesce(NULLIF({}, '')::jsonb, '{{}}'::jsonb)").format(
            source if f.pg_type != pgcopy.JSONB else sql.SQL("({})::text").format(source))
    parts = [base]
    for start in range(0, len(mapping.props), JSONB_BUILD_PAIRS):
        pairs = []
        for f in mapping.props[start:start + JSONB_BUILD_PAIRS]:
            value = sql.SQL("s.{}").format(sql.Identifier(f.column))
            if f.pg_type == pgcopy.TEXT:
                value = sql.SQL("NULLIF({}, '')").format(value)
            pairs.append(sql.SQL("%s::text, {}").format(value))
            params.append(f.name)
        parts.append(sql.SQL("jsonb_strip_nulls(jsonb_build_object({}))").format(sql.SQL(", ").join(pairs)))
    return sql.SQL(" || ").join(parts), params


def plan_code_expression(mapping: Mapping) -> Expression:
    if "plan_code" in mapping.constants:
        return sql.SQL("%s::text"), [mapping.constants["plan_code"]]
    if "plan_code" in mapping.fields:
        return _cast(mapping.fields["plan_code"], "text"), []
    return sql.SQL("NULL::text"), []


def _geometry_expression(layer: Layer) -> sql.Composable:
    base = sql.SQL("ST_SetSRID(ST_Force2D(s.geom), 4326)")
    if layer.geometry_type in ("MultiPolygon", "MultiLineString", "MultiPoint"):
        return sql.SQL("ST_Multi({})").format(base)
    return base


def layer_rows(layer: Layer, mapping: Mapping) -> tuple[list[str], sql.Composable, list[Any]]:
    """The layer's column names and one SELECT over the stage giving the layer's rows (columns in that order,
    rows in source order)."""
    names: list[str] = []
    values: list[sql.Composable] = []
    params: list[Any] = []
    for column in layer.all_columns:
        expression, p = column_expression(column, mapping)
        names.append(column.name)
        values.append(expression)
        params += p
    props, p = props_expression(mapping)
    names.append("props")
    values.append(props)
    params += p
    join: sql.Composable = sql.SQL("")
    if layer.has_geometry:
        plan, p = plan_code_expression(mapping)
        names += ["plan_id", "geom"]
        values += [sql.SQL("p.id"), _geometry_expression(layer)]
        join = sql.SQL("LEFT JOIN plans p ON p.code = {}").format(plan)
        params += p  # the join follows the select list, so its values come last
    # in source order: new rows take their ids in the order of the file, whatever join the planner picks
    select = sql.SQL("SELECT {} FROM {} s {} ORDER BY s.src, s.row_no").format(
        sql.SQL(", ").join(values), STAGE, join)
    return names, select, params
