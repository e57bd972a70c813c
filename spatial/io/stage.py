"""The stage of a load: a temporary table holding the source's own fields (`f0`, `f1`, … typed from Arrow,
plus `src`, `row_no` and `geom`), filled by one streamed binary COPY, and its issues table (rejections and
repairs found by `spatial.io.checks`). Both are dropped at commit.

The caller owns the transaction. `STAGE_TABLE` and `ISSUES_TABLE` are the only spelling of these names:
every statement on the stage takes them from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import psycopg
import pyarrow as pa
from psycopg import sql

from spatial.io import copy as pgcopy

STAGE_TABLE = "lapis_stage"
ISSUES_TABLE = "lapis_stage_issues"
STAGE = sql.Identifier(STAGE_TABLE)
ISSUES = sql.Identifier(ISSUES_TABLE)

# memory for this transaction only, never lowered: the duplicate-code check hashes every staged code (a
# million codes spill to disk at the default 32 MB) and bulk loads rebuild the layer's indexes
LOAD_MEMORY = """
SELECT set_config(name, greatest(setting::bigint, %s)::text || 'kB', true) FROM pg_settings
WHERE name = 'work_mem' UNION ALL
SELECT set_config(name, greatest(setting::bigint, %s)::text || 'kB', true) FROM pg_settings
WHERE name = 'maintenance_work_mem'
"""
LOAD_WORK_MEM_KB = 256 * 1024
LOAD_MAINTENANCE_WORK_MEM_KB = 512 * 1024


@dataclass(frozen=True)
class StageField:
    name: str  # the source field name, as in the file
    column: str  # the stage column, f0, f1, …
    pg_type: str


def create_stage(conn: psycopg.Connection, fields: list[StageField]) -> None:
    """(Re)create the stage and issues tables for `fields`, and raise this transaction's memory for the load."""
    conn.execute(LOAD_MEMORY, (LOAD_WORK_MEM_KB, LOAD_MAINTENANCE_WORK_MEM_KB))
    columns = [sql.SQL("{} {}").format(sql.Identifier(f.column), sql.SQL(f.pg_type)) for f in fields]
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}, {}").format(STAGE, ISSUES))
    conn.execute(sql.SQL(
        "CREATE TEMP TABLE {} (src integer NOT NULL, row_no bigint NOT NULL, {} geom geometry) ON COMMIT DROP"
    ).format(STAGE, sql.SQL("").join(sql.SQL("{}, ").format(c) for c in columns)))
    conn.execute(sql.SQL(
        "CREATE TEMP TABLE {} (src integer, row_no bigint, kind text, reason text) ON COMMIT DROP"
    ).format(ISSUES))


def copy_batches(conn: psycopg.Connection, fields: list[StageField], src: int,
                 batches: Iterable[pa.RecordBatch], *, geometry: str | None) -> Iterator[int]:
    """Binary-COPY record batches (source field names, plus the WKB column named `geometry`, if any) into the
    stage, as source number `src`, rows numbered from 1.

    Yields the number of rows written after each batch (for progress), so the caller controls pacing.
    """
    names = ["src", "row_no", *(f.column for f in fields), *(["geom"] if geometry else [])]
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        STAGE, sql.SQL(", ").join(map(sql.Identifier, names)))
    row = 1
    with conn.cursor() as cur, cur.copy(statement) as copy:
        copy.write(pgcopy.SIGNATURE)
        for batch in batches:
            n = batch.num_rows
            if n == 0:
                continue
            encoded = [pgcopy.encode_field(pa.array(np.full(n, src, dtype=np.int32)), pgcopy.INTEGER),
                       pgcopy.encode_field(pa.array(np.arange(row, row + n, dtype=np.int64)), pgcopy.BIGINT)]
            for f in fields:
                column = batch.column(f.name) if f.name in batch.schema.names else pa.nulls(n)
                encoded.append(pgcopy.encode_field(column, f.pg_type))
            if geometry:
                encoded.append(pgcopy.encode_field(batch.column(geometry), pgcopy.GEOMETRY))
            copy.write(pgcopy.encode_rows(encoded))
            row += n
            yield n
        copy.write(pgcopy.TRAILER)
