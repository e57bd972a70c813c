"""Proposals: an editor's changes wait here, out of the plan tables, until an approver publishes them.

`proposals` is one set of changes by one author (open → published | rejected, with who decided and when);
`proposal_changes` holds, per changed feature, the feature's full column values after the change (`properties`,
the same keys as a row of the layer without its managed columns) and its geometry, or nothing for a delete, and
`base_etag`, the published version it was made against (publishing refuses a change whose base has moved). A
created feature takes its id from the layer's identity sequence when it is proposed, so its URL is known at once.

Row-level security decides who sees what: an editor sees their own proposals (`author` = the request's
`lapis.user`, set by `spatial.session.as_caller`) and changes only the open ones; an approver sees and changes
every one. Whether a feature or a code is already taken by another open proposal — which an editor may not read —
is asked through two SECURITY DEFINER functions that answer with the proposal's id only.
`lapis_feature_problems` tells which NOT NULL and CHECK rules of its layer a proposed row would break, and
`lapis_feature_duplicates` which unique keys it would share with a published feature, so an edit is refused when it
is proposed, not when it is published. `lapis_feature_etag` is a feature's version (its values and geometry).

The plan tables get their GRANTs here too (idempotent: migration 0011 of the database-roles work may give the same
ones): lapis_reader reads them, lapis_approver writes them (publishing) with the sequences and `layer_versions`
their triggers write; lapis_editor draws new feature ids from the identity sequences.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

PLAN_TABLES = ("plans", "admin_units", "zones", "corridors", "axes", "projects", "parcels", "use_rules")

TABLES = """
CREATE TABLE proposals (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title text,
    author text NOT NULL,
    state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'published', 'rejected')),
    created_at timestamptz DEFAULT now(),
    decided_by text,
    decided_at timestamptz,
    note text
);
CREATE INDEX proposals_author_state_idx ON proposals (author, state);
CREATE TABLE proposal_changes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    proposal_id bigint NOT NULL REFERENCES proposals ON DELETE CASCADE,
    layer text NOT NULL,
    feature_id bigint NOT NULL,
    op text NOT NULL CHECK (op IN ('create', 'replace', 'update', 'delete')),
    properties jsonb,
    geom geometry(Geometry, 4326),
    base_etag text,
    created_at timestamptz DEFAULT now(),
    UNIQUE (proposal_id, layer, feature_id)
);
CREATE INDEX proposal_changes_feature_idx ON proposal_changes (layer, feature_id);
CREATE INDEX proposal_changes_code_idx ON proposal_changes (layer, (properties ->> 'code'));
"""

ROW_SECURITY = """
ALTER TABLE proposals ENABLE ROW LEVEL SECURITY;
CREATE POLICY proposals_approver ON proposals TO lapis_approver USING (true) WITH CHECK (true);
CREATE POLICY proposals_own_read ON proposals FOR SELECT TO lapis_editor
    USING (author = current_setting('lapis.user', true));
CREATE POLICY proposals_own_insert ON proposals FOR INSERT TO lapis_editor
    WITH CHECK (author = current_setting('lapis.user', true) AND state = 'open');
CREATE POLICY proposals_own_update ON proposals FOR UPDATE TO lapis_editor
    USING (author = current_setting('lapis.user', true) AND state = 'open')
    WITH CHECK (author = current_setting('lapis.user', true) AND state = 'open');
CREATE POLICY proposals_own_delete ON proposals FOR DELETE TO lapis_editor
    USING (author = current_setting('lapis.user', true) AND state = 'open');

ALTER TABLE proposal_changes ENABLE ROW LEVEL SECURITY;
CREATE POLICY changes_approver ON proposal_changes TO lapis_approver USING (true) WITH CHECK (true);
CREATE POLICY changes_own_read ON proposal_changes FOR SELECT TO lapis_editor
    USING (proposal_id IN (SELECT id FROM proposals WHERE author = current_setting('lapis.user', true)));
CREATE POLICY changes_own_insert ON proposal_changes FOR INSERT TO lapis_editor
    WITH CHECK (proposal_id IN (SELECT id FROM proposals
                                WHERE author = current_setting('lapis.user', true) AND state = 'open'));
CREATE POLICY changes_own_update ON proposal_changes FOR UPDATE TO lapis_editor
    USING (proposal_id IN (SELECT id FROM proposals
                           WHERE author = current_setting('lapis.user', true) AND state = 'open'))
    WITH CHECK (proposal_id IN (SELECT id FROM proposals
                                WHERE author = current_setting('lapis.user', true) AND state = 'open'));
CREATE POLICY changes_own_delete ON proposal_changes FOR DELETE TO lapis_editor
    USING (proposal_id IN (SELECT id FROM proposals
                           WHERE author = current_setting('lapis.user', true) AND state = 'open'));

GRANT SELECT, INSERT, UPDATE, DELETE ON proposals, proposal_changes TO lapis_editor;
-- not public: the owner's default privileges (migration 0011) give readers SELECT on every new table
REVOKE SELECT ON proposals, proposal_changes FROM lapis_reader;
"""

FUNCTIONS = """
-- the open proposal (other than p_except) that holds a change of this feature, if any
CREATE FUNCTION lapis_pending_proposal(p_layer text, p_feature_id bigint, p_except bigint) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
AS $$
    SELECT c.proposal_id FROM public.proposal_changes c JOIN public.proposals p ON p.id = c.proposal_id
    WHERE c.layer = p_layer AND c.feature_id = p_feature_id AND p.state = 'open'
      AND c.proposal_id IS DISTINCT FROM p_except
    ORDER BY c.proposal_id LIMIT 1
$$;
-- the open proposal that gives another feature of this layer this code, if any
CREATE FUNCTION lapis_pending_code(p_layer text, p_code text, p_feature_id bigint) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
AS $$
    SELECT c.proposal_id FROM public.proposal_changes c JOIN public.proposals p ON p.id = c.proposal_id
    WHERE c.layer = p_layer AND c.properties ->> 'code' = p_code AND c.feature_id <> p_feature_id
      AND c.op <> 'delete' AND p.state = 'open'
    ORDER BY c.proposal_id LIMIT 1
$$;
-- The NOT NULL columns without a default that the row leaves empty, and the CHECK constraints it breaks, of the
-- table `p_layer`: `p_row` holds column values by name (a geometry as hex EWKB). The constraints' own expressions
-- are evaluated on the row (read from the catalog, never from the caller), so no rule is written twice.
CREATE FUNCTION lapis_feature_problems(p_layer regclass, p_row jsonb)
RETURNS TABLE (name text, problem text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public
AS $$
DECLARE
    c record;
    ok boolean;
BEGIN
    FOR c IN SELECT a.attname FROM pg_attribute a
             WHERE a.attrelid = p_layer AND a.attnum > 0 AND NOT a.attisdropped AND a.attnotnull
               AND NOT a.atthasdef AND a.attidentity = '' AND a.attgenerated = ''
             ORDER BY a.attnum LOOP
        IF coalesce(jsonb_typeof(p_row -> c.attname), 'null') = 'null' THEN
            name := c.attname;
            problem := 'is required';
            RETURN NEXT;
        END IF;
    END LOOP;
    FOR c IN SELECT k.conname, pg_get_expr(k.conbin, k.conrelid) AS expr, pg_get_constraintdef(k.oid) AS def
             FROM pg_constraint k WHERE k.conrelid = p_layer AND k.contype = 'c' ORDER BY k.conname LOOP
        EXECUTE format('SELECT (%s) IS NOT FALSE FROM jsonb_populate_record(NULL::%s, $1) AS r', c.expr, p_layer)
            INTO ok USING p_row;
        IF NOT ok THEN
            name := c.conname;
            problem := c.def;
            RETURN NEXT;
        END IF;
    END LOOP;
END
$$;
-- The UNIQUE constraints of `p_layer` whose key the row (as for lapis_feature_problems) shares with a published
-- feature other than `p_id` (a NULL in the key never clashes, as in a UNIQUE constraint)
CREATE FUNCTION lapis_feature_duplicates(p_layer regclass, p_row jsonb, p_id bigint) RETURNS SETOF text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public
AS $$
DECLARE
    c record;
    taken boolean;
BEGIN
    FOR c IN SELECT k.conname,
                    string_agg(format('t.%I', a.attname), ', ' ORDER BY a.attnum) AS published,
                    string_agg(format('r.%I', a.attname), ', ' ORDER BY a.attnum) AS proposed
             FROM pg_constraint k JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey)
             WHERE k.conrelid = p_layer AND k.contype = 'u' GROUP BY k.conname ORDER BY k.conname LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s t, jsonb_populate_record(NULL::%s, $1) AS r '
                       'WHERE (%s) = (%s) AND t.id IS DISTINCT FROM $2)', p_layer, p_layer, c.published, c.proposed)
            INTO taken USING p_row, p_id;
        IF taken THEN
            RETURN NEXT c.conname;
        END IF;
    END LOOP;
END
$$;
-- A feature's version: its stored values (a row of the layer as jsonb, managed columns left out) and geometry
CREATE FUNCTION lapis_feature_etag(p_values jsonb, p_geom geometry) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT md5(p_values::text || '|' || coalesce(encode(public.ST_AsEWKB(p_geom), 'hex'), '')) $$;
REVOKE ALL ON FUNCTION lapis_pending_proposal(text, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION lapis_pending_code(text, text, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lapis_pending_proposal(text, bigint, bigint) TO lapis_editor;
GRANT EXECUTE ON FUNCTION lapis_pending_code(text, text, bigint) TO lapis_editor;
"""

PLAN_GRANTS = """
DO $$
DECLARE
    t text;
    seq text;
BEGIN
    FOREACH t IN ARRAY %(tables)s LOOP
        EXECUTE format('GRANT SELECT ON %%I TO lapis_reader', t);
        EXECUTE format('GRANT INSERT, UPDATE, DELETE ON %%I TO lapis_approver', t);
        seq := pg_get_serial_sequence(t, 'id');
        IF seq IS NOT NULL THEN
            EXECUTE format('GRANT USAGE ON SEQUENCE %%s TO lapis_editor', seq);
        END IF;
    END LOOP;
END
$$;
GRANT SELECT ON layer_versions TO lapis_reader;
"""


def upgrade() -> None:
    op.execute(TABLES)
    op.execute(ROW_SECURITY)
    op.execute(FUNCTIONS)
    tables = "ARRAY[" + ", ".join(f"'{t}'" for t in PLAN_TABLES) + "]"
    op.execute(PLAN_GRANTS.replace("%(tables)s", tables).replace("%%", "%"))


def downgrade() -> None:
    op.execute("""
        DROP FUNCTION lapis_feature_etag(jsonb, geometry);
        DROP FUNCTION lapis_feature_duplicates(regclass, jsonb, bigint);
        DROP FUNCTION lapis_feature_problems(regclass, jsonb);
        DROP FUNCTION lapis_pending_code(text, text, bigint);
        DROP FUNCTION lapis_pending_proposal(text, bigint, bigint);
        DROP TABLE proposal_changes;
        DROP TABLE proposals;
    """)
