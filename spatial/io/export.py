"""`lapis export`: a layer (optionally filtered by CQL2 text and a bbox) to GeoPackage, shapefile, GeoJSON,
FlatGeobuf or CSV, streamed in batches. Shapefiles get a `.cpg` (UTF-8) and a `.prj`; `props` travels as
one JSON text field, so `lapis load` of the export reproduces the layer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import shapely
from psycopg import sql
from pygeofilter import ast
from pygeofilter.parsers.cql2_text import parse as parse_cql2_text
from pyproj import CRS

from spatial.db import connect
from spatial.io.crs import VN2000_TO_WGS84, WGS84
from spatial.io.errors import LoadError
from spatial.layers import Layer, get_layer

DRIVERS = {".gpkg": "GPKG", ".shp": "ESRI Shapefile", ".geojson": "GeoJSON", ".json": "GeoJSON",
           ".fgb": "FlatGeobuf", ".csv": "CSV"}
BATCH = 50_000
_COMPARISONS = {ast.Equal: "=", ast.NotEqual: "<>", ast.LessThan: "<", ast.LessEqual: "<=",
                ast.GreaterThan: ">", ast.GreaterEqual: ">="}


@dataclass
class ExportReport:
    layer: str
    path: str
    driver: str
    features: int
    crs: str


def cql2_where(layer: Layer, text: str) -> tuple[sql.Composable, list[Any]]:
    """A small CQL2-text subset (comparisons, LIKE, IN, BETWEEN, IS NULL, AND/OR/NOT) as SQL with bound values.
    Property names must be layer columns."""
    try:
        node = parse_cql2_text(text)
    except Exception as exc:
        raise LoadError(f"--filter: not CQL2 text ({exc})") from None
    params: list[Any] = []

    def column(attr: object) -> sql.Composable:
        if not isinstance(attr, ast.Attribute) or layer.column(attr.name) is None:
            raise LoadError(f"--filter: {attr!r} is not a property of {layer.id} "
                            f"({', '.join(layer.column_names)})")
        return sql.SQL("t.{}").format(sql.Identifier(attr.name))

    def value(v: object) -> sql.Composable:
        if isinstance(v, ast.Node):
            raise LoadError(f"--filter: only literal values are supported on the right ({v!r})")
        params.append(v)
        return sql.SQL("%s")

    def walk(n: object) -> sql.Composable:
        if isinstance(n, ast.And | ast.Or):
            op = sql.SQL(" AND " if isinstance(n, ast.And) else " OR ")
            return sql.SQL("({}{}{})").format(walk(n.lhs), op, walk(n.rhs))
        if isinstance(n, ast.Not):
            return sql.SQL("(NOT {})").format(walk(n.sub_node))
        for kind, op in _COMPARISONS.items():
            if type(n) is kind:
                return sql.SQL("({} {} {})").format(column(n.lhs), sql.SQL(op), value(n.rhs))
        if isinstance(n, ast.Like):
            op = "NOT ILIKE" if n.not_ and n.nocase else "ILIKE" if n.nocase else "NOT LIKE" if n.not_ else "LIKE"
            return sql.SQL("({} {} {})").format(column(n.lhs), sql.SQL(op), value(n.pattern))
        if isinstance(n, ast.In):
            inner = sql.SQL(", ").join(value(v) for v in n.sub_nodes)
            return sql.SQL("({} {} ({}))").format(column(n.lhs), sql.SQL("NOT IN" if n.not_ else "IN"), inner)
        if isinstance(n, ast.Between):
            return sql.SQL("({} {} {} AND {})").format(column(n.lhs), sql.SQL("NOT BETWEEN" if n.not_ else "BETWEEN"),
                                                     value(n.low), value(n.high))
        if isinstance(n, ast.IsNull):
            return sql.SQL("({} IS {}NULL)").format(column(n.lhs), sql.SQL("NOT " if n.not_ else ""))
        raise LoadError(f"--filter: {type(n).__name__} is not supported here (comparisons, LIKE, IN, BETWEEN, "
                        "IS NULL, AND/OR/NOT)")

    return walk(node), params


def _transformer(target: CRS):  # noqa: ANN202 - pyproj Transformer or None
    if target.equals(WGS84, ignore_axis_order=True):
        return None
    from pyproj.transformer import Transformer, TransformerGroup

    group = TransformerGroup(WGS84, target, always_xy=True)
    preferred = [t for t in group.transformers if VN2000_TO_WGS84 in t.description]
    return (preferred or group.transformers or [Transformer.from_crs(WGS84, target, always_xy=True)])[0]


def _batches(url: str, layer: Layer, where: sql.Composable, params: list[Any], target: CRS,
             counter: list[int]) -> Iterator[pa.RecordBatch]:
    columns = [*layer.column_names, "props"]
    select = [sql.SQL("t.{}").format(sql.Identifier(c)) if c != "props" else sql.SQL("t.props::text")
              for c in columns]
    if layer.has_geometry:  # the plan by its code, so that loading the export links the same plan
        columns.append("plan_code")
        select.append(sql.SQL("(SELECT p.code FROM plans p WHERE p.id = t.plan_id)"))
        select.append(sql.SQL("ST_AsBinary(t.geom)"))
    query = sql.SQL("SELECT {} FROM {} t WHERE {} ORDER BY t.id").format(
        sql.SQL(", ").join(select), sql.Identifier(layer.id), where)
    transformer = _transformer(target)
    types = {c.name: c.sql_type for c in layer.all_columns}
    with connect(url) as conn, conn.cursor(name="lapis_export") as cur:
        cur.itersize = BATCH
        cur.execute(query, params)
        while rows := cur.fetchmany(BATCH):
            arrays = []
            for i, name in enumerate(columns):
                values = [r[i] for r in rows]
                sql_type = types.get(name, "text")
                if sql_type == "integer":
                    arrays.append(pa.array(values, pa.int64()))
                elif sql_type == "numeric":
                    arrays.append(pa.array([None if v is None else float(v) for v in values], pa.float64()))
                elif sql_type == "date":
                    arrays.append(pa.array(values, pa.date32()))
                else:
                    arrays.append(pa.array(values, pa.string()))
            names = list(columns)
            if layer.has_geometry:
                wkb = np.array([bytes(r[-1]) for r in rows], dtype=object)
                if transformer is not None:
                    geoms = shapely.transform(shapely.from_wkb(wkb),
                                              lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))
                    wkb = shapely.to_wkb(geoms)
                arrays.append(pa.array(wkb, pa.binary()))
                names.append("geometry")
            counter[0] += len(rows)
            yield pa.RecordBatch.from_arrays(arrays, names=names)


def export_layer(url: str, layer_id: str, out: Path, *, crs: str | None = None, cql2: str | None = None,
                 bbox: tuple[float, float, float, float] | None = None) -> ExportReport:
    from pyogrio.raw import write_arrow

    layer = get_layer(layer_id)
    out = Path(out)
    driver = DRIVERS.get(out.suffix.lower())
    if driver is None:
        raise LoadError(f"{out.name}: unknown output format; use one of {', '.join(DRIVERS)}")
    target = CRS.from_user_input(crs) if crs else WGS84
    parts: list[sql.Composable] = [sql.SQL("TRUE")]
    params: list[Any] = []
    if cql2:
        where, p = cql2_where(layer, cql2)
        parts.append(where)
        params += p
    if bbox is not None:
        if not layer.has_geometry:
            raise LoadError(f"--bbox: {layer.id} has no geometry")
        parts.append(sql.SQL("t.geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)"))
        params += list(bbox)
    where = sql.SQL(" AND ").join(parts)
    if driver == "ESRI Shapefile" and layer.geometry_type == "Geometry":
        raise LoadError(f"{layer.id} mixes geometry types, which a shapefile cannot hold: export to .gpkg, "
                        ".geojson or .fgb")
    counter = [0]
    batches = _batches(url, layer, where, params, target, counter)
    first = next(batches, None)
    if first is None:
        first = _empty_batch(layer)
    schema = first.schema

    def all_batches() -> Iterator[pa.RecordBatch]:
        yield first
        yield from batches

    reader = pa.RecordBatchReader.from_batches(schema, all_batches())
    if out.exists():
        out.unlink()
    options: dict[str, Any] = {}
    if driver == "CSV":
        options["layer_options"] = {"GEOMETRY": "AS_WKT"} if layer.has_geometry else {}
    write_arrow(reader, out, driver=driver, layer=out.stem,
                geometry_name="geometry" if layer.has_geometry else None,
                geometry_type=(layer.geometry_type or "Unknown") if layer.has_geometry else None,
                crs=target.to_wkt() if layer.has_geometry else None,
                encoding="UTF-8" if driver == "ESRI Shapefile" else None, **options)
    label = f"EPSG:{target.to_epsg()}" if target.to_epsg() else target.name
    return ExportReport(layer.id, str(out), driver, counter[0], label)


def _empty_batch(layer: Layer) -> pa.RecordBatch:
    fields = []
    for c in layer.all_columns:
        t = {"integer": pa.int64(), "numeric": pa.float64(), "date": pa.date32()}.get(c.sql_type, pa.string())
        fields.append(pa.field(c.name, t))
    fields.append(pa.field("props", pa.string()))
    if layer.has_geometry:
        fields += [pa.field("plan_code", pa.string()), pa.field("geometry", pa.binary())]
    return pa.RecordBatch.from_pylist([], schema=pa.schema(fields))
