"""The columns of the history tables, and SQL that compares two versions of a feature attribute by attribute.

A version's attributes are its layer's own columns — not the feature id, its geometry, its timestamps
(`created_at`, `updated_at`: moved by every write) or the version's bookkeeping (`version`, `valid_from`, …) — with
the extra attributes a loader keeps in `props` spread out as `props.<key>`. The columns are read from the catalog
(`history_columns`, one query), so a migration that adds a column to a plan table (and its history table) is
compared without a change here.
"""

from __future__ import annotations

import asyncpg

META = frozenset({"version", "valid_from", "operation", "txid", "who", "db_role", "proposal", "reason"})
NOT_ATTRIBUTES = META | {"id", "geom", "created_at", "updated_at", "props"}
PAIRS_PER_CALL = 40  # jsonb_build_object takes at most 100 arguments
COLUMNS_SQL = """
SELECT c.relname::text AS layer, array_agg(a.attname::text ORDER BY a.attnum) AS columns
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'history' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
GROUP BY c.relname
"""


async def history_columns(conn: asyncpg.Connection) -> dict[str, tuple[str, ...]]:
    """Each history table's columns, in order."""
    return {row["layer"]: tuple(row["columns"]) for row in await conn.fetch(COLUMNS_SQL)}


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def attributes_sql(alias: str, columns: tuple[str, ...]) -> str:
    """A jsonb object of the version `alias`'s attributes: {column: value, "props.<key>": value}."""
    names = [c for c in columns if c not in NOT_ATTRIBUTES]
    parts = [
        "jsonb_build_object(" + ", ".join(f"{_literal(n)}, {alias}.{_ident(n)}" for n in names[i:i + PAIRS_PER_CALL])
        + ")"
        for i in range(0, len(names), PAIRS_PER_CALL)
    ] or ["'{}'::jsonb"]
    if "props" in columns:
        parts.append(f"coalesce((SELECT jsonb_object_agg('props.' || e.key, e.value) "
                     f"FROM jsonb_each({alias}.props) e), '{{}}'::jsonb)")
    return "(" + " || ".join(parts) + ")"


def attribute_changes_sql(old: str, new: str, columns: tuple[str, ...]) -> str:
    """A jsonb object of the attributes that differ between versions `old` and `new`:
    {attribute: {"old": value, "new": value}} ({} when none does)."""
    return (f"(SELECT coalesce(jsonb_object_agg(coalesce(o.key, n.key), jsonb_build_object('old', o.value, "
            f"'new', n.value)), '{{}}'::jsonb) FROM jsonb_each({attributes_sql(old, columns)}) o "
            f"FULL JOIN jsonb_each({attributes_sql(new, columns)}) n ON n.key = o.key "
            f"WHERE o.value IS DISTINCT FROM n.value)")


def geometry_changed_sql(old: str, new: str, columns: tuple[str, ...]) -> str:
    """SQL boolean: the two versions' geometries differ (PostGIS `=`: the same points in the same order)."""
    return f"({old}.geom IS DISTINCT FROM {new}.geom)" if "geom" in columns else "false"
