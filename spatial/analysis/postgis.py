"""The `postgis` engine: `/classify`'s own statements (`spatial.queries.classify`) run over psycopg — the parcels
COPYed into its temporary table, indexed, and the one set-based join — for analysts' GeoDataFrames and files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from spatial.analysis.join import COLUMNS
from spatial.crs import STORAGE_SRID
from spatial.db import connect
from spatial.io.copy import GEOMETRY, INTEGER, SIGNATURE, TEXT, TRAILER, encode_field, encode_rows
from spatial.queries.classify import CREATE_SQL, CSV_SQL, INDEX_SQL, TABLE, TRANSFORM_SQL

COPY_CHUNK = 100_000


def classify_in_postgis(geoms: np.ndarray, srid: int, url: str) -> pd.DataFrame:
    """`/classify`'s columns for parcels (shapely array in PostGIS SRID `srid`: 4326, or 909210/903405 for VN-2000,
    transformed in the database as `/classify?crs=` does), one row per parcel in input order."""
    ewkb = shapely.to_wkb(shapely.set_srid(geoms, srid), include_srid=True)
    with connect(url) as conn, conn.transaction():
        conn.execute("SET LOCAL jit = on")  # as classify_stream: the big join gains from it
        conn.execute(CREATE_SQL)
        with conn.cursor().copy(f"COPY {TABLE} (idx, g, props) FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(SIGNATURE)
            for start in range(0, len(ewkb), COPY_CHUNK):
                part = ewkb[start:start + COPY_CHUNK]
                copy.write(encode_rows([
                    encode_field(pa.array(np.arange(start, start + len(part), dtype=np.int32)), INTEGER),
                    encode_field(pa.array(part, pa.binary()), GEOMETRY),
                    encode_field(pa.array(np.full(len(part), "{}", dtype=object), pa.string()), TEXT)]))
            copy.write(TRAILER)
        if srid != STORAGE_SRID:
            conn.execute(TRANSFORM_SQL)
        for sql in INDEX_SQL:
            conn.execute(sql)
        rows = conn.execute(CSV_SQL).fetchall()
    # idx, props, admin code/name, region code/name/share, centre, corridors, shares
    frame = pd.DataFrame([r[2:] for r in rows], columns=COLUMNS, index=pd.Index([r[0] for r in rows]))
    frame["lapis_region_share_pct"] = pd.to_numeric(frame.lapis_region_share_pct).astype("float64")
    frame["lapis_shares"] = frame.lapis_shares.fillna("{}")
    return frame.sort_index().reset_index(drop=True).astype({c: "string" for c in COLUMNS
                                                             if c != "lapis_region_share_pct"})
