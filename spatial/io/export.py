"""`lapis export`: a layer (optionally filtered by CQL2 text — the same compiler as the API's `filter` —
and a bbox) to GeoPackage, shapefile, GeoJSON, FlatGeobuf, CSV or GeoParquet (a file, or a folder of files with
`partitions`), streamed in batches. Shapefiles get a `.cpg` (UTF-8) and a `.prj`; `props` travels as one JSON text
field, so `lapis load` of the export reproduces the layer. GeoParquet rows come in geohash order (sorted by
PostgreSQL, so memory stays one batch), which keeps each row group and each file of a dataset to a compact area.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
import shapely
from psycopg import sql
from pyproj import CRS
from pyproj.exceptions import CRSError

from spatial.cql import compile_filter, parse
from spatial.crs import DEFAULT as DEFAULT_CRS
from spatial.db import connect
from spatial.errors import InvalidParameter
from spatial.io.crs import VN2000_TO_WGS84, WGS84
from spatial.io.errors import LoadError
from spatial.io.geoparquet import SUFFIXES as PARQUET_SUFFIXES
from spatial.io.geoparquet import GeoParquetError, write_dataset
from spatial.layers import Layer, get_layer
from spatial.queryables import queryables
from spatial.sqlbuild import Params

DRIVERS = {".gpkg": "GPKG", ".shp": "ESRI Shapefile", ".geojson": "GeoJSON", ".json": "GeoJSON",
           ".fgb": "FlatGeobuf", ".csv": "CSV"}
BATCH = 50_000
ROWS_PER_FILE = 500_000  # a GeoParquet dataset folder written without a number of partitions
SPATIAL_ORDER = "ST_GeoHash(ST_Centroid(t.geom), 12), t.id"


@dataclass
class ExportReport:
    layer: str
    path: str
    driver: str
    features: int
    crs: str


def filter_sql(layer: Layer, cql2_text: str | None, bbox: tuple[float, float, float, float] | None,
               params: Params) -> str:
    """The WHERE condition for an export: the API's own CQL2 compiler (every literal a bound $n
    parameter, property names from the layer's queryables) ANDed with a bbox in CRS84."""
    parts = ["TRUE"]
    if cql2_text:
        try:
            parts.append(compile_filter(parse(cql2_text, "cql2-text"), queryables(layer), params, DEFAULT_CRS))
        except InvalidParameter as exc:
            raise LoadError(f"--{exc}", parameter=exc.parameter) from None
    if bbox is not None:
        if not layer.has_geometry:
            raise LoadError(f"--bbox: {layer.id} has no geometry", parameter="bbox")
        corners = ", ".join(params.add(float(v), "float8") for v in bbox)
        parts.append(f"t.geom && ST_MakeEnvelope({corners}, 4326)")
    return " AND ".join(f"({p})" for p in parts)


def _transformer(target: CRS):  # noqa: ANN202 - pyproj Transformer or None
    if target.equals(WGS84, ignore_axis_order=True):
        return None
    from pyproj.transformer import Transformer, TransformerGroup

    group = TransformerGroup(WGS84, target, always_xy=True)
    preferred = [t for t in group.transformers if VN2000_TO_WGS84 in t.description]
    return (preferred or group.transformers or [Transformer.from_crs(WGS84, target, always_xy=True)])[0]


def _batches(url: str, layer: Layer, where: str, params: list[Any], target: CRS,
             counter: list[int], spatial_order: bool = False) -> Iterator[pa.RecordBatch]:
    columns = [*layer.column_names, "props"]
    select = [sql.SQL("t.{}").format(sql.Identifier(c)) if c != "props" else sql.SQL("t.props::text")
              for c in columns]
    if layer.has_geometry:  # the plan by its code, so that loading the export links the same plan
        columns.append("plan_code")
        select.append(sql.SQL("(SELECT p.code FROM plans p WHERE p.id = t.plan_id)"))
        select.append(sql.SQL("ST_AsBinary(t.geom)"))
    query = sql.SQL("SELECT {} FROM {} t WHERE {} ORDER BY {}").format(
        sql.SQL(", ").join(select), sql.Identifier(layer.id), sql.SQL(where),
        sql.SQL(SPATIAL_ORDER if spatial_order and layer.has_geometry else "t.id"))
    transformer = _transformer(target)
    types = {c.name: c.sql_type for c in layer.all_columns}
    # $n placeholders, as the CQL2 compiler writes them: a raw (server-side) cursor binds them as they are
    with connect(url) as conn, psycopg.RawServerCursor(conn, "lapis_export") as cur:
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


def _target_crs(crs: str | None) -> CRS:
    if not crs:
        return WGS84
    try:
        return CRS.from_user_input(crs)
    except CRSError as exc:
        raise LoadError(f"--crs {crs!r} is not a CRS PROJ knows: {exc}", parameter="crs") from None


def export_layer(url: str, layer_id: str, out: Path, *, crs: str | None = None, cql2: str | None = None,
                 bbox: tuple[float, float, float, float] | None = None,
                 partitions: int | None = None) -> ExportReport:
    """Write the layer to `out` (format by suffix; GeoParquet to a folder when `partitions` is given or `out` is a
    folder or has no suffix)."""
    from pyogrio.raw import write_arrow

    layer = get_layer(layer_id)
    out = Path(out)
    if out.suffix.lower() in PARQUET_SUFFIXES or partitions is not None or out.is_dir() or not out.suffix:
        return _export_geoparquet(url, layer, out, _target_crs(crs), cql2, bbox, partitions)
    driver = DRIVERS.get(out.suffix.lower())
    if driver is None:
        raise LoadError(f"{out.name}: unknown output format; use one of {', '.join(DRIVERS)}")
    target = _target_crs(crs)
    params = Params()
    where = filter_sql(layer, cql2, bbox, params)
    if driver == "ESRI Shapefile" and layer.geometry_type == "Geometry":
        raise LoadError(f"{layer.id} mixes geometry types, which a shapefile cannot hold: export to .gpkg, "
                        ".geojson or .fgb")
    counter = [0]
    batches = _batches(url, layer, where, params.values, target, counter)
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


def _export_geoparquet(url: str, layer: Layer, out: Path, target: CRS, cql2: str | None,
                       bbox: tuple[float, float, float, float] | None, partitions: int | None) -> ExportReport:
    if not layer.has_geometry:
        raise LoadError(f"{layer.id} has no geometry, which GeoParquet needs: export it to .csv")
    if partitions is not None and partitions < 1:
        raise LoadError(f"--partitions {partitions}: at least 1", parameter="partitions")
    params = Params()
    where = filter_sql(layer, cql2, bbox, params)
    rows_per_file = None
    if partitions is not None or out.is_dir() or not out.suffix:
        rows_per_file = ROWS_PER_FILE
        if partitions is not None:
            count = sql.SQL("SELECT count(*) FROM {} t WHERE {}").format(sql.Identifier(layer.id), sql.SQL(where))
            with connect(url) as conn:
                total = psycopg.RawCursor(conn).execute(count, params.values).fetchone()[0]  # type: ignore[index]
            rows_per_file = max(1, -(-total // partitions))
    counter = [0]
    batches = _batches(url, layer, where, params.values, target, counter, spatial_order=True)
    try:
        files = write_dataset(batches, _empty_batch(layer).schema, out, target, rows_per_file)
    except GeoParquetError as exc:
        raise LoadError(str(exc)) from None
    label = f"EPSG:{target.to_epsg()}" if target.to_epsg() else target.name
    driver = "GeoParquet" if len(files) == 1 and files[0] == out else f"GeoParquet dataset, {len(files)} files"
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
