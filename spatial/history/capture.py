"""What the database's history triggers cannot see by themselves.

A big load builds a new copy of the layer aside and switches it in (`spatial.io.shadow`): no row is deleted or
inserted in the layer table itself, so no trigger fires. Before the switch, the loader records it in one call —
every feature of the old table deleted, every feature of the new one inserted — in the load's own transaction
(`history.record_rebuild`, migration 0014). A layer whose history triggers are disabled records nothing, as a
write in place would not.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

RECORD_REBUILD = "SELECT history.record_rebuild({}::regclass, {}::regclass)"


def record_rebuild(conn: psycopg.Connection, layer: str, replacement: sql.Identifier) -> int:
    """Record that `replacement` (a table with the layer's columns) replaces every row of `layer`; the number of
    versions of new features written. Call it while the layer is locked against other writers, before the switch."""
    statement = sql.SQL(RECORD_REBUILD).format(sql.Literal(layer), sql.Literal(replacement.as_string(conn)))
    return int(conn.execute(statement).fetchone()[0])
