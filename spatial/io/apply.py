"""Moving the checked stage into the layer: one INSERT (append), DELETE + INSERT (replace) or an upsert — or,
for a big replace, a new copy of the table built aside and switched in (`spatial.io.shadow`) — all in the
caller's transaction, then ANALYZE. Layer statement triggers stamp `layer_versions` with the transaction id,
so a whole load gives the layer one new version.

`check_and_apply` is the one entry a load goes through: the checks of `spatial.io.checks`, then the apply,
with the geometry validity test done once instead of twice when the layer's own CHECK can do it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from psycopg import sql

from spatial.history.capture import record_rebuild
from spatial.io import shadow
from spatial.io.checks import CheckResult, check_stage
from spatial.io.columns import Mapping, layer_rows
from spatial.io.phases import ANALYZE, CHECK, SWITCH, WRITE, OnPhase, silent
from spatial.io.stage import STAGE
from spatial.layers import Layer

Mode = Literal["append", "replace", "upsert"]
ANALYZE_ALWAYS_ROWS = 100_000  # a layer smaller than this is analyzed after every load that changes it (< 0.3 s)
ANALYZE_SHARE = 0.1  # a bigger one once a load changes this share of its rows

# the layer's own CHECK (ST_IsValid(geom)), which lets a load skip its validity pass when every row is valid
VALIDITY_CONSTRAINT = """
SELECT EXISTS (SELECT 1 FROM pg_constraint
               WHERE conrelid = %s::regclass AND conname = %s AND contype = 'c' AND convalidated
                 AND pg_get_constraintdef(oid) = 'CHECK (st_isvalid(geom))')
"""


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
    built_aside: bool = False  # a new copy of the table was built and switched in
    switch_attempts: int = 0


def validity_constraint(layer: Layer) -> str:
    return f"{layer.id}_geom_valid"


def apply_stage(conn: psycopg.Connection, layer: Layer, mapping: Mapping, mode: Mode = "upsert",
                key: str = "code", *, bulk_threshold: int = 50_000, staged: int | None = None,
                on_phase: OnPhase = silent, analyze: bool = True) -> ApplyResult:
    """Move the staged rows into the layer table: one INSERT (plus a DELETE for replace), or an upsert. `key`
    must be a column of the layer (the loader checks `--key` before staging anything).

    A big replace, or a big append into an empty layer, is built aside (`spatial.io.shadow`): a new copy of
    the table is filled, indexed in sorted passes and analyzed while readers go on reading the old one, then
    switched in — much faster than growing GiST and trigram indexes row by row, and no reader waits for it.
    Otherwise the layer is written in place, which never blocks readers either. `analyze` (not for a dry run)
    refreshes the planner's statistics when the load changed enough of the layer (`_statistics_stale`): the row
    estimate behind `numberMatched` is right from the first request. `staged`: the caller's count of the
    stage's rows (COPY's row count minus rejections) saves a scan.
    """
    result = ApplyResult(layer.id, mode)
    table = sql.Identifier(layer.id)
    result.staged = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(STAGE)).fetchone()[0] \
        if staged is None else staged
    names, select, params = layer_rows(layer, mapping)
    if _builds_aside(conn, layer, mode, result.staged, bulk_threshold):
        _apply_aside(conn, layer, mode, names, select, params, result, on_phase, analyze)
        return result
    on_phase(WRITE, f"{result.staged:,} rows into {layer.id} ({mode})")
    if mode == "upsert" and key != "code":
        _upsert_by_key(conn, table, names, select, params, key, result)
    elif mode == "upsert":
        _upsert_on_conflict(conn, table, names, select, params, key, result)
    else:
        if mode == "replace":  # DELETE, not TRUNCATE: readers go on reading the old rows until commit
            result.deleted = conn.execute(sql.SQL("DELETE FROM {}").format(table)).rowcount
        insert = sql.SQL("INSERT INTO {} ({}) {}").format(table, sql.SQL(", ").join(map(sql.Identifier, names)),
                                                          select)
        result.inserted = conn.execute(insert, params).rowcount
    if analyze and _statistics_stale(conn, layer, result):
        on_phase(ANALYZE, layer.id)
        conn.execute(sql.SQL("ANALYZE {}").format(table))
    return result


def _statistics_stale(conn: psycopg.Connection, layer: Layer, result: ApplyResult) -> bool:
    """Whether the load changed enough of the layer for its statistics to be out of date: any change to a layer
    of fewer than `ANALYZE_ALWAYS_ROWS` rows (or never analyzed), a tenth of a bigger one (autovacuum's own
    rule) — not a 3-feature append to a million parcels, which would pay seconds of ANALYZE for nothing.
    Nothing inserted or updated: nothing to learn, and `load` rolls a load of nothing back (ANALYZE writes the
    row estimate in place: a rolled-back ANALYZE would leave it wrong)."""
    changed = result.inserted + result.updated
    if not changed:
        return False
    estimate = conn.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", (layer.id,)).fetchone()[0]
    return estimate < ANALYZE_ALWAYS_ROWS or changed + result.deleted >= ANALYZE_SHARE * estimate


def _builds_aside(conn: psycopg.Connection, layer: Layer, mode: Mode, staged: int, bulk_threshold: int) -> bool:
    """A big replace, or a big append into an empty layer, of a layer that can be rebuilt faithfully. The layer
    is then locked against other writers (EXCLUSIVE: readers go on), and stays so until commit."""
    if mode == "upsert" or staged < bulk_threshold:
        return False
    empty = sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(layer.id))
    if mode == "append" and not conn.execute(empty).fetchone()[0]:
        return False
    if shadow.ineligible(conn, layer.id) is not None:
        return False
    shadow.lock_writers(conn, layer.id)
    # an append that raced us into the layer before the lock makes this an ordinary append
    return mode == "replace" or conn.execute(empty).fetchone()[0]


def _apply_aside(conn: psycopg.Connection, layer: Layer, mode: Mode, names: list[str], select: sql.Composable,
                 params: list[Any], result: ApplyResult, on_phase: OnPhase, analyze: bool) -> None:
    on_phase(WRITE, f"{result.staged:,} rows into a new copy of {layer.id}")
    aside = shadow.create(conn, layer.id)
    if mode == "replace":
        result.deleted = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(layer.id))).fetchone()[0]
    insert = sql.SQL("INSERT INTO {} ({}) {}").format(aside.table, sql.SQL(", ").join(map(sql.Identifier, names)),
                                                      select)
    result.inserted = conn.execute(insert, params).rowcount
    on_phase(WRITE, f"the history of {layer.id}: {result.deleted:,} features replaced by {result.inserted:,}")
    record_rebuild(conn, layer.id, aside.table)  # no trigger sees a switch (spatial.history.capture)
    # the stage checks made codes unique and present and plan codes are looked up in `plans`, so the keys
    # cannot fail on the loaded rows
    result.indexes_rebuilt = shadow.build_indexes(conn, aside, on_phase)
    if analyze:
        on_phase(ANALYZE, f"the new copy of {layer.id}")
        conn.execute(sql.SQL("ANALYZE {}").format(aside.table))
    on_phase(SWITCH, f"the new copy becomes {layer.id}")
    result.switch_attempts = shadow.switch(conn, aside, on_phase)
    result.built_aside = True


def _upsert_on_conflict(conn: psycopg.Connection, table: sql.Identifier, names: list[str], select: sql.Composable,
                        params: list[Any], key: str, result: ApplyResult) -> None:
    """Upsert on the layer's unique `key`: rows that would not change are left alone (and counted unchanged)."""
    updatable = [sql.Identifier(n) for n in names if n != key]
    insert = sql.SQL("INSERT INTO {} AS t ({}) {} ON CONFLICT ({}) DO UPDATE SET {} WHERE ({}) IS DISTINCT FROM ({}) "
                     "RETURNING (xmax = 0) AS inserted").format(
        table, sql.SQL(", ").join(map(sql.Identifier, names)), select, sql.Identifier(key),
        sql.SQL(", ").join(sql.SQL("{} = EXCLUDED.{}").format(c, c) for c in updatable),
        sql.SQL(", ").join(sql.SQL("t.{}").format(c) for c in updatable),
        sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(c) for c in updatable),
    )
    rows = conn.execute(insert, params).fetchall()
    result.inserted = sum(1 for (inserted,) in rows if inserted)
    result.updated = len(rows) - result.inserted
    result.unchanged = result.staged - len(rows)


def _upsert_by_key(conn: psycopg.Connection, table: sql.Identifier, names: list[str], select: sql.Composable,
                   params: list[Any], key: str, result: ApplyResult) -> None:
    """Upsert on a column with no unique index: update the matches that change, then insert the rest."""
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
    """).format(select=select, table=table, columns=sql.SQL(", ").join(map(sql.Identifier, names)),
                key=sql.Identifier(key))
    result.inserted = conn.execute(insert, params).rowcount
    result.unchanged = result.staged - result.updated - result.inserted


def check_and_apply(conn: psycopg.Connection, layer: Layer, mapping: Mapping, mode: Mode, key: str, *,
                    strict: bool, plausible: tuple[float, float, float, float] | None, bulk_threshold: int,
                    inspect: Callable[[CheckResult], None] | None = None, copied: int | None = None,
                    on_phase: OnPhase = silent, analyze: bool = True) -> tuple[CheckResult, ApplyResult]:
    """`check_stage` then `apply_stage`, with the validity test done once instead of twice when possible.

    The layer's CHECK (ST_IsValid(geom)) tests every row the apply writes anyway, so the loader first tries
    the load without its own validity pass, inside a savepoint: when every geometry is valid (the usual case)
    that is the whole load, validated once. If the constraint rejects a row, the savepoint is rolled back
    (stage and layer exactly as after the COPY) and the load runs again with the full check — validity
    reasons, ST_MakeValid repairs or --strict rejections — so the report is the same either way.
    `inspect` sees the check result before the apply (the caller may refuse the load there); `copied` is the
    number of rows the COPY wrote, when the caller counted them. `on_phase` hears of each phase (see
    `spatial.io.phases`); `analyze`: refresh the layer's statistics (see `apply_stage`).
    """

    def run(validate: bool) -> tuple[CheckResult, ApplyResult]:
        on_phase(CHECK, "codes and geometries" + (" (with the full validity check)" if validate else ""))
        checks = check_stage(conn, layer, mapping, strict=strict, plausible=plausible, validate=validate)
        if inspect is not None:
            inspect(checks)
        return checks, apply_stage(conn, layer, mapping, mode, key, bulk_threshold=bulk_threshold,
                                   staged=None if copied is None else copied - checks.rejected,
                                   on_phase=on_phase, analyze=analyze)

    optimistic = layer.has_geometry and conn.execute(
        VALIDITY_CONSTRAINT, (layer.id, validity_constraint(layer))).fetchone()[0]
    if optimistic:
        try:
            with conn.transaction():  # a savepoint
                return run(validate=False)
        except psycopg.errors.CheckViolation as exc:
            if exc.diag.constraint_name != validity_constraint(layer):
                raise
    return run(validate=True)
