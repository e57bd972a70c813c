"""Plan layers as (Geo)DataFrames: `read_layer` for a whole layer (CQL2-filtered, in EPSG:4326 or VN-2000) and
`read_select` for any SQLAlchemy statement over the ORM models (`spatial.models`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import psycopg
import shapely
from psycopg import sql

from spatial.cql import compile_filter, parse
from spatial.crs import DEFAULT as CRS84
from spatial.crs import parse_crs
from spatial.db import connect, database_url, make_engine
from spatial.history.asof import source_sql
from spatial.layers import get_layer
from spatial.queryables import queryables
from spatial.settings import Settings
from spatial.sqlbuild import Params

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

NUMERIC = ("numeric",)


def resolve_url(url: str | None) -> str:
    """`url`, or the configured database (DATABASE_URL, else the embedded cluster, started when needed)."""
    return url or database_url(Settings())


def read_layer(layer: str, crs: str = "EPSG:4326", where: str | None = None,
               url: str | None = None, asof: datetime | None = None) -> gpd.GeoDataFrame | pd.DataFrame:
    """A layer's features: its columns, `props` (dict) and geometry in `crs` — EPSG:4326 (lon/lat), EPSG:3857,
    EPSG:3405 or EPSG:9210 (VN-2000, transformed by PostGIS with EPSG:6960). `where` is CQL2 text, as the API's
    `filter`, e.g. ``"level = 'district'"``. A layer without geometry (plans, use_rules) comes as a DataFrame. `asof`
    (an aware datetime): the layer as it stood then, from its history (`spatial.history`)."""
    import geopandas as gpd
    import pandas as pd

    entry = get_layer(layer)
    target = parse_crs(crs, "crs")
    params = Params()
    condition = compile_filter(parse(where, "cql2-text"), queryables(entry), params, CRS84) if where else "TRUE"
    names = ["id", *entry.column_names, "props"]
    select = [sql.SQL("t.{}").format(sql.Identifier(c)) for c in names]
    if entry.has_geometry:
        select.append(sql.SQL("ST_AsBinary(ST_Transform(t.geom, {}))").format(sql.Literal(target.srid)))
    source = source_sql(entry, asof, params) if asof is not None else sql.Identifier(entry.id)
    query = sql.SQL("SELECT {} FROM {} t WHERE {} ORDER BY t.id").format(
        sql.SQL(", ").join(select), sql.SQL(source) if isinstance(source, str) else source, sql.SQL(condition))
    with connect(resolve_url(url)) as conn:
        rows = psycopg.RawCursor(conn).execute(query, params.values).fetchall()
    columns: list[Any] = list(zip(*rows, strict=True)) if rows else [()] * len(select)
    frame = pd.DataFrame({name: list(values) for name, values in zip(names, columns, strict=False)})
    for column in entry.all_columns:
        if column.sql_type == "numeric":
            frame[column.name] = pd.to_numeric(frame[column.name], errors="coerce").astype("float64")
        elif column.sql_type == "integer":
            frame[column.name] = frame[column.name].astype("Int64")
    if not entry.has_geometry:
        return frame
    geometry = shapely.from_wkb(np.array([bytes(g) for g in columns[-1]], dtype=object))
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=f"EPSG:{target.code}")


def read_select(statement: Any, url: str | None = None, geom_col: str = "geom") -> gpd.GeoDataFrame:
    """A SQLAlchemy `Select` (e.g. over `spatial.models`, with `func.ST_*`) as a GeoDataFrame; the CRS comes from
    the geometries' SRID (EPSG:4326 for stored geometry)."""
    import geopandas as gpd

    engine = make_engine(resolve_url(url))
    try:
        with engine.connect() as conn:
            return gpd.read_postgis(statement, conn, geom_col=geom_col)
    finally:
        engine.dispose()
