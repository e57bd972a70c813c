"""The one write path into a layer: binary COPY into a temporary stage table, set-based checks and repairs
on the staged rows, then one INSERT (append), DELETE + INSERT (replace) or upsert from the stage.

The caller owns the transaction, so a load of several layers (the seed) or a load with checks before
commit is all-or-nothing. The stage keeps the source's own fields (`f0`, `f1`, … typed from Arrow); a
`Mapping` says which field feeds which layer column, which constants are set, and which fields go to
`props`. Layer statement triggers stamp `layer_versions` with the transaction id, so a whole load gives
the layer one new version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import shapely
from psycopg import sql

from spatial.io import copy as pgcopy
from spatial.layers import Layer

Mode = Literal["append", "replace", "upsert"]
STAGE_TABLE = "lapis_stage"
ISSUES_TABLE = "lapis_stage_issues"
RESERVED = {"id", "fid", "ogc_fid", "geom", "geometry", "geom_3857", "created_at", "updated_at", "plan_id"}
PSEUDO_COLUMNS = ("plan_code", "props")  # mappable besides layer columns
JSONB_BUILD_PAIRS = 45  # jsonb_build_object takes at most 100 arguments
REJECT_LIST_LIMIT = 1000  # rejected rows listed one by one (all are counted)
_TYPE_DIMENSION = {"MultiPolygon": 2, "Polygon": 2, "MultiLineString": 1, "LineString": 1,
                   "MultiPoint": 0, "Point": 0}


@dataclass(frozen=True)
class StageField:
    name: str  # the source field name, as in the file
    column: str  # the stage column, f0, f1, …
    pg_type: str


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


@dataclass
class ApplyResult:
    layer: str
    mode: str
    staged: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    indexes_rebuilt: int = 0


@dataclass
class CheckResult:
    repaired: int = 0
    rejected: int = 0
    rejects: list[tuple[int, int, str | None, str]] = field(default_factory=list)  # src, row, code, reason
    outside: int = 0
    outside_rows: list[tuple[int, int]] = field(default_factory=list)
    extent: tuple[float, float, float, float] | None = None


def stage_fields(schema: pa.Schema, skip: Iterable[str] = ()) -> list[StageField]:
    skipped = set(skip)
    return [StageField(f.name, f"f{i}", pgcopy.pg_type_for(f))
            for i, f in enumerate(f for f in schema if f.name not in skipped)]


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


def create_stage(conn: psycopg.Connection, fields: list[StageField]) -> None:
    conn.execute(LOAD_MEMORY, (LOAD_WORK_MEM_KB, LOAD_MAINTENANCE_WORK_MEM_KB))
    columns = [sql.SQL("{} {}").format(sql.Identifier(f.column), sql.SQL(f.pg_type)) for f in fields]
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}, {}").format(sql.Identifier(STAGE_TABLE),
                                                             sql.Identifier(ISSUES_TABLE)))
    conn.execute(sql.SQL(
        "CREATE TEMP TABLE {} (src integer NOT NULL, row_no bigint NOT NULL, {} geom geometry) ON COMMIT DROP"
    ).format(sql.Identifier(STAGE_TABLE), sql.SQL("").join(sql.SQL("{}, ").format(c) for c in columns)))
    conn.execute(sql.SQL(
        "CREATE TEMP TABLE {} (src integer, row_no bigint, kind text, reason text) ON COMMIT DROP"
    ).format(sql.Identifier(ISSUES_TABLE)))


def copy_batches(conn: psycopg.Connection, fields: list[StageField], src: int,
                 batches: Iterable[pa.RecordBatch], geometry: str | None = "geometry",
                 first_row: int = 1) -> Iterator[int]:
    """Binary-COPY record batches (source field names, plus a WKB `geometry` column) into the stage.

    Yields the number of rows written after each batch (for progress), so the caller controls pacing.
    """
    present = fields
    names = ["src", "row_no", *(f.column for f in present), *(["geom"] if geometry else [])]
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(STAGE_TABLE), sql.SQL(", ").join(map(sql.Identifier, names)))
    row = first_row
    with conn.cursor() as cur, cur.copy(statement) as copy:
        copy.write(pgcopy.SIGNATURE)
        for batch in batches:
            n = batch.num_rows
            if n == 0:
                continue
            encoded = [_int4(n, src), pgcopy.encode_field(pa.array(np.arange(row, row + n, dtype=np.int64)),
                                                          pgcopy.BIGINT)]
            for f in present:
                column = batch.column(f.name) if f.name in batch.schema.names else pa.nulls(n)
                encoded.append(pgcopy.encode_field(column, f.pg_type))
            if geometry:
                encoded.append(pgcopy.encode_field(batch.column(geometry), pgcopy.GEOMETRY))
            copy.write(pgcopy.encode_rows(encoded))
            row += n
            yield n
        copy.write(pgcopy.TRAILER)


def _int4(n: int, value: int) -> pa.Array:
    return pgcopy._prefixed(pgcopy._fixed(np.full(n, value, dtype=">i4"), 4))


# ---------------------------------------------------------------------------------------------------
# value expressions (from the stage row `s`) for each layer column

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


def code_expression(mapping: Mapping) -> tuple[sql.Composable, list[Any]]:
    if "code" in mapping.constants:
        return sql.SQL("%s::text"), [mapping.constants["code"]]
    if "code" in mapping.fields:
        return _cast(mapping.fields["code"], "text"), []
    # generated: <source stem>-<row number in that source>, stable for a given file
    return sql.SQL("((%s::text[])[s.src] || '-' || s.row_no)"), [mapping.stems]


def column_expression(layer: Layer, name: str, mapping: Mapping) -> tuple[sql.Composable, list[Any]]:
    column = layer.column(name)
    assert column is not None
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


def props_expression(mapping: Mapping) -> tuple[sql.Composable, list[Any]]:
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


def plan_code_expression(mapping: Mapping) -> tuple[sql.Composable, list[Any]]:
    if "plan_code" in mapping.constants:
        return sql.SQL("%s::text"), [mapping.constants["plan_code"]]
    if "plan_code" in mapping.fields:
        return _cast(mapping.fields["plan_code"], "text"), []
    return sql.SQL("NULL::text"), []


# ---------------------------------------------------------------------------------------------------
# checks and repairs on the staged rows (set-based)

CHECK_GEOMETRY = """
INSERT INTO lapis_stage_issues (src, row_no, kind, reason)
SELECT src, row_no, CASE WHEN reason LIKE 'invalid%%' AND NOT %(strict)s THEN 'invalid' ELSE 'rejected' END, reason
FROM (
    SELECT s.src, s.row_no, CASE
        WHEN s.geom IS NULL THEN 'null geometry'
        WHEN ST_IsEmpty(s.geom) THEN 'empty geometry'
        WHEN %(dimension)s::int IS NOT NULL AND ST_Dimension(s.geom) <> %(dimension)s::int
            AND NOT (GeometryType(s.geom) = 'GEOMETRYCOLLECTION')
            THEN 'geometry type ' || GeometryType(s.geom) || ' does not fit the layer (' || %(wanted)s || ')'
        WHEN %(validate)s AND NOT ST_IsValid(s.geom) THEN 'invalid geometry: ' || ST_IsValidReason(s.geom)
    END AS reason
    FROM lapis_stage s
) checked
WHERE reason IS NOT NULL
"""

# the layer's own CHECK (ST_IsValid(geom)), which lets a load skip its validity pass when every row is valid
VALIDITY_CONSTRAINT = """
SELECT EXISTS (SELECT 1 FROM pg_constraint
               WHERE conrelid = %s::regclass AND conname = %s AND contype = 'c' AND convalidated
                 AND pg_get_constraintdef(oid) = 'CHECK (st_isvalid(geom))')
"""

REPAIR_GEOMETRY = """
UPDATE lapis_stage s SET geom = CASE WHEN %(extract)s::int IS NULL THEN ST_MakeValid(s.geom)
                                      ELSE ST_CollectionExtract(ST_MakeValid(s.geom), %(extract)s::int) END
FROM lapis_stage_issues i
WHERE i.kind = 'invalid' AND i.src = s.src AND i.row_no = s.row_no
"""

MARK_REPAIRED = """
UPDATE lapis_stage_issues i
SET kind = CASE WHEN s.geom IS NULL OR ST_IsEmpty(s.geom) OR NOT ST_IsValid(s.geom) THEN 'rejected' ELSE 'repaired' END,
    reason = CASE WHEN s.geom IS NULL OR ST_IsEmpty(s.geom) OR NOT ST_IsValid(s.geom)
                  THEN i.reason || '; ST_MakeValid left nothing of the layer''s geometry type'
                  ELSE i.reason END
FROM lapis_stage s
WHERE i.kind = 'invalid' AND i.src = s.src AND i.row_no = s.row_no
"""

OUTSIDE_EXTENT = """
SELECT s.src, s.row_no FROM lapis_stage s
WHERE s.geom IS NOT NULL AND NOT (s.geom && ST_MakeEnvelope(%s, %s, %s, %s))
ORDER BY s.src, s.row_no
"""

DELETE_REJECTED = """
DELETE FROM lapis_stage s USING lapis_stage_issues i
WHERE i.kind = 'rejected' AND i.src = s.src AND i.row_no = s.row_no
"""

ISSUE_COUNTS = "SELECT kind, count(*) FROM lapis_stage_issues GROUP BY kind"


def check_stage(conn: psycopg.Connection, layer: Layer, mapping: Mapping, *, strict: bool,
                plausible: tuple[float, float, float, float] | None, validate: bool = True) -> CheckResult:
    """Validate staged rows: reject null/empty/wrong-type geometries and duplicate or empty codes, repair
    invalid ones with ST_MakeValid (or reject them when strict), and find rows outside the plausible extent.

    `validate=False` leaves out the validity test (ST_IsValid) and the repairs: only for a caller that
    lets the layer's own CHECK constraint find invalid rows (see `check_and_apply`)."""
    result = CheckResult()
    code, code_params = code_expression(mapping)
    if layer.has_geometry:
        wanted = layer.geometry_type or "Geometry"
        dimension = _TYPE_DIMENSION.get(wanted)
        conn.execute(CHECK_GEOMETRY, {"strict": strict, "dimension": dimension, "wanted": wanted,
                                      "validate": validate})
        if validate and not strict:
            conn.execute(REPAIR_GEOMETRY, {"extract": None if dimension is None else dimension + 1})
            conn.execute(MARK_REPAIRED)
    # empty and duplicate codes (the layer's UNIQUE, NOT NULL code): later duplicates are rejected
    conn.execute(sql.SQL("""
        INSERT INTO lapis_stage_issues (src, row_no, kind, reason)
        SELECT src, row_no, 'rejected', 'no code (empty code field)' FROM (SELECT s.src, s.row_no, {code} AS code
            FROM lapis_stage s) c WHERE code IS NULL
    """).format(code=code), code_params)
    if not mapping.generated_code:
        duplicates = conn.execute(sql.SQL(
            "SELECT {code} FROM lapis_stage s GROUP BY 1 HAVING count(*) > 1 LIMIT 1").format(code=code),
            code_params).fetchone()
        if duplicates:
            conn.execute(sql.SQL("""
                INSERT INTO lapis_stage_issues (src, row_no, kind, reason)
                SELECT src, row_no, 'rejected', 'duplicate code ' || quote_literal(code) || ' (first at row '
                       || first_row || ')'
                FROM (SELECT s.src, s.row_no, {code} AS code,
                             row_number() OVER w AS n, first_value(s.row_no) OVER w AS first_row
                      FROM lapis_stage s WINDOW w AS (PARTITION BY {code} ORDER BY s.src, s.row_no)) d
                WHERE n > 1 AND code IS NOT NULL
            """).format(code=code), code_params + code_params)
    counts = dict(conn.execute(ISSUE_COUNTS).fetchall())
    result.repaired = counts.get("repaired", 0)
    result.rejected = counts.get("rejected", 0)
    if result.rejected:
        result.rejects = [tuple(r) for r in conn.execute(sql.SQL("""
            SELECT i.src, i.row_no, {code}, i.reason FROM lapis_stage_issues i
            JOIN lapis_stage s ON s.src = i.src AND s.row_no = i.row_no
            WHERE i.kind = 'rejected' ORDER BY i.src, i.row_no LIMIT {limit}
        """).format(code=code, limit=sql.Literal(REJECT_LIST_LIMIT)), code_params).fetchall()]
        conn.execute(DELETE_REJECTED)
    if layer.has_geometry and plausible is not None:
        rows = conn.execute(OUTSIDE_EXTENT, plausible).fetchall()
        result.outside = len(rows)
        result.outside_rows = [tuple(r) for r in rows[:REJECT_LIST_LIMIT]]
    if layer.has_geometry:
        extent = conn.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                              "FROM (SELECT ST_Extent(geom) e FROM lapis_stage) x").fetchone()
        result.extent = None if extent[0] is None else tuple(extent)
    return result


# ---------------------------------------------------------------------------------------------------
# apply

SECONDARY_INDEXES = """
SELECT i.indexname, i.indexdef FROM pg_indexes i
WHERE i.schemaname = current_schema() AND i.tablename = %s
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
ORDER BY i.indexname
"""

# primary key and unique constraints of a table no foreign key points at, and the table's own foreign keys:
# dropped and added back around a bulk load — one sorted index build per key and one set-based check per
# foreign key, instead of growing btrees row by row and firing an RI trigger per row (even for NULLs). Dropping
# and adding a foreign key locks `plans` against writes (not reads) until commit, so two bulk loads into
# different layers run one after the other; they never deadlock (both take the layer first, then `plans`)
KEY_CONSTRAINTS = """
SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
WHERE c.conrelid = %s::regclass AND (c.contype = 'f' OR c.contype IN ('p', 'u') AND NOT EXISTS (
        SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.confrelid = c.conrelid))
ORDER BY c.contype = 'f', c.conname
"""


def _select(layer: Layer, mapping: Mapping) -> tuple[list[str], sql.Composable, list[Any]]:
    names, values, params = [], [], []
    for column in layer.all_columns:
        expression, p = column_expression(layer, column.name, mapping)
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
        params_join = p
    else:
        params_join = []
    select = sql.SQL("SELECT {} FROM {} s {}").format(
        sql.SQL(", ").join(values), sql.Identifier(STAGE_TABLE), join)
    return names, select, params + params_join


def _geometry_expression(layer: Layer) -> sql.Composable:
    base = sql.SQL("ST_SetSRID(ST_Force2D(s.geom), 4326)")
    if layer.geometry_type in ("MultiPolygon", "MultiLineString", "MultiPoint"):
        return sql.SQL("ST_Multi({})").format(base)
    return base


def apply_stage(conn: psycopg.Connection, layer: Layer, mapping: Mapping, mode: Mode = "upsert",
                key: str = "code", *, bulk_threshold: int = 50_000, staged: int | None = None) -> ApplyResult:
    """Move the staged rows into the layer table: one INSERT (plus a DELETE for replace).

    A big load into an empty or replaced table drops the secondary indexes and builds them again after
    the INSERT (inside the same transaction, so a failure restores them): much faster than maintaining
    GiST and trigram indexes row by row.
    """
    result = ApplyResult(layer.id, mode)
    table = sql.Identifier(layer.id)
    if layer.column(key) is None:
        raise ValueError(f"--key {key!r} is not a column of {layer.id}")
    count = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(STAGE_TABLE))
    # `staged`: the caller's count of the stage's rows (COPY's row count minus rejections) saves a scan
    result.staged = conn.execute(count).fetchone()[0] if staged is None else staged
    restore: list[sql.Composable] = []
    empty = sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {})").format(table)
    bulk = result.staged >= bulk_threshold and mode != "upsert" and (
        mode == "replace" or conn.execute(empty).fetchone()[0])
    if mode == "replace":
        result.deleted = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(table)).fetchone()[0]
        # bulk: TRUNCATE (transactional; the table is locked anyway while its indexes are rebuilt) leaves
        # no dead rows for the index builds to scan; otherwise DELETE keeps readers unblocked
        conn.execute(sql.SQL("TRUNCATE {}" if bulk else "DELETE FROM {}").format(table))
    if bulk:
        # the stage checks made codes unique and present and plan codes are looked up in `plans`, so adding
        # the constraints back cannot fail on the loaded rows
        restore = drop_for_bulk(conn, layer)
    names, select, params = _select(layer, mapping)
    columns = sql.SQL(", ").join(map(sql.Identifier, names))
    if mode == "upsert" and key != "code":
        # no unique index on an arbitrary key: update matches, then insert the rest
        updatable = [n for n in names if n not in (key, "code")]
        update = sql.SQL("""
            WITH incoming AS ({select})
            UPDATE {table} AS t SET {sets} FROM incoming i
            WHERE t.{key} = i.{key} AND ({old}) IS DISTINCT FROM ({new})
        """).format(select=select, table=table, key=sql.Identifier(key),
                    sets=sql.SQL(", ").join(sql.SQL("{} = i.{}").format(sql.Identifier(n), sql.Identifier(n))
                                            for n in updatable),
                    old=sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(n)) for n in updatable),
                    new=sql.SQL(", ").join(sql.SQL("i.{}").format(sql.Identifier(n)) for n in updatable))
        result.updated = conn.execute(update, params).rowcount
        insert = sql.SQL("""
            WITH incoming AS ({select})
            INSERT INTO {table} ({columns}) SELECT i.* FROM incoming i
            WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.{key} = i.{key})
        """).format(select=select, table=table, columns=columns, key=sql.Identifier(key))
        result.inserted = conn.execute(insert, params).rowcount
        result.unchanged = result.staged - result.updated - result.inserted
        return result
    insert = sql.SQL("INSERT INTO {} AS t ({}) {}").format(table, columns, select)
    if mode == "upsert":
        updatable = [sql.Identifier(n) for n in names if n != key]
        insert = sql.SQL("{} ON CONFLICT ({}) DO UPDATE SET {} WHERE ({}) IS DISTINCT FROM ({}) "
                         "RETURNING (xmax = 0) AS inserted").format(
            insert, sql.Identifier(key),
            sql.SQL(", ").join(sql.SQL("{} = EXCLUDED.{}").format(c, c) for c in updatable),
            sql.SQL(", ").join(sql.SQL("t.{}").format(c) for c in updatable),
            sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(c) for c in updatable),
        )
        rows = conn.execute(insert, params).fetchall()
        result.inserted = sum(1 for (inserted,) in rows if inserted)
        result.updated = len(rows) - result.inserted
        result.unchanged = result.staged - len(rows)
    else:
        result.inserted = conn.execute(insert, params).rowcount
    for statement in restore:
        conn.execute(statement)
    result.indexes_rebuilt = len(restore)
    return result


def drop_for_bulk(conn: psycopg.Connection, layer: Layer) -> list[sql.Composable]:
    """Drop the layer's secondary indexes and its key constraints ahead of a bulk insert (in the caller's
    transaction); returns the statements that put them back, in order — the catalog's own definitions, so the
    schema comes back exactly as it was."""
    table = sql.Identifier(layer.id)
    restore: list[sql.Composable] = []
    keys = conn.execute(KEY_CONSTRAINTS, (layer.id,)).fetchall()
    indexes = conn.execute(SECONDARY_INDEXES, (layer.id,)).fetchall()
    for name, definition in keys:
        conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(table, sql.Identifier(name)))
        restore.append(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
            table, sql.Identifier(name), sql.SQL(definition)))
    for name, definition in indexes:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        restore.append(sql.SQL(definition))
    return restore


def validity_constraint(layer: Layer) -> str:
    return f"{layer.id}_geom_valid"


def check_and_apply(conn: psycopg.Connection, layer: Layer, mapping: Mapping, mode: Mode, key: str, *,
                    strict: bool, plausible: tuple[float, float, float, float] | None, bulk_threshold: int,
                    inspect: Callable[[CheckResult], None] | None = None,
                    copied: int | None = None) -> tuple[CheckResult, ApplyResult]:
    """`check_stage` then `apply_stage`, with the validity test done once instead of twice when possible.

    The layer's CHECK (ST_IsValid(geom)) tests every row the apply writes anyway, so the loader first tries
    the load without its own validity pass, inside a savepoint: when every geometry is valid (the usual case)
    that is the whole load, validated once. If the constraint rejects a row, the savepoint is rolled back
    (stage and layer exactly as after the COPY) and the load runs again with the full check — validity
    reasons, ST_MakeValid repairs or --strict rejections — so the report is the same either way.
    `inspect` sees the check result before the apply (the caller may refuse the load there); `copied` is the
    number of rows the COPY wrote, when the caller counted them.
    """
    optimistic = layer.has_geometry and conn.execute(
        VALIDITY_CONSTRAINT, (layer.id, validity_constraint(layer))).fetchone()[0]
    if optimistic:
        try:
            with conn.transaction():  # a savepoint
                checks = check_stage(conn, layer, mapping, strict=strict, plausible=plausible, validate=False)
                if inspect is not None:
                    inspect(checks)
                return checks, apply_stage(conn, layer, mapping, mode, key, bulk_threshold=bulk_threshold,
                                           staged=None if copied is None else copied - checks.rejected)
        except psycopg.errors.CheckViolation as exc:
            if exc.diag.constraint_name != validity_constraint(layer):
                raise
    checks = check_stage(conn, layer, mapping, strict=strict, plausible=plausible)
    if inspect is not None:
        inspect(checks)
    return checks, apply_stage(conn, layer, mapping, mode, key, bulk_threshold=bulk_threshold,
                               staged=None if copied is None else copied - checks.rejected)


# ---------------------------------------------------------------------------------------------------
# in-memory frames (analysts, benchmarks): the same path

def frame_batches(frame: pd.DataFrame, has_geometry: bool,
                  chunk: int = 65_536) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """A (Geo)DataFrame (EPSG:4326) as Arrow batches with a WKB `geometry` column."""
    attributes = pd.DataFrame(frame.drop(columns=[frame.geometry.name])) \
        if isinstance(frame, gpd.GeoDataFrame) else pd.DataFrame(frame)
    table = pa.Table.from_pandas(attributes, preserve_index=False)
    if has_geometry and isinstance(frame, gpd.GeoDataFrame):
        wkb = shapely.to_wkb(np.asarray(frame.geometry.values), output_dimension=2)
        table = table.append_column("geometry", pa.array(wkb, pa.binary()))
    return table.schema, iter(table.to_batches(max_chunksize=chunk))


def apply_frame(conn: psycopg.Connection, layer: Layer, frame: pd.DataFrame, mode: Mode = "upsert",
                key: str = "code") -> ApplyResult:
    """Stage a (Geo)DataFrame in EPSG:4326 and apply it to `layer` in the caller's transaction, through the
    same mapping, checks and apply as `lapis load` (rejected rows are left out)."""
    from spatial.io.loader import LoadOptions, apply_batches

    schema, batches = frame_batches(frame, layer.has_geometry)
    return apply_batches(conn, layer, schema, batches, LoadOptions(layer=layer.id, mode=mode, key=key))
