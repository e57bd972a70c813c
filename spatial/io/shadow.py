"""Big loads built aside: a replace of many rows (or an append into an empty layer) fills a shadow table made
from the layer's own definition, builds its keys and indexes there, analyzes it, and only then switches it in
— so the layer's readers keep reading the old rows, never waiting for the load, until it commits.

Locks: the layer is locked EXCLUSIVE from the start of the apply (other writers wait, readers do not). The
switch takes ACCESS EXCLUSIVE for a few milliseconds — on the layer, and on the tables its foreign keys refer to
(`plans`), whose RI triggers go with the old table — asked for with a short `lock_timeout` and retried after a
pause: a long-running reader delays the switch, instead of making every reader that comes after it queue
behind the loader's lock request.

Everything runs in the caller's transaction: a failure or a kill rolls the shadow table back with the rest
(PostgreSQL's DDL is transactional), so no shadow outlives its load; a table left under the shadow's name by
anything else is dropped by the next load.

After the switch the layer has exactly the names and definitions it had: columns, defaults, generated columns,
identity (its sequence goes on, so ids are never reused), CHECKs, primary, unique and foreign keys, indexes,
triggers, owner, grants, storage options and comment — all read from the catalog, none spelled here. A layer
this cannot rebuild faithfully (other tables refer to it, views use it, …: `ineligible`) is loaded in place.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from spatial.io.errors import LoadError
from spatial.io.phases import INDEX, SWITCH, OnPhase

SHADOW_PREFIX = "lapis_shadow_"
NAME_BYTES = 63  # PostgreSQL's identifier length (NAMEDATALEN - 1)
SWITCH_LOCK_TIMEOUT_MS = 50  # the longest a reader queues behind the switch's lock request
SWITCH_GIVE_UP_S = 300.0  # readers that hold the layer longer than this make the load fail (nothing changes)
# parallel workers for each index build (PostgreSQL 15 parallelises btree builds; the leader takes part too)
INDEX_WORKERS = max(1, (os.cpu_count() or 2) - 1)

INELIGIBLE = """
SELECT array_remove(ARRAY[
    CASE WHEN c.relkind <> 'r' OR c.relispartition
              OR EXISTS (SELECT 1 FROM pg_inherits i WHERE c.oid IN (i.inhrelid, i.inhparent))
         THEN 'it is not a plain table' END,
    CASE WHEN EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.confrelid = c.oid)
         THEN 'other tables refer to it' END,
    CASE WHEN EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = c.oid)
              OR EXISTS (SELECT 1 FROM pg_depend d WHERE d.refobjid = c.reltype AND d.deptype = 'n')
         THEN 'views, rules or functions use it' END,
    CASE WHEN c.relrowsecurity OR EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)
         THEN 'it has row security' END,
    CASE WHEN EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attacl IS NOT NULL)
         THEN 'it has column privileges' END,
    CASE WHEN EXISTS (SELECT 1 FROM pg_statistic_ext s WHERE s.stxrelid = c.oid)
         THEN 'it has extended statistics' END,
    CASE WHEN EXISTS (SELECT 1 FROM pg_publication_rel r WHERE r.prrelid = c.oid)
         THEN 'it is published' END,
    CASE WHEN EXISTS (SELECT 1 FROM pg_attrdef d WHERE d.adrelid = c.oid
                      AND pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%%')
         THEN 'it has serial columns' END,
    CASE WHEN NOT pg_has_role(c.relowner, 'MEMBER') THEN 'this role does not own it' END
], NULL) FROM pg_class c WHERE c.oid = %(layer)s::regclass
"""

# index-backed constraints (primary key, unique, exclusion): built on the shadow under a temporary name
KEYS = """
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid = %(layer)s::regclass AND contype IN ('p', 'u', 'x') ORDER BY conname
"""
FOREIGN_KEYS = """
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid = %(layer)s::regclass AND contype = 'f' ORDER BY conname
"""
# the other indexes: the part of their definition after "USING " (the same on any table), or NULL when the
# definition does not start the way PostgreSQL writes it (then the layer is loaded in place)
INDEXES = """
SELECT ic.relname, CASE WHEN starts_with(d.def, d.head) THEN substr(d.def, length(d.head) + 1) END, i.indisunique
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL (SELECT pg_get_indexdef(i.indexrelid) AS def,
                           format('CREATE %%sINDEX %%I ON %%I.%%I USING ', CASE WHEN i.indisunique THEN 'UNIQUE ' END,
                                  ic.relname, n.nspname, c.relname) AS head) d
WHERE i.indrelid = %(layer)s::regclass
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = i.indrelid AND k.conindid = i.indexrelid)
ORDER BY ic.relname
"""
TRIGGERS = """
SELECT tgname, pg_get_triggerdef(oid), tgenabled FROM pg_trigger
WHERE tgrelid = %(layer)s::regclass AND NOT tgisinternal ORDER BY tgname
"""
# each identity column's sequence on the layer (its name alone, and qualified) and on the shadow (qualified)
IDENTITY_SEQUENCES = """
SELECT quote_ident(s.relname), q.old, q.new
FROM pg_attribute a
CROSS JOIN LATERAL (SELECT pg_get_serial_sequence(%(layer)s, a.attname) AS old,
                           pg_get_serial_sequence(%(shadow)s, a.attname) AS new) q
JOIN pg_class s ON s.oid = q.old::regclass
WHERE a.attrelid = %(layer)s::regclass AND a.attidentity <> '' AND NOT a.attisdropped ORDER BY a.attnum
"""
TABLE = """
SELECT n.nspname, c.relowner::regrole::text, c.reloptions, obj_description(c.oid, 'pg_class')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = %(layer)s::regclass
"""
# GRANT statements giving `target` the privileges `source` has (NULL: the default privileges, nothing to do)
GRANTS = """
SELECT format('GRANT %%s ON %%s TO %%s%%s', a.privilege_type, %(target)s::text,
              CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END,
              CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
WHERE c.oid = %(source)s::regclass
"""
HAS_ACL = "SELECT relacl IS NOT NULL FROM pg_class WHERE oid = %s::regclass"
RECORDS_TILE_CHANGES = "lapis_record_tile_changes()"  # the trigger function of migration 0016
ENABLE = {"D": "DISABLE TRIGGER", "R": "ENABLE REPLICA TRIGGER", "A": "ENABLE ALWAYS TRIGGER"}


@dataclass
class Shadow:
    """A layer's shadow table, and what the switch must do to make it the layer."""

    layer: str
    schema: str
    name: str
    keys: list[tuple[str, str, str]] = field(default_factory=list)  # final name, temporary name, definition
    indexes: list[tuple[str, str, str]] = field(default_factory=list)  # final name, temporary name, USING …
    unique_indexes: set[str] = field(default_factory=set)  # final names
    foreign_keys: list[tuple[str, str]] = field(default_factory=list)  # name, definition
    triggers: list[tuple[str, str, str]] = field(default_factory=list)  # name, CREATE TRIGGER, tgenabled
    sequences: list[tuple[str, str]] = field(default_factory=list)  # the layer's name, the shadow's (qualified)

    @property
    def table(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)


def shadow_name(layer: str) -> str:
    return SHADOW_PREFIX + layer


def ineligible(conn: psycopg.Connection, layer: str) -> str | None:
    """Why `layer` cannot be rebuilt aside (None: it can)."""
    reasons = conn.execute(INELIGIBLE, {"layer": layer}).fetchone()[0]
    if len(shadow_name(layer).encode()) + len("_k100") > NAME_BYTES:  # the shadow's objects need whole names
        reasons.append("its name is too long for a shadow table's")
    if not reasons and any(tail is None for _, tail, _ in conn.execute(INDEXES, {"layer": layer}).fetchall()):
        reasons = ["an index definition is not in the form PostgreSQL writes"]
    return "; ".join(reasons) if reasons else None


def lock_writers(conn: psycopg.Connection, layer: str) -> None:
    """EXCLUSIVE until commit: other writers wait (their rows would be lost with the old table), readers do not."""
    conn.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(sql.Identifier(layer)))


def create(conn: psycopg.Connection, layer: str) -> Shadow:
    """Create the (empty, index-free) shadow of `layer` with the layer's columns, defaults, generated columns,
    identity, CHECKs, storage, owner, grants and comment; the identity sequences continue the layer's."""
    schema, owner, reloptions, comment = conn.execute(TABLE, {"layer": layer}).fetchone()
    shadow = Shadow(layer, schema, shadow_name(layer))
    target = shadow.table
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(target))  # a leftover made outside a load
    options = sql.SQL(" WITH ({})").format(sql.SQL(", ").join(map(sql.SQL, reloptions))) if reloptions else sql.SQL("")
    conn.execute(sql.SQL(
        "CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING IDENTITY INCLUDING CONSTRAINTS "
        "INCLUDING STORAGE INCLUDING COMPRESSION INCLUDING COMMENTS){}").format(
        target, sql.Identifier(schema, layer), options))
    if owner != conn.execute("SELECT quote_ident(current_user)").fetchone()[0]:
        conn.execute(sql.SQL("ALTER TABLE {} OWNER TO {}").format(target, sql.SQL(owner)))
    if comment is not None:
        conn.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(target, sql.Literal(comment)))
    _copy_grants(conn, sql.Identifier(schema, layer), target, "TABLE")
    qualified = target.as_string(conn)
    for bare, old, new in conn.execute(IDENTITY_SEQUENCES, {"layer": layer, "shadow": qualified}).fetchall():
        shadow.sequences.append((bare, new))
        conn.execute(sql.SQL("SELECT setval({}, s.last_value, s.is_called) FROM {} s").format(
            sql.Literal(new), sql.SQL(old)))
        _copy_grants(conn, sql.SQL(old), sql.SQL(new), "SEQUENCE")
    shadow.keys = [(name, f"{shadow.name}_k{i}", definition)
                   for i, (name, definition) in enumerate(conn.execute(KEYS, {"layer": layer}).fetchall())]
    for i, (name, tail, unique) in enumerate(conn.execute(INDEXES, {"layer": layer}).fetchall()):
        shadow.indexes.append((name, f"{shadow.name}_i{i}", tail))
        if unique:
            shadow.unique_indexes.add(name)
    shadow.foreign_keys = [tuple(r) for r in conn.execute(FOREIGN_KEYS, {"layer": layer}).fetchall()]
    shadow.triggers = [tuple(r) for r in conn.execute(TRIGGERS, {"layer": layer}).fetchall()]
    return shadow


def _copy_grants(conn: psycopg.Connection, source: sql.Composable, target: sql.Composable, kind: str) -> None:
    """Give `target` exactly `source`'s privileges (the owner's own included: a REVOKE first, then the GRANTs)."""
    source_text = source.as_string(conn)
    if not conn.execute(HAS_ACL, (source_text,)).fetchone()[0]:
        return
    owner = conn.execute("SELECT relowner::regrole::text FROM pg_class WHERE oid = %s::regclass",
                         (target.as_string(conn),)).fetchone()[0]
    conn.execute(sql.SQL("REVOKE ALL ON {} {} FROM {}").format(sql.SQL(kind), target, sql.SQL(owner)))
    grants = conn.execute(GRANTS, {"source": source_text, "target": f"{kind} {target.as_string(conn)}"}).fetchall()
    for (statement,) in grants:
        conn.execute(statement)


def build_indexes(conn: psycopg.Connection, shadow: Shadow, on_phase: OnPhase) -> int:
    """Build the shadow's keys and indexes, each in one sorted pass (btree builds in parallel), then add its
    foreign keys (one set-based check each); the number built."""
    conn.execute("SELECT set_config('max_parallel_maintenance_workers', %s, true)", (str(INDEX_WORKERS),))
    total = len(shadow.keys) + len(shadow.indexes) + len(shadow.foreign_keys)
    on_phase(INDEX, f"{total} keys and indexes of the new copy of {shadow.layer}")
    done = 0
    for name, temporary, definition in shadow.keys:
        done += 1
        on_phase(INDEX, f"{done}/{total} {name}")
        conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
            shadow.table, sql.Identifier(temporary), sql.SQL(definition)))
    for name, temporary, tail in shadow.indexes:
        done += 1
        on_phase(INDEX, f"{done}/{total} {name}")
        unique = sql.SQL("UNIQUE ") if name in shadow.unique_indexes else sql.SQL("")
        conn.execute(sql.SQL("CREATE {}INDEX {} ON {} USING {}").format(
            unique, sql.Identifier(temporary), shadow.table, sql.SQL(tail)))
    for name, definition in shadow.foreign_keys:
        done += 1
        on_phase(INDEX, f"{done}/{total} {name}")
        conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
            shadow.table, sql.Identifier(name), sql.SQL(definition)))
    return total


def _switch_statements(shadow: Shadow) -> sql.Composed:
    """One round trip: drop the old layer, give the shadow its name and every name the layer's objects had,
    recreate the triggers as they were, and fire the statement trigger that stamps the layer's new version."""
    layer = sql.Identifier(shadow.schema, shadow.layer)
    statements: list[sql.Composable] = [
        sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(layer),
        sql.SQL("DROP TABLE {}").format(layer),
        sql.SQL("ALTER TABLE {} RENAME TO {}").format(shadow.table, sql.Identifier(shadow.layer)),
    ]
    for bare, new in shadow.sequences:
        statements.append(sql.SQL("ALTER SEQUENCE {} RENAME TO {}").format(sql.SQL(new), sql.SQL(bare)))
    for name, temporary, _ in shadow.keys:
        statements.append(sql.SQL("ALTER TABLE {} RENAME CONSTRAINT {} TO {}").format(
            layer, sql.Identifier(temporary), sql.Identifier(name)))
    for name, temporary, _ in shadow.indexes:
        statements.append(sql.SQL("ALTER INDEX {} RENAME TO {}").format(
            sql.Identifier(shadow.schema, temporary), sql.Identifier(name)))
    for name, definition, enabled in shadow.triggers:
        statements.append(sql.SQL(definition))
        if enabled in ENABLE:
            statements.append(sql.SQL("ALTER TABLE {} {} {}").format(
                layer, sql.SQL(ENABLE[enabled]), sql.Identifier(name)))
    # statement triggers fire for no rows as well: the layer's version trigger stamps this transaction
    statements.append(sql.SQL("DELETE FROM {} WHERE false").format(layer))
    if any(RECORDS_TILE_CHANGES in definition for _, definition, _ in shadow.triggers):
        # every row is new: the tile caches' record of where the layer changed says "everywhere" (migration 0016)
        statements.append(sql.SQL("SELECT lapis_layer_rewritten({}::regclass)").format(
            sql.Literal(f"{shadow.schema}.{shadow.layer}")))
    return sql.SQL("; ").join(statements)


def switch(conn: psycopg.Connection, shadow: Shadow, on_phase: OnPhase, *,
           lock_timeout_ms: int = SWITCH_LOCK_TIMEOUT_MS, give_up_s: float = SWITCH_GIVE_UP_S) -> int:
    """Make the shadow the layer; the number of attempts it took. Each attempt waits at most `lock_timeout_ms`
    for the layer's readers (and gives up its place in the lock queue after that), then pauses a little."""
    statements = _switch_statements(shadow)
    previous = conn.execute("SELECT current_setting('lock_timeout')").fetchone()[0]
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            with conn.transaction():  # a savepoint: a timed-out attempt leaves nothing behind, not even its locks
                conn.execute("SELECT set_config('lock_timeout', %s, true)", (f"{lock_timeout_ms}ms",))
                conn.execute(statements)
            break
        except psycopg.errors.LockNotAvailable:
            waited = time.monotonic() - started
            if waited > give_up_s:
                raise LoadError(f"{shadow.layer} could not be switched to the new data: other sessions kept "
                                f"reading it for {waited:.0f} s (see pg_stat_activity)") from None
            if attempt == 1 or attempt % 20 == 0:
                on_phase(SWITCH, f"readers are using {shadow.layer}: waiting for a gap ({waited:.1f} s)")
            time.sleep(min(1.0, 0.02 * 2 ** min(attempt, 6)) * random.uniform(0.5, 1.0))  # noqa: S311
    conn.execute("SELECT set_config('lock_timeout', %s, true)", (previous,))
    return attempt
