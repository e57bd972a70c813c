"""Tile changes: where each write to a tiled layer happened, so a tile cache drops exactly the tiles it touched.

Until now a tile's cache key carried its layers' data versions (`layer_versions`, migration 0001): any write to a
layer re-keyed every tile of it. `tile_changes` records, for every statement that writes a tiled layer, the
EPSG:3857 boxes of the rows it changed, old and new (a moved feature: where it was and where it is now; an edited
attribute: where the feature is). A tile's content depends only on the features whose `geom_3857` meets its
buffered envelope, so a tile no recorded box meets is unchanged, and the tile cache (`spatial.tiles.changes`) keys
each tile on the latest change that meets it.

Bounded both ways:
* a statement changing more than `BOX_LIMIT` rows records one box, their extent (a bulk load: one row, whatever its
  size); a TRUNCATE, and a whole layer built aside and switched in (`lapis_layer_rewritten`, called by
  `spatial.io.shadow`), record the whole layer (no box), which makes every earlier row of the layer moot
  (`lapis_layer_rewritten` stamps the layer's data version too, so it may also be called on its own);
* once a layer's rows span more than `SPAN_LIMIT` ids, the next statement collapses them into one whole-layer row
  (every tile of that layer re-renders once; the list a server scans per tile stays short).

Order: the rows of one layer are numbered in commit order. The layer's version trigger (`{table}_version`) takes
the layer's `layer_versions` row lock, held to commit, before these triggers (`{table}_version_tiles_*`, later by
name) number their rows — so a server that has read a layer's rows up to id N never later finds an earlier one.
The functions run as the owner (SECURITY DEFINER): no group role writes `tile_changes` itself; readers read it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27
"""

from alembic import op
from sqlalchemy import text

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

BOX_LIMIT = 1000
SPAN_LIMIT = 5000
EVENTS = (  # trigger name suffix, timing and event, transition tables
    ("insert", "AFTER INSERT", "REFERENCING NEW TABLE AS new_rows"),
    ("update", "AFTER UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ("delete", "AFTER DELETE", "REFERENCING OLD TABLE AS old_rows"),
    ("truncate", "AFTER TRUNCATE", ""),
)

TABLE = """
CREATE TABLE tile_changes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    layer text NOT NULL,
    txid bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint,
    west float8, south float8, east float8, north float8,  -- EPSG:3857; all four NULL: the whole layer
    changed_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tile_changes_box_check CHECK (
        (west IS NULL AND south IS NULL AND east IS NULL AND north IS NULL)
        OR (west <= east AND south <= north))
);
CREATE INDEX tile_changes_layer_id_idx ON tile_changes (layer, id);
COMMENT ON TABLE tile_changes IS
    'Where each write to a tiled layer happened (EPSG:3857 boxes; no box: the whole layer): tile caches key on it';
REVOKE ALL ON tile_changes FROM PUBLIC;
GRANT SELECT ON tile_changes TO lapis_reader;
"""

FUNCTIONS = f"""
CREATE FUNCTION lapis_layer_rewritten(target regclass) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    name text := (SELECT c.relname FROM pg_class c WHERE c.oid = target);
    whole bigint;
BEGIN
    -- the layer's new data version first (as its version trigger stamps it): its row lock orders the layer's rows,
    -- and a server that sees the version move reads this change
    INSERT INTO layer_versions AS v (layer, version, changed_at)
    VALUES (name, pg_current_xact_id()::text::bigint, now())
    ON CONFLICT (layer) DO UPDATE SET version = EXCLUDED.version, changed_at = EXCLUDED.changed_at
    WHERE v.version <> EXCLUDED.version;
    PERFORM pg_notify('lapis_layer_version', name);
    INSERT INTO tile_changes (layer) VALUES (name) RETURNING id INTO whole;
    DELETE FROM tile_changes WHERE tile_changes.layer = name AND id < whole;
END $$;

CREATE FUNCTION lapis_record_tile_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
-- static SQL in each branch: PL/pgSQL compiles a trigger function per trigger and plans a statement when it first
-- runs, so the INSERT trigger never plans the branches reading old_rows, and every plan is kept for the session
DECLARE
    boxes box2d[];
    oldest bigint;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM lapis_layer_rewritten(TG_RELID);
        RETURN NULL;
    ELSIF TG_OP = 'INSERT' THEN
        SELECT array_agg(b) INTO boxes FROM (SELECT geom_3857::box2d AS b FROM new_rows
                                              WHERE geom_3857 IS NOT NULL LIMIT {BOX_LIMIT + 1}) s;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(b) INTO boxes FROM (SELECT geom_3857::box2d AS b FROM old_rows
                                              WHERE geom_3857 IS NOT NULL LIMIT {BOX_LIMIT + 1}) s;
    ELSE  -- an UPDATE: where each feature was, and where it is
        SELECT array_agg(b) INTO boxes FROM (
            SELECT geom_3857::box2d AS b FROM old_rows WHERE geom_3857 IS NOT NULL
            UNION ALL SELECT geom_3857::box2d FROM new_rows WHERE geom_3857 IS NOT NULL LIMIT {BOX_LIMIT + 1}) s;
    END IF;
    IF boxes IS NULL THEN
        RETURN NULL;  -- no row with a geometry changed
    END IF;
    SELECT min(id) INTO oldest FROM tile_changes WHERE layer = TG_TABLE_NAME;
    IF oldest IS NOT NULL AND (SELECT max(id) FROM tile_changes) - oldest >= {SPAN_LIMIT} THEN
        PERFORM lapis_layer_rewritten(TG_RELID);
        RETURN NULL;
    END IF;
    IF cardinality(boxes) > {BOX_LIMIT} THEN  -- a bulk statement: one box round all it changed
        IF TG_OP = 'INSERT' THEN
            boxes := ARRAY[(SELECT ST_Extent(geom_3857) FROM new_rows)];
        ELSIF TG_OP = 'DELETE' THEN
            boxes := ARRAY[(SELECT ST_Extent(geom_3857) FROM old_rows)];
        ELSE
            boxes := ARRAY[(SELECT ST_Extent(g) FROM (SELECT geom_3857 AS g FROM old_rows
                                                      UNION ALL SELECT geom_3857 FROM new_rows) s)];
        END IF;
    END IF;
    INSERT INTO tile_changes (layer, west, south, east, north)
    SELECT DISTINCT TG_TABLE_NAME, ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM unnest(boxes) AS b;
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION lapis_layer_rewritten(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION lapis_record_tile_changes() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lapis_layer_rewritten(regclass) TO lapis_editor;
"""

TILED_TABLES = """
SELECT c.relname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attname = 'geom_3857' AND NOT a.attisdropped ORDER BY 1
"""


def _tiled_tables() -> list[str]:
    return [row[0] for row in op.get_bind().execute(text(TILED_TABLES))]


def upgrade() -> None:
    op.execute(TABLE)
    op.execute(FUNCTIONS)
    for table in _tiled_tables():
        for event, timing, transitions in EVENTS:
            op.execute(f"CREATE TRIGGER {table}_version_tiles_{event} {timing} ON public.{table} {transitions} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION lapis_record_tile_changes()")
        # what every tile of the layer was keyed on before: nothing recorded yet, so the whole layer counts as changed
        op.execute(f"SELECT lapis_layer_rewritten('public.{table}'::regclass)")


def downgrade() -> None:
    for table in _tiled_tables():
        for event, _, _ in EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_version_tiles_{event} ON public.{table}")
    op.execute("DROP FUNCTION lapis_record_tile_changes()")
    op.execute("DROP FUNCTION lapis_layer_rewritten(regclass)")
    op.execute("DROP TABLE tile_changes")
