"""The one write path into a layer: COPY rows into a temporary staging table, then one set-based
INSERT (append), DELETE + INSERT (replace) or INSERT … ON CONFLICT (upsert) from staging.

The caller owns the transaction, so a load of several layers (the seed) or a load with checks
before commit is all-or-nothing. Attributes that are not layer columns are kept in `props`.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import numpy as np
import pandas as pd
import psycopg
import shapely
from psycopg import sql

from spatial.json import dumps as json_dumps
from spatial.layers import Layer

Mode = Literal["append", "replace", "upsert"]
STAGE_TABLE = "lapis_stage"
RESERVED = {"id", "props", "geom", "geometry", "geom_3857", "created_at", "updated_at", "plan_id"}


@dataclass
class ApplyResult:
    layer: str
    mode: str
    staged: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0


def _plain(value: Any) -> Any:
    """A value fit for COPY/JSON: numpy scalars unwrapped, NaN/NaT as None, text as NFC."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _coerce(value: Any, sql_type: str) -> Any:
    value = _plain(value)
    if value is None or value == "":
        return None
    if sql_type == "integer":
        return int(value)
    if sql_type == "numeric":
        return float(value)
    if sql_type == "text":
        return value if isinstance(value, str) else str(value)
    if sql_type == "date":
        return value if isinstance(value, date) else str(value)[:10]
    return value


def stage_rows(frame: pd.DataFrame, layer: Layer) -> Iterator[tuple[Any, ...]]:
    """Rows for COPY: (row_no, *layer columns, plan_code, props json, geometry EWKB hex)."""
    columns = layer.all_columns
    names = {c.name for c in columns}
    geometry_column = frame.geometry.name if layer.has_geometry and hasattr(frame, "geometry") else None
    extra = [c for c in frame.columns if c not in names and c != geometry_column
             and c != "plan_code" and c not in RESERVED]
    existing_props = "props" in frame.columns
    wkb: Sequence[str | None]
    if geometry_column is not None:
        geoms = frame.geometry.values
        wkb = shapely.to_wkb(shapely.force_2d(np.asarray(geoms)), hex=True, include_srid=False).tolist()
    else:
        wkb = [None] * len(frame)
    records = frame.to_dict("records")
    for row_no, (record, geom_hex) in enumerate(zip(records, wkb, strict=True)):
        props: dict[str, Any] = {}
        if existing_props and isinstance(record.get("props"), dict):
            props.update(_plain(record["props"]))
        for name in extra:
            value = _plain(record.get(name))
            if value is not None:
                props[name] = value
        yield (
            row_no,
            *(_coerce(record.get(c.name), c.sql_type) for c in columns),
            _plain(record.get("plan_code")),
            json_dumps(props).decode(),
            geom_hex,
        )


def create_stage(conn: psycopg.Connection, layer: Layer) -> None:
    column_defs = [sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.sql_type))
                   for c in layer.all_columns]
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(STAGE_TABLE)))
    conn.execute(
        sql.SQL(
            "CREATE TEMP TABLE {} (row_no bigint, {}, plan_code text, props jsonb, geom geometry) "
            "ON COMMIT DROP"
        ).format(sql.Identifier(STAGE_TABLE), sql.SQL(", ").join(column_defs))
    )


def copy_rows(conn: psycopg.Connection, layer: Layer, rows: Iterable[tuple[Any, ...]]) -> int:
    names = ["row_no", *layer.column_names, "plan_code", "props", "geom"]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(STAGE_TABLE), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    count = 0
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _geometry_expression(layer: Layer) -> sql.Composable:
    base = sql.SQL("ST_SetSRID(ST_Force2D(s.geom), 4326)")
    if layer.geometry_type in ("MultiPolygon", "MultiLineString", "MultiPoint"):
        return sql.SQL("ST_Multi({})").format(base)
    return base


def apply_stage(conn: psycopg.Connection, layer: Layer, mode: Mode = "upsert", key: str = "code") -> ApplyResult:
    """Move the staged rows into the layer table in one statement (plus a DELETE for replace)."""
    result = ApplyResult(layer.id, mode)
    table = sql.Identifier(layer.id)
    names = [*layer.column_names, "props"]
    values = [sql.SQL("s.{}").format(sql.Identifier(n)) for n in layer.column_names]
    values.append(sql.SQL("coalesce(s.props, '{}'::jsonb)"))
    if layer.has_geometry:
        names += ["plan_id", "geom"]
        values += [sql.SQL("p.id"), _geometry_expression(layer)]
    select = sql.SQL("SELECT {} FROM {} s {} ORDER BY s.row_no").format(
        sql.SQL(", ").join(values),
        sql.Identifier(STAGE_TABLE),
        sql.SQL("LEFT JOIN plans p ON p.code = s.plan_code") if layer.has_geometry else sql.SQL(""),
    )
    if mode == "replace":
        cur = conn.execute(sql.SQL("DELETE FROM {}").format(table))
        result.deleted = cur.rowcount
    insert = sql.SQL("INSERT INTO {} AS t ({}) {}").format(
        table, sql.SQL(", ").join(map(sql.Identifier, names)), select
    )
    if mode == "upsert":
        if layer.column(key) is None:
            raise ValueError(f"upsert key {key!r} is not a column of {layer.id}")
        updatable = [sql.Identifier(n) for n in names if n != key]
        insert = sql.SQL("{} ON CONFLICT ({}) DO UPDATE SET {} WHERE ({}) IS DISTINCT FROM ({})").format(
            insert,
            sql.Identifier(key),
            sql.SQL(", ").join(sql.SQL("{} = EXCLUDED.{}").format(c, c) for c in updatable),
            sql.SQL(", ").join(sql.SQL("t.{}").format(c) for c in updatable),
            sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(c) for c in updatable),
        )
    insert = sql.SQL("{} RETURNING (xmax = 0) AS inserted").format(insert)
    rows = conn.execute(insert).fetchall()
    result.staged = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(STAGE_TABLE))).fetchone()[0]
    result.inserted = sum(1 for (inserted,) in rows if inserted)
    result.updated = len(rows) - result.inserted
    result.unchanged = result.staged - len(rows)
    return result


def apply_frame(
    conn: psycopg.Connection, layer: Layer, frame: pd.DataFrame, mode: Mode = "upsert", key: str = "code"
) -> ApplyResult:
    """Stage a (Geo)DataFrame in EPSG:4326 and apply it to `layer` inside the caller's transaction."""
    create_stage(conn, layer)
    copy_rows(conn, layer, stage_rows(frame, layer))
    return apply_stage(conn, layer, mode, key)
