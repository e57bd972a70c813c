"""Bulk loads into an empty or replaced layer: drop the layer's secondary indexes and key constraints first
and build them again after the INSERT, in the caller's transaction (a failure restores them) — one sorted
build per index and one set-based check per foreign key, instead of growing GiST, trigram and btree indexes
row by row and firing an RI trigger per row (even for NULLs).
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from spatial.layers import Layer

SECONDARY_INDEXES = """
SELECT i.indexname, i.indexdef FROM pg_indexes i
WHERE i.schemaname = current_schema() AND i.tablename = %s
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
ORDER BY i.indexname
"""

# primary key and unique constraints of a table no foreign key points at, and the table's own foreign keys.
# Dropping and adding a foreign key locks `plans` against writes (not reads) until commit, so two bulk loads
# into different layers run one after the other; they never deadlock (both take the layer first, then `plans`)
KEY_CONSTRAINTS = """
SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
WHERE c.conrelid = %s::regclass AND (c.contype = 'f' OR c.contype IN ('p', 'u') AND NOT EXISTS (
        SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.confrelid = c.conrelid))
ORDER BY c.contype = 'f', c.conname
"""


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


def restore_after_bulk(conn: psycopg.Connection, restore: list[sql.Composable]) -> int:
    """Run the statements `drop_for_bulk` returned; the number of keys and indexes put back."""
    for statement in restore:
        conn.execute(statement)
    return len(restore)
