from __future__ import annotations

import psycopg


def snapshot(url: str, layer: str) -> tuple:
    """Everything a failed load must leave as it was: rows, their content and the layer's version."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            f"SELECT count(*), coalesce(sum(hashtext(code || name_vi || ST_AsText(geom) || props::text)), 0), "  # noqa: S608
            f"max(updated_at) FROM {layer}").fetchone()
        version = conn.execute("SELECT version FROM layer_versions WHERE layer = %s", (layer,)).fetchone()
        indexes = conn.execute("SELECT count(*) FROM pg_indexes WHERE tablename = %s", (layer,)).fetchone()
    return (*rows, version, indexes)
