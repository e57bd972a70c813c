"""An upload's checked stage as a proposal: what the loader would have written into the layer becomes
`proposal_changes` of a new proposal of the uploader, and the layer itself is not touched.

The step replaces the loader's `check_and_apply` (same signature, `spatial.io.loader.ApplyStep`): the loader's
checks and repairs of the stage, then the loader's own rows (`spatial.io.columns.layer_rows`) written into a
temporary table shaped like the layer — with the layer's CHECK and NOT NULL rules, so a row the layer would refuse
is refused here, in the loader's words — and compared with the layer by `key`, set-based:

    create   a row whose key the layer lacks (every row, in append mode); its id is drawn from the layer's
             identity sequence as it is proposed
    replace  a row whose key the layer has, with other values or geometry (unchanged rows propose nothing);
             with a key other than `code` the feature keeps its code, as the loader's upsert does
    delete   (replace mode) a feature of the layer whose key the file lacks

Values are stored as edits store them (`spatial.edits.etag.values_sql`: the row as jsonb without its managed
columns), each replace and delete with the version it was made against (`base_etag`). A change the publish
would refuse anyway — a code the layer or another open proposal already holds, a feature another open proposal
changes — fails the job now, listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from spatial.edits.changes import new_feature_id_sql
from spatial.edits.etag import etag_sql, values_sql
from spatial.edits.proposals import open_proposal_sync
from spatial.errors import Conflict
from spatial.identity.model import Identity
from spatial.io.apply import ApplyResult, Mode
from spatial.io.checks import CheckResult, check_stage
from spatial.io.columns import Mapping, layer_rows
from spatial.io.errors import LoadError
from spatial.io.phases import CHECK, WRITE, OnPhase, silent
from spatial.layers import Layer

ROWS_TABLE = "lapis_import_rows"  # the rows the loader would write (the layer's shape and rules)
ROWS, CHANGES = sql.Identifier(ROWS_TABLE), sql.Identifier("lapis_import_changes")
ORD = "lapis_ord"  # the row's place in the file (its creates take their ids in that order)
LISTED = 10  # conflicts named in a message (all are counted)


@dataclass
class Proposed:
    """What the step proposes, and for whom."""

    title: str
    identity: Identity
    dry_run: bool
    proposal_id: int | None = None
    counts: dict[str, int] = field(default_factory=dict)  # create, replace, delete, unchanged

    @property
    def changes(self) -> int:
        return sum(self.counts.get(op, 0) for op in ("create", "replace", "delete"))


def propose_step(conn: psycopg.Connection, layer: Layer, mapping: Mapping, mode: Mode, key: str, *, strict: bool,
                 plausible: tuple[float, float, float, float] | None, bulk_threshold: int,
                 inspect: Any = None, copied: int | None = None, on_phase: OnPhase = silent, analyze: bool = True,
                 proposed: Proposed) -> tuple[CheckResult, ApplyResult]:
    """The loader's checks, then the stage compared with the layer into a new proposal (none for a dry run, or
    when nothing changes). `bulk_threshold` and `analyze` are the layer's business: nothing is written to it."""
    on_phase(CHECK, "codes and geometries (with the full validity check)")
    checks = check_stage(conn, layer, mapping, strict=strict, plausible=plausible, validate=True)
    if inspect is not None:
        inspect(checks)
    on_phase(WRITE, f"the features compared with {layer.id} ({mode} by {key})")
    rows = _fill_rows(conn, layer, mapping)
    if key != "code":
        _refuse_ambiguous_keys(conn, layer, key)
    _find_changes(conn, layer, mode, key)
    _refuse_conflicts(conn, layer)
    counts = dict(conn.execute(sql.SQL("SELECT op, count(*) FROM {} GROUP BY op").format(CHANGES)).fetchall())
    proposed.counts = {op: counts.get(op, 0) for op in ("create", "replace", "delete")}
    proposed.counts["unchanged"] = rows - proposed.counts["create"] - proposed.counts["replace"]
    if not proposed.dry_run and proposed.changes:
        proposed.proposal_id = _open_proposal(conn, proposed)
        on_phase(WRITE, f"{proposed.changes:,} changes into proposal {proposed.proposal_id}")
        _insert_changes(conn, layer, proposed.proposal_id)
    return checks, ApplyResult(layer.id, mode, staged=rows, inserted=proposed.counts["create"],
                               updated=proposed.counts["replace"], unchanged=proposed.counts["unchanged"],
                               deleted=proposed.counts["delete"])


def _fill_rows(conn: psycopg.Connection, layer: Layer, mapping: Mapping) -> int:
    """The rows the loader would write, in a temporary copy of the layer's shape and rules; their number."""
    table = sql.Identifier(layer.id)
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(ROWS))
    conn.execute(sql.SQL("CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) ON COMMIT DROP")
                 .format(ROWS, table))
    conn.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN id DROP NOT NULL, "
                         "ADD COLUMN {} bigint GENERATED ALWAYS AS IDENTITY").format(ROWS, sql.Identifier(ORD)))
    names, select, params = layer_rows(layer, mapping)
    insert = sql.SQL("INSERT INTO {} ({}) {}").format(ROWS, sql.SQL(", ").join(map(sql.Identifier, names)), select)
    return conn.execute(insert, params).rowcount


def _values(layer: Layer, alias: str) -> sql.Composable:
    return sql.SQL(f"({values_sql(layer, alias)} - '{ORD}')")


def _geom(layer: Layer, alias: str) -> sql.Composable:
    return sql.SQL(f"{alias}.geom" if layer.has_geometry else "NULL::geometry")


def _refuse_ambiguous_keys(conn: psycopg.Connection, layer: Layer, key: str) -> None:
    """A key other than `code` must tell features apart, in the file and in the layer (as far as the file's
    values go): else one row would change several features, or two rows one."""
    column = sql.Identifier(key)
    in_file = conn.execute(sql.SQL("SELECT {k}::text, count(*) FROM {rows} WHERE {k} IS NOT NULL GROUP BY 1 "
                                   "HAVING count(*) > 1 ORDER BY 1 LIMIT %s").format(k=column, rows=ROWS),
                           (LISTED,)).fetchall()
    if in_file:
        raise LoadError(f"key {key!r}: the file gives several features the same value ({_listed(in_file)}); "
                        "each feature needs a value of its own", parameter="key")
    in_layer = conn.execute(sql.SQL(
        "SELECT t.{k}::text, count(*) FROM {layer} t WHERE t.{k} IN (SELECT {k} FROM {rows}) GROUP BY 1 "
        "HAVING count(*) > 1 ORDER BY 1 LIMIT %s").format(k=column, layer=sql.Identifier(layer.id), rows=ROWS),
        (LISTED,)).fetchall()
    if in_layer:
        raise LoadError(f"key {key!r}: {layer.id} has several features with the same value ({_listed(in_layer)}); "
                        "match by a key that tells them apart (code)", parameter="key")


def _listed(rows: list[tuple[Any, ...]]) -> str:
    return ", ".join(f"{value!r} ×{count}" for value, count in rows)


def _find_changes(conn: psycopg.Connection, layer: Layer, mode: Mode, key: str) -> None:
    """The changes, in a temporary table: op, feature_id (NULL for a create), properties, geom, base_etag."""
    names = {"rows": ROWS, "changes": CHANGES, "layer": sql.Identifier(layer.id), "k": sql.Identifier(key),
             "ord": sql.Identifier(ORD), "r_values": _values(layer, "r"), "t_values": _values(layer, "t"),
             "r_geom": _geom(layer, "r"), "t_geom": _geom(layer, "t"), "t_etag": sql.SQL(etag_sql(layer, "t"))}
    # with a key other than code, a replaced feature keeps its code (the loader's upsert does not change it)
    names["new_values"] = names["r_values"] if key == "code" else \
        sql.SQL("({} || jsonb_build_object('code', t.code))").format(names["r_values"])
    creates = """
        SELECT r.{ord} AS ord, 'create'::text AS op, NULL::bigint AS feature_id, {r_values} AS properties,
               {r_geom}::geometry AS geom, NULL::text AS base_etag
        FROM {rows} r"""
    if mode != "append":
        creates += " WHERE NOT EXISTS (SELECT FROM {layer} t WHERE t.{k} = r.{k})"
    parts = [creates]
    if mode != "append":
        parts.append("""
        SELECT r.{ord}, 'replace', t.id, {new_values}, {r_geom}, {t_etag}
        FROM {rows} r JOIN {layer} t ON t.{k} = r.{k}
        WHERE ({new_values}, {r_geom}) IS DISTINCT FROM ({t_values}, {t_geom})""")
    if mode == "replace":
        parts.append("""
        SELECT NULL, 'delete', t.id, NULL, NULL, {t_etag}
        FROM {layer} t WHERE NOT EXISTS (SELECT FROM {rows} r WHERE r.{k} = t.{k})""")
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(CHANGES))
    query = "CREATE TEMP TABLE {changes} ON COMMIT DROP AS " + " UNION ALL ".join(parts)
    conn.execute(sql.SQL(query).format(**names))


def _refuse_conflicts(conn: psycopg.Connection, layer: Layer) -> None:
    """Changes the publish would refuse: a new feature with a code the layer holds, a code or a feature another
    open proposal holds (asked through migration 0012's functions: the caller cannot read others' proposals)."""
    taken = conn.execute(sql.SQL(
        "SELECT c.properties ->> 'code' FROM {changes} c JOIN {layer} t ON t.code = c.properties ->> 'code' "
        "WHERE c.op = 'create' ORDER BY c.ord LIMIT %s").format(changes=CHANGES, layer=sql.Identifier(layer.id)),
        (LISTED,)).fetchall()
    if taken:
        raise Conflict(f"{layer.id} already has features with the codes {_codes(taken)}: use mode upsert (or "
                       "replace) to change them, or give the new features other codes", parameter="mode")
    pending = conn.execute(sql.SQL("""
        SELECT coalesce(c.properties ->> 'code', '#' || c.feature_id), p FROM {changes} c,
            LATERAL (SELECT CASE WHEN c.op = 'create' THEN lapis_pending_code(%(layer)s, c.properties ->> 'code', 0)
                                 ELSE lapis_pending_proposal(%(layer)s, c.feature_id, NULL) END AS p) x
        WHERE p IS NOT NULL ORDER BY c.ord NULLS LAST, c.feature_id LIMIT %(listed)s""").format(changes=CHANGES),
        {"layer": layer.id, "listed": LISTED}).fetchall()
    if pending:
        held = ", ".join(f"{code} (proposal {proposal})" for code, proposal in pending)
        raise Conflict(f"features of this file are already changed by open proposals: {held}; they must be "
                       "published or rejected first", parameter="file")


def _codes(rows: list[tuple[Any, ...]]) -> str:
    return ", ".join(repr(r[0]) for r in rows) + (" …" if len(rows) == LISTED else "")


def _open_proposal(conn: psycopg.Connection, proposed: Proposed) -> int:
    """A new open proposal of the uploader's, named in this transaction's `lapis.proposal` (history)."""
    proposal_id = open_proposal_sync(conn, proposed.identity, proposed.title)
    conn.execute("SELECT set_config('lapis.proposal', %s, true)", (str(proposal_id),))
    return proposal_id


def _insert_changes(conn: psycopg.Connection, layer: Layer, proposal_id: int) -> None:
    """One INSERT … SELECT: new features take their ids from the layer's identity sequence, in the file's order."""
    conn.execute(sql.SQL("""
        INSERT INTO proposal_changes (proposal_id, layer, feature_id, op, properties, geom, base_etag)
        SELECT %s, %s, coalesce(c.feature_id, {new_id}), c.op, c.properties, c.geom, c.base_etag
        FROM {changes} c ORDER BY c.ord NULLS LAST, c.feature_id""").format(
        new_id=sql.SQL(new_feature_id_sql(layer)), changes=CHANGES), (proposal_id, layer.id))
