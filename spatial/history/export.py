"""`lapis history export LAYER out.gpkg`: every version of every feature of a layer, for the archive.

One row per version, oldest first: `version`, `valid_from`, `valid_to` (when the next version of the same feature
began; empty while it is current), `operation` (insert, update, delete), `who`, `db_role`, `proposal`, `reason`,
`txid`, then the feature as it was — `id`, the layer's columns, `props` as JSON text, the plan's code — and its
geometry (none for a deletion). Streamed from a server-side cursor in batches (one batch in memory) to any format
`lapis export` writes (by suffix; not shapefiles); timestamps are written as date-times with their UTC offset.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pyarrow as pa
from psycopg import sql

from spatial.db import connect
from spatial.history.asof import history_table
from spatial.io.errors import LoadError
from spatial.io.export import ARROW_TYPES, BATCH, DRIVERS, ExportReport
from spatial.layers import get_layer
from spatial.registry import Layer

TIMESTAMP = pa.timestamp("us", tz="UTC")
VERSION_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("version", pa.int64()), ("valid_from", TIMESTAMP), ("valid_to", TIMESTAMP), ("operation", pa.string()),
    ("who", pa.string()), ("db_role", pa.string()), ("proposal", pa.int64()), ("reason", pa.string()),
    ("txid", pa.int64()), ("id", pa.int64()),
)
VALID_TO = "lead(h.valid_from) OVER (PARTITION BY h.id ORDER BY h.version)"


def _columns(layer: Layer) -> list[tuple[str, str, pa.DataType]]:
    """(name, SELECT expression on `h`, Arrow type) of every column written, in order (the geometry aside)."""
    columns = [(name, VALID_TO if name == "valid_to" else f"h.{name}", kind) for name, kind in VERSION_COLUMNS]
    for column in layer.all_columns:
        columns.append((column.name, f"h.{column.name}", ARROW_TYPES.get(column.sql_type, pa.string())))
    columns.append(("props", "h.props::text", pa.string()))
    if layer.has_geometry:  # the plan by its code, as `lapis export` writes it
        columns.append(("plan_code", "(SELECT p.code FROM plans p WHERE p.id = h.plan_id)", pa.string()))
    return columns


def _batches(url: str, layer: Layer, columns: list[tuple[str, str, pa.DataType]],
             counted: list[int]) -> Iterator[pa.RecordBatch]:
    select = [expression for _name, expression, _kind in columns]
    names = [name for name, _expression, _kind in columns]
    if layer.has_geometry:
        select.append("ST_AsBinary(h.geom)")
        names.append("geometry")
    query = f"SELECT {', '.join(select)} FROM {history_table(layer)} h ORDER BY h.version"  # noqa: S608 - registry
    with connect(url) as conn, psycopg.ServerCursor(conn, "lapis_history_export") as cur:
        cur.itersize = BATCH
        cur.execute(sql.SQL(query))  # type: ignore[arg-type] - built from registry names only
        while rows := cur.fetchmany(BATCH):
            arrays = [_array([r[i] for r in rows], kind) for i, (_name, _expression, kind) in enumerate(columns)]
            if layer.has_geometry:
                arrays.append(pa.array([None if r[-1] is None else bytes(r[-1]) for r in rows], pa.binary()))
            counted[0] += len(rows)
            yield pa.RecordBatch.from_arrays(arrays, names=names)


def _array(values: list, kind: pa.DataType) -> pa.Array:
    if kind == pa.float64():  # numeric arrives as Decimal
        values = [None if v is None else float(v) for v in values]
    return pa.array(values, kind)


def _schema(layer: Layer, columns: list[tuple[str, str, pa.DataType]]) -> pa.Schema:
    fields = [pa.field(name, kind) for name, _expression, kind in columns]
    if layer.has_geometry:
        fields.append(pa.field("geometry", pa.binary()))
    return pa.schema(fields)


def export_history(url: str, layer_id: str, out: Path) -> ExportReport:
    """Write every version of `layer_id` to `out` (format by suffix: .gpkg, .geojson, .fgb, .csv, .shp), CRS84."""
    from pyogrio.raw import write_arrow

    layer = get_layer(layer_id)
    out = Path(out)
    driver = DRIVERS.get(out.suffix.lower())
    if driver is None:
        raise LoadError(f"{out.name}: unknown output format; use one of {', '.join(DRIVERS)}")
    if driver == "ESRI Shapefile":
        raise LoadError(f"{out.name}: a shapefile cannot hold date-times or long field names; use .gpkg")
    columns = _columns(layer)
    counted = [0]
    reader = pa.RecordBatchReader.from_batches(_schema(layer, columns), _batches(url, layer, columns, counted))
    if out.exists():
        out.unlink()
    write_arrow(reader, out, driver=driver, layer=f"{layer.id}_history",
                geometry_name="geometry" if layer.has_geometry else None,
                geometry_type=("Unknown" if layer.geometry_type == "Geometry" else layer.geometry_type)
                if layer.has_geometry else None,
                crs="EPSG:4326" if layer.has_geometry else None,
                **({"layer_options": {"GEOMETRY": "AS_WKT"}} if driver == "CSV" and layer.has_geometry else {}))
    return ExportReport(layer.id, str(out), driver, counted[0], "EPSG:4326")
