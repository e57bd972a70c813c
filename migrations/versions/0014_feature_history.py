"""Feature history: every version of every feature of every plan table, recorded by the database itself.

Schema `history` holds one table per plan table (`history.parcels` for `parcels`, …) with the plan table's own
columns (its generated ones left out) and, per row, one version of one feature:

    version     bigint, from one sequence for every layer: the order versions were written in
    valid_from  when the version began (the writing transaction's start: a transaction's versions share it)
    operation   insert | update | delete (a delete row holds only the feature id: the feature as it was is the
                version before)
    txid, who, db_role, proposal, reason
                the transaction; the LAPIS user (`lapis.user`) or else the database role (`SET ROLE`'s, else the
                session's); that role; `lapis.proposal` and `lapis.reason` as the caller set them (see
                `spatial.session.as_caller`)

A version ends where the next version of the same feature (by `version`) begins; the table is insert-only, so
the end is never written back: `spatial.history.asof` finds the version valid at an instant T as the latest
version with `valid_from <= T` (an index-only probe of `(id, version) INCLUDE (valid_from)`), and an SP-GiST index
on `geom` serves bbox and tile queries of the past.

Statement-level AFTER triggers with transition tables capture INSERT, UPDATE (rows that did not change are not
recorded) and DELETE in one set-based INSERT per statement; a BEFORE TRUNCATE trigger records every row as
deleted. Each plan table has its own trigger function, `history.capture_<table>()`, written by
`history.install(<table>)` with the table's columns spelled out: a migration that changes a plan table's columns
changes its history table alike and runs `history.install` again. A big load built aside (`spatial.io.shadow`)
records its switch with `history.record_rebuild`. Loads that stop capture (the history bench's "off" run) disable
the `*_history_*` triggers: `record_rebuild` follows them.

Append-only: no app or steward role is granted anything but SELECT (`lapis_reader` and up), and a statement
trigger refuses UPDATE, DELETE and TRUNCATE for everyone, the owner included. The trigger functions are
SECURITY DEFINER (they write where their callers may not) with a fixed search_path.

The rows already in the plan tables become their first versions (operation insert, valid from their
`updated_at`, reason "history begins").

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27
"""

from alembic import op
from sqlalchemy import text

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

PLAN_TABLES = ("plans", "admin_units", "zones", "corridors", "axes", "projects", "parcels", "use_rules")
META = "valid_from, operation, txid, who, db_role, proposal, reason"
EVENTS = (  # trigger name suffix, timing and event, transition tables
    ("insert", "AFTER INSERT", "REFERENCING NEW TABLE AS new_rows"),
    ("update", "AFTER UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ("delete", "AFTER DELETE", "REFERENCING OLD TABLE AS old_rows"),
    ("truncate", "BEFORE TRUNCATE", ""),
)

FUNCTIONS = r"""
-- who, in which transaction, for which proposal and why: once per captured statement
CREATE FUNCTION history.stamp(OUT txid bigint, OUT who text, OUT db_role text, OUT proposal bigint, OUT reason text)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    proposal_text text := nullif(current_setting('lapis.proposal', true), '');
BEGIN
    txid := pg_current_xact_id()::text::bigint;
    db_role := CASE WHEN current_setting('role') <> 'none' THEN current_setting('role') ELSE session_user END;
    who := coalesce(nullif(current_setting('lapis.user', true), ''), db_role);
    IF proposal_text !~ '^[0-9]{1,18}$' THEN
        RAISE EXCEPTION 'lapis.proposal must be a proposal id (digits), not %', quote_literal(proposal_text)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    proposal := proposal_text::bigint;
    reason := nullif(current_setting('lapis.reason', true), '');
END $$;

-- the columns a plan table and its history table share (the plan table's own, generated ones left out), quoted and
-- each prefixed with `prefix`; `leave_out` is left out
CREATE FUNCTION history.columns(layer regclass, prefix text DEFAULT '', leave_out name DEFAULT NULL) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT string_agg(prefix || quote_ident(a.attname), ', ' ORDER BY a.attnum)
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_attribute h ON h.attrelid = format('history.%I', c.relname)::regclass AND h.attname = a.attname
                       AND NOT h.attisdropped
    WHERE a.attrelid = layer AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
      AND a.attname IS DISTINCT FROM leave_out
$$;

-- whether a plan table's history triggers are on (the history bench turns them off for its "off" run)
CREATE FUNCTION history.capturing(layer regclass) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = layer AND tgname LIKE '%\_history\_insert'
                   AND tgenabled <> 'D')
$$;

-- (Re)write `history.capture_<layer>()`, the statement trigger function of a plan table: static SQL with the
-- layer's columns spelled out, so PostgreSQL plans each statement once per session (a dynamic EXECUTE would plan it
-- on every write: measured 2.5 against 0.5 ms an edit). A migration that changes a plan table's columns changes its
-- history table's the same way and runs this again. SECURITY DEFINER: it writes where its callers may not; public
-- on its path for PostGIS's `=`, which compares geometries.
CREATE FUNCTION history.install(layer regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $install$
DECLARE
    name text := (SELECT relname FROM pg_class WHERE oid = layer);
    target text := format('history.%I', name);
    meta text := 'valid_from, operation, txid, who, db_role, proposal, reason';
    stamp text := 's.txid, s.who, s.db_role, s.proposal, s.reason';
    -- a version never starts before the one it follows (a transaction that began earlier may write later)
    since text := format('greatest(now(), (SELECT max(p.valid_from) FROM %s p WHERE p.id = %%s))', target);
BEGIN
    EXECUTE format($function$
        CREATE OR REPLACE FUNCTION history.%1$I() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $capture$
        DECLARE
            s record;
        BEGIN
            SELECT * INTO s FROM history.stamp();
            IF TG_OP = 'INSERT' THEN
                INSERT INTO %2$s (%3$s, %4$s) SELECT now(), 'insert', %5$s, %4$s FROM new_rows;
            ELSIF TG_OP = 'UPDATE' THEN
                -- a row whose own columns did not change is no new version (`updated_at` aside:
                -- lapis_touch_updated_at moves it on every update)
                INSERT INTO %2$s (%3$s, %4$s)
                SELECT %6$s, CASE WHEN o.id IS NULL THEN 'insert' ELSE 'update' END, %5$s, %7$s
                FROM new_rows n LEFT JOIN old_rows o ON o.id = n.id
                WHERE o.id IS NULL OR (%8$s) IS DISTINCT FROM (%9$s);
                INSERT INTO %2$s (%3$s, id)
                SELECT %10$s, 'delete', %5$s, o.id FROM old_rows o
                WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id);
            ELSIF TG_OP = 'DELETE' THEN
                INSERT INTO %2$s (%3$s, id) SELECT %10$s, 'delete', %5$s, o.id FROM old_rows o;
            ELSE  -- TRUNCATE (before it): every row is deleted
                INSERT INTO %2$s (%3$s, id) SELECT %10$s, 'delete', %5$s, o.id FROM ONLY %11$s o;
            END IF;
            RETURN NULL;
        END $capture$
        $function$, 'capture_' || name, target, meta, history.columns(layer), stamp, format(since, 'n.id'),
        history.columns(layer, 'n.'), history.columns(layer, 'o.', 'updated_at'),
        history.columns(layer, 'n.', 'updated_at'), format(since, 'o.id'), layer);
    EXECUTE format('REVOKE ALL ON FUNCTION history.%I() FROM PUBLIC', 'capture_' || name);
END $install$;

-- A big load built aside (spatial.io.shadow): every row of the layer is deleted, every row of its replacement
-- inserted. Run by the loader (the layer's owner) before the switch, while the layer is locked against writers.
CREATE FUNCTION history.record_rebuild(layer regclass, replacement regclass) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    target text := format('history.%I', (SELECT relname FROM pg_class WHERE oid = layer));
    meta text := 'valid_from, operation, txid, who, db_role, proposal, reason';
    written bigint;
BEGIN
    IF NOT history.capturing(layer) THEN
        RETURN 0;
    END IF;
    SELECT * INTO s FROM history.stamp();
    EXECUTE format('INSERT INTO %s (%s, id) SELECT $1, ''delete'', $2, $3, $4, $5, $6, o.id FROM ONLY %s o',
                   target, meta, layer)
        USING now(), s.txid, s.who, s.db_role, s.proposal, s.reason;
    EXECUTE format('INSERT INTO %s (%s, %s) SELECT $1, ''insert'', $2, $3, $4, $5, $6, %s FROM ONLY %s',
                   target, meta, history.columns(layer), history.columns(layer), replacement)
        USING now(), s.txid, s.who, s.db_role, s.proposal, s.reason;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END $$;

-- A feature back as a new version: the version valid at `at`, or (no `at`) the last one before the feature was
-- deleted; inserted again under its id, or (it exists and `at` is given) written over the feature as it is now. Runs
-- with the caller's rights: an approver's INSERT and UPDATE on the layer. The change is recorded by the triggers,
-- with the caller's reason or "restored version N". A plan the version names that no longer exists is left out.
CREATE FUNCTION history.restore(layer regclass, feature bigint, at timestamptz DEFAULT NULL,
                                OUT restored_from bigint, OUT action text, OUT version bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    target text := format('history.%I', (SELECT relname FROM pg_class WHERE oid = layer));
    cols text := history.columns(layer, '', 'updated_at');
    vals text := replace(history.columns(layer, 'h.', 'updated_at'), 'h.plan_id',
                         '(SELECT p.id FROM public.plans p WHERE p.id = h.plan_id)');
    found_operation text;
    present boolean;
    before bigint;
    caller_reason text := coalesce(current_setting('lapis.reason', true), '');
BEGIN
    IF at IS NULL THEN
        EXECUTE format('SELECT max(version) FROM %s WHERE id = $1 AND operation <> ''delete''', target)
            INTO restored_from USING feature;
    ELSE
        EXECUTE format('SELECT version, operation FROM %s WHERE id = $1 AND valid_from <= $2 '
                       'ORDER BY version DESC LIMIT 1', target) INTO restored_from, found_operation USING feature, at;
        IF found_operation = 'delete' THEN
            restored_from := NULL;
        END IF;
    END IF;
    IF restored_from IS NULL THEN
        RAISE EXCEPTION 'feature % of % %', feature, layer,
            CASE WHEN at IS NULL THEN 'has no recorded version' ELSE format('did not exist at %s', at) END
            USING ERRCODE = 'no_data_found';
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE id = $1)', layer) INTO present USING feature;
    IF present AND at IS NULL THEN
        RAISE EXCEPTION 'feature % of % exists: give the instant to roll it back to', feature, layer
            USING ERRCODE = 'LH409';
    END IF;
    EXECUTE format('SELECT max(version) FROM %s WHERE id = $1', target) INTO before USING feature;
    PERFORM set_config('lapis.reason',
                       coalesce(nullif(caller_reason, ''), format('restored version %s', restored_from)), true);
    IF present THEN
        EXECUTE format('UPDATE %s t SET (%s, updated_at) = (SELECT %s, now() FROM %s h WHERE h.version = $1) '
                       'WHERE t.id = $2', layer, cols, vals, target) USING restored_from, feature;
    ELSE
        EXECUTE format('INSERT INTO %s (%s, updated_at) SELECT %s, now() FROM %s h WHERE h.version = $1',
                       layer, cols, vals, target) USING restored_from;
    END IF;
    PERFORM set_config('lapis.reason', caller_reason, true);
    EXECUTE format('SELECT max(version) FROM %s WHERE id = $1', target) INTO version USING feature;
    action := CASE WHEN version = before THEN 'unchanged' WHEN present THEN 'update' ELSE 'insert' END;
END $$;

CREATE FUNCTION history.refuse() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'the feature history is append-only: % on %.% is refused', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;
"""


def _columns(table: str) -> list[tuple[str, str]]:
    """The plan table's own columns (name, type) in order, its generated ones left out."""
    rows = op.get_bind().execute(text(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "WHERE a.attrelid = CAST(:t AS regclass) AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' "
        "ORDER BY a.attnum"), {"t": f"public.{table}"})
    return [(name, kind) for name, kind in rows]


def _history_table(table: str) -> None:
    columns = _columns(table)
    own = ",\n".join(f'    "{name}" {kind}' for name, kind in columns)
    op.execute(f"""
        CREATE TABLE history.{table} (
            version bigint NOT NULL DEFAULT nextval('history.version_seq')
                CONSTRAINT history_{table}_pkey PRIMARY KEY,
            valid_from timestamptz NOT NULL,
            operation text NOT NULL
                CONSTRAINT history_{table}_operation_check CHECK (operation IN ('insert', 'update', 'delete')),
            txid bigint NOT NULL,
            who text NOT NULL,
            db_role text NOT NULL,
            proposal bigint,
            reason text,
        {own}
        )
    """)
    op.execute(f"ALTER TABLE history.{table} ALTER COLUMN id SET NOT NULL")
    # names of their own: a catalog query by table name alone must not take them for the plan table's
    op.execute(f"CREATE INDEX history_{table}_id_version_idx ON history.{table} (id, version) INCLUDE (valid_from)")
    if any(name == "geom" for name, _ in columns):
        # SP-GiST: added to row by row (no sorted build here), it costs a load about half what GiST does and answers
        # the bbox and tile queries of the past as fast or faster (measured on 1,100,000 versions of parcels);
        # deletions hold no geometry and are left out, which those queries' `geom && box` allows
        op.execute(f"CREATE INDEX history_{table}_geom_idx ON history.{table} USING spgist (geom) "
                   "WHERE geom IS NOT NULL")
    op.execute(f"COMMENT ON TABLE history.{table} IS 'Every version of every feature of public.{table} "
               "(migration 0014; append-only)'")
    names = ", ".join(f'"{name}"' for name, _ in columns)
    op.execute(f"""
        INSERT INTO history.{table} ({META}, {names})
        SELECT least(t.updated_at, now()), 'insert', s.txid, s.who, s.db_role, NULL, 'history begins', {names}
        FROM public.{table} t, history.stamp() s ORDER BY t.id
    """)
    op.execute(f"SELECT history.install('public.{table}')")
    for event, timing, transitions in EVENTS:
        op.execute(f"CREATE TRIGGER {table}_history_{event} {timing} ON public.{table} {transitions} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION history.capture_{table}()")
    op.execute(f"CREATE TRIGGER history_{table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON history.{table} "
               "FOR EACH STATEMENT EXECUTE FUNCTION history.refuse()")
    op.execute(f"REVOKE ALL ON history.{table} FROM PUBLIC")
    op.execute(f"GRANT SELECT ON history.{table} TO lapis_reader")


def upgrade() -> None:
    op.execute("CREATE SCHEMA history")
    op.execute("COMMENT ON SCHEMA history IS 'Every version of every plan feature (migration 0014)'")
    op.execute("CREATE SEQUENCE history.version_seq AS bigint")
    op.execute(FUNCTIONS)
    for table in PLAN_TABLES:
        _history_table(table)
    op.execute("REVOKE ALL ON ALL FUNCTIONS IN SCHEMA history FROM PUBLIC")
    op.execute("REVOKE ALL ON SCHEMA history FROM PUBLIC")
    op.execute("GRANT USAGE ON SCHEMA history TO lapis_reader")
    op.execute("GRANT EXECUTE ON FUNCTION history.columns(regclass, text, name) TO lapis_reader")
    op.execute("GRANT EXECUTE ON FUNCTION history.restore(regclass, bigint, timestamptz) TO lapis_approver")
    # the plan tables as the shared contract gives them (the editing migration may grant the same: GRANT is
    # idempotent): readers read them, approvers publish (and restore)
    op.execute(f"GRANT SELECT ON {', '.join(PLAN_TABLES)} TO lapis_reader")
    op.execute(f"GRANT INSERT, UPDATE, DELETE ON {', '.join(PLAN_TABLES)} TO lapis_approver")
    # every write stamps layer_versions (migration 0001), which no group role may write itself
    op.execute("ALTER FUNCTION lapis_bump_layer_version() SECURITY DEFINER SET search_path = pg_catalog, public")


def downgrade() -> None:
    op.execute("ALTER FUNCTION lapis_bump_layer_version() SECURITY INVOKER RESET search_path")
    for table in PLAN_TABLES:
        for event, _timing, _transitions in EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_history_{event} ON public.{table}")
    op.execute("DROP SCHEMA history CASCADE")
