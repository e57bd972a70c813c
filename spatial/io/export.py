"""Layer exports to GeoPackage, shapefile, GeoJSON, FlatGeobuf, CSV or GeoParquet, streamed in batches from a
server-side cursor: `lapis export` (`export_layer`) and the API's downloads (`spatial.io.download`) both write a
`Selection` — which rows, in which order, with which columns. Shapefiles get a `.cpg` (UTF-8) and a `.prj`; `props`
travels as one JSON text field, so `lapis load` of an export reproduces the layer. GeoParquet (a file, or a folder of
files with `partitions`) gets its rows in geohash order (sorted by PostgreSQL, so memory stays one batch), which
keeps each row group and each file of a dataset to a compact area.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
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
from spatial.errors import InvalidParameter, TooLarge
from spatial.history.asof import source_sql
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
ARROW_TYPES = {"integer": pa.int64(), "bigint": pa.int64(), "numeric": pa.float64(), "date": pa.date32(),
               "boolean": pa.bool_()}  # any other column type is written as text
ROWS_PER_FILE = 500_000  # a GeoParquet dataset folder written without a number of partitions
SPATIAL_ORDER = "ST_GeoHash(ST_Centroid(t.geom), 12), t.id"


@dataclass
class ExportReport:
    layer: str
    path: str
    driver: str
    features: int
    crs: str


@dataclass(frozen=True)
class Selection:
    """The rows of a layer an export writes. `where` and `order` are SQL on the table alias `t`, with `$n`
    placeholders for `params` (as `spatial.sqlbuild.Params` writes them), built from registry names only."""

    layer: Layer
    where: str = "TRUE"
    params: tuple[Any, ...] = ()
    order: str = "t.id"
    properties: tuple[str, ...] | None = None  # None: every column, the extra `props` and the plan's code
    with_id: bool = False  # the feature id as the first column (the API's downloads: the items' ids)
    limit: int | None = None  # at most this many rows (in `order`)
    max_features: int | None = None  # more rows than this selected (after `limit`): TooLarge, nothing written
    # keep `order` in the file even where the format would reorder: FlatGeobuf's spatial index sorts the features
    # along a Hilbert curve, so with this the file has no index
    keep_order: bool = False
    # the FROM item the rows are read from (SQL, `$n` placeholders in `params`): None for the layer's table, or the
    # layer as it stood at an instant (`spatial.history.asof.source_sql`)
    source: str | None = None

    @property
    def table(self) -> sql.Composable:
        return sql.Identifier(self.layer.id) if self.source is None else sql.SQL(self.source)


class ExportCancelled(Exception):  # noqa: N818 - not an error: the caller asked to stop
    """Raised inside an export when its `stop()` turns true (the client of a download went away)."""


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


def _columns(selection: Selection) -> list[tuple[str, sql.Composable, pa.DataType]]:
    """(name, SELECT expression, Arrow type) of each attribute column an export writes, in order."""
    layer = selection.layer
    types = {c.name: c.sql_type for c in layer.all_columns}
    names = list(selection.properties) if selection.properties is not None else [*layer.column_names, "props"]
    if selection.with_id:
        names.insert(0, "id")
        types["id"] = "bigint"
    columns = [(name, sql.SQL("t.{}").format(sql.Identifier(name)) if name != "props" else sql.SQL("t.props::text"),
                ARROW_TYPES.get(types.get(name, "text"), pa.string())) for name in names]
    if layer.has_geometry and selection.properties is None:  # the plan by its code: a load links the same plan
        columns.append(("plan_code", sql.SQL("(SELECT p.code FROM plans p WHERE p.id = t.plan_id)"), pa.string()))
    return columns


def _query(selection: Selection, select: list[sql.Composable]) -> sql.Composed:
    limit = sql.SQL(" LIMIT {}").format(sql.Literal(selection.limit)) if selection.limit is not None else sql.SQL("")
    return sql.SQL("SELECT {} FROM {} t WHERE {} ORDER BY {}{}").format(
        sql.SQL(", ").join(select), selection.table, sql.SQL(selection.where),
        sql.SQL(selection.order), limit)


def _check_size(conn: psycopg.Connection, selection: Selection) -> None:
    """TooLarge when the selection holds more than `max_features` rows (counted in the export's own snapshot)."""
    if selection.max_features is None:
        return
    cap = selection.max_features + 1  # counting further would not change the answer
    if selection.limit is not None:
        cap = min(cap, selection.limit)
    count = sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {} t WHERE {} LIMIT {}) s").format(
        selection.table, sql.SQL(selection.where), sql.Literal(cap))
    n = psycopg.RawCursor(conn).execute(count, selection.params).fetchone()[0]  # type: ignore[index]
    if n > selection.max_features:
        raise TooLarge(f"{selection.layer.id}: the selection holds more than {selection.max_features} features, the "
                       "most one download may hold; narrow it (bbox, filter, property=value, datetime) or use "
                       "`lapis export`")


@dataclass
class _Stream:
    """The rows of a selection as Arrow batches in the target CRS, counted. An error raised while GDAL pulls the
    batches reaches the caller as GDAL's own generic error, so it is kept here to be raised as itself."""

    url: str
    selection: Selection
    target: CRS
    stop: Callable[[], bool] | None = None
    features: int = 0
    error: Exception | None = None

    def batches(self) -> Iterator[pa.RecordBatch]:
        try:
            yield from self._batches()
        except psycopg.errors.DataError as exc:  # a value of the filter PostgreSQL refuses (division by zero…)
            self.error = LoadError(f"the database rejected a value: {exc.diag.message_primary}")
            raise self.error from None
        except Exception as exc:
            self.error = exc
            raise

    def _batches(self) -> Iterator[pa.RecordBatch]:
        selection = self.selection
        columns = _columns(selection)
        select = [expression for _name, expression, _type in columns]
        names = [name for name, _expression, _type in columns]
        if selection.layer.has_geometry:
            select.append(sql.SQL("ST_AsBinary(t.geom)"))
            names.append("geometry")
        transformer = _transformer(self.target)
        # $n placeholders, as the CQL2 compiler writes them: raw cursors bind them as they are. One snapshot for the
        # count and the rows: the size checked is the size written.
        with connect(self.url) as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            _check_size(conn, selection)
            with psycopg.RawServerCursor(conn, "lapis_export") as cur:
                cur.itersize = BATCH
                cur.execute(_query(selection, select), selection.params)
                while rows := cur.fetchmany(BATCH):
                    if self.stop is not None and self.stop():
                        raise ExportCancelled
                    arrays = [_array([r[i] for r in rows], arrow_type)
                              for i, (_name, _expression, arrow_type) in enumerate(columns)]
                    if selection.layer.has_geometry:
                        arrays.append(pa.array(_wkb([r[-1] for r in rows], transformer), pa.binary()))
                    self.features += len(rows)
                    yield pa.RecordBatch.from_arrays(arrays, names=names)


def _array(values: list[Any], arrow_type: pa.DataType) -> pa.Array:
    if arrow_type == pa.float64():  # numeric columns arrive as Decimal, which Arrow does not convert to double
        values = [None if v is None else float(v) for v in values]
    return pa.array(values, arrow_type)


def _wkb(values: list[Any], transformer: Any) -> np.ndarray:  # noqa: ANN401 - a pyproj Transformer or None
    """Stored geometries (WKB, CRS84) in the target CRS, as WKB (NULL geometries stay NULL)."""
    wkb = np.array([bytes(v) if v is not None else None for v in values], dtype=object)
    if transformer is None:
        return wkb
    geoms = shapely.transform(shapely.from_wkb(wkb),
                              lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))
    return shapely.to_wkb(geoms)


def target_crs(crs: str | None) -> CRS:
    """The CRS an export writes in (CRS84 when none is given), from anything PROJ reads."""
    if not crs:
        return WGS84
    try:
        return CRS.from_user_input(crs)
    except CRSError as exc:
        raise LoadError(f"--crs {crs!r} is not a CRS PROJ knows: {exc}", parameter="crs") from None


def export_layer(url: str, layer_id: str, out: Path, *, crs: str | None = None, cql2: str | None = None,
                 bbox: tuple[float, float, float, float] | None = None,
                 partitions: int | None = None, asof: datetime | None = None) -> ExportReport:
    """`lapis export`: a layer of the default registry, optionally filtered by CQL2 text and a CRS84 bbox (format by
    suffix; GeoParquet to a folder when `partitions` is given or `out` is a folder or has no suffix), as it is or
    as it stood at `asof`."""
    layer = get_layer(layer_id)
    out = Path(out)
    target = target_crs(crs)
    params = Params()
    where = filter_sql(layer, cql2, bbox, params)
    source = source_sql(layer, asof, params) if asof is not None else None
    if out.suffix.lower() in PARQUET_SUFFIXES or partitions is not None or out.is_dir() or not out.suffix:
        selection = Selection(layer, where, tuple(params.values), order=SPATIAL_ORDER, source=source)
        return _export_geoparquet(url, selection, out, target, partitions)
    return write_selection(url, Selection(layer, where, tuple(params.values), source=source), out, target)


def _export_geoparquet(url: str, selection: Selection, out: Path, target: CRS,
                       partitions: int | None) -> ExportReport:
    layer = selection.layer
    if not layer.has_geometry:
        raise LoadError(f"{layer.id} has no geometry, which GeoParquet needs: export it to .csv")
    if partitions is not None and partitions < 1:
        raise LoadError(f"--partitions {partitions}: at least 1", parameter="partitions")
    rows_per_file = None
    if partitions is not None or out.is_dir() or not out.suffix:
        rows_per_file = ROWS_PER_FILE
        if partitions is not None:
            count = sql.SQL("SELECT count(*) FROM {} t WHERE {}").format(selection.table, sql.SQL(selection.where))
            with connect(url) as conn:
                total = psycopg.RawCursor(conn).execute(count, selection.params).fetchone()[0]  # type: ignore[index]
            rows_per_file = max(1, -(-total // partitions))
    stream = _Stream(url, selection, target)
    try:
        files = write_dataset(stream.batches(), _empty_batch(selection).schema, out, target, rows_per_file)
    except GeoParquetError as exc:
        raise LoadError(str(exc)) from None
    label = f"EPSG:{target.to_epsg()}" if target.to_epsg() else target.name
    driver = "GeoParquet" if len(files) == 1 and files[0] == out else f"GeoParquet dataset, {len(files)} files"
    return ExportReport(layer.id, str(out), driver, stream.features, label)


def write_selection(url: str, selection: Selection, out: Path, target: CRS, *,
                    stop: Callable[[], bool] | None = None) -> ExportReport:
    """Write `selection` to `out` (the driver from its suffix) in `target`, streaming: never more than one batch
    of rows in memory. When `stop()` (asked before each batch) turns true: ExportCancelled, and the caller removes
    what was written."""
    from pyogrio.raw import write_arrow

    layer = selection.layer
    driver = DRIVERS.get(out.suffix.lower())
    if driver is None:
        raise LoadError(f"{out.name}: unknown output format; use one of {', '.join(DRIVERS)}")
    if driver == "ESRI Shapefile" and layer.geometry_type == "Geometry":
        raise LoadError(f"{layer.id} mixes geometry types, which a shapefile cannot hold: export to .gpkg, "
                        ".geojson or .fgb")
    stream = _Stream(url, selection, target, stop)
    batches = stream.batches()
    first = next(batches, None)  # the size check and the query's errors come here, before any file is made
    if first is None:
        first = _empty_batch(selection)

    def all_batches() -> Iterator[pa.RecordBatch]:
        yield first
        yield from batches

    reader = pa.RecordBatchReader.from_batches(first.schema, all_batches())
    if out.exists():
        out.unlink()
    try:
        write_arrow(reader, out, driver=driver, layer=out.stem,
                    geometry_name="geometry" if layer.has_geometry else None,
                    geometry_type=_ogr_geometry_type(layer) if layer.has_geometry else None,
                    crs=target.to_wkt() if layer.has_geometry else None,
                    encoding="UTF-8" if driver == "ESRI Shapefile" else None, **_options(driver, selection))
    except Exception:
        if stream.error is not None:
            raise stream.error from None
        raise
    label = f"EPSG:{target.to_epsg()}" if target.to_epsg() else target.name
    return ExportReport(layer.id, str(out), driver, stream.features, label)


def _ogr_geometry_type(layer: Layer) -> str:
    """The layer's geometry type as GDAL names it: PostGIS's generic `Geometry` (mixed types) is GDAL's `Unknown`."""
    return "Unknown" if layer.geometry_type in (None, "Geometry") else str(layer.geometry_type)


def _options(driver: str, selection: Selection) -> dict[str, Any]:
    """Driver options: CSV geometry as WKT; GeoJSON features with the feature id as their `id` member; FlatGeobuf
    in the selection's order (no spatial index) when it must keep it."""
    if driver == "FlatGeobuf" and selection.keep_order:
        return {"layer_options": {"SPATIAL_INDEX": "NO"}}
    if driver == "CSV" and selection.layer.has_geometry:
        return {"layer_options": {"GEOMETRY": "AS_WKT"}}
    if driver == "GeoJSON" and selection.with_id:
        return {"layer_options": {"ID_FIELD": "id"}}
    return {}


def _empty_batch(selection: Selection) -> pa.RecordBatch:
    fields = [pa.field(name, arrow_type) for name, _expression, arrow_type in _columns(selection)]
    if selection.layer.has_geometry:
        fields.append(pa.field("geometry", pa.binary()))
    return pa.RecordBatch.from_pylist([], schema=pa.schema(fields))
