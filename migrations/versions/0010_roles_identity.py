"""Group roles and identity: who may read, edit, approve and administer, and the users and API tokens behind them.

The four group roles are cluster-wide (roles are not per database) and NOLOGIN: a login role only acts through
them by `SET ROLE`. Each later one holds the earlier one, so an approver can do what an editor can:
`lapis_reader` ⊂ `lapis_editor` ⊂ `lapis_approver` ⊂ `lapis_admin`. They are created only when missing, so
several LAPIS databases in one cluster (the test suite's) share them, and a downgrade leaves them for the others.

`users` and `api_tokens` hold LAPIS's own identities. A token is stored only as its SHA-256 (it is random, 256
bits: no salt or slow hash is needed against guessing), with a short prefix so a steward can tell tokens apart.
Only `lapis_admin` reads or writes them; every role may ask `lapis_token_identity()` whose a token is.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

GROUP_ROLES = ("lapis_reader", "lapis_editor", "lapis_approver", "lapis_admin")

CREATE_ROLES = """
DO $$
DECLARE
    roles text[] := ARRAY['lapis_reader', 'lapis_editor', 'lapis_approver', 'lapis_admin'];
    i int;
BEGIN
    FOR i IN 1 .. array_length(roles, 1) LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = roles[i]) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', roles[i]);
        END IF;
        IF i > 1 AND NOT pg_has_role(roles[i], roles[i - 1], 'MEMBER') THEN
            EXECUTE format('GRANT %I TO %I', roles[i - 1], roles[i]);
        END IF;
    END LOOP;
END
$$;
"""

IDENTITY = """
CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._@-]{0,62}$'),
    role text NOT NULL CHECK (role IN ('viewer', 'editor', 'approver', 'admin')),
    display_name text CHECK (display_name IS NFC NORMALIZED),
    disabled boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE api_tokens (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    prefix text NOT NULL,
    note text,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
GRANT SELECT, INSERT, UPDATE, DELETE ON users, api_tokens TO lapis_admin;

-- Who a token belongs to, for any role (the server resolves tokens before it knows the caller's role): only
-- a live token of an enabled user answers, and nobody but lapis_admin can read the tables themselves.
CREATE FUNCTION lapis_token_identity(p_hash bytea) RETURNS TABLE (name text, role text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
AS $$
    SELECT u.name, u.role FROM public.api_tokens t JOIN public.users u ON u.id = t.user_id
    WHERE t.token_hash = p_hash AND t.revoked_at IS NULL AND NOT u.disabled
      AND (t.expires_at IS NULL OR t.expires_at > now())
$$;
REVOKE ALL ON FUNCTION lapis_token_identity(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lapis_token_identity(bytea) TO lapis_reader;
"""


def upgrade() -> None:
    op.execute(CREATE_ROLES)
    op.execute(IDENTITY)


def downgrade() -> None:
    op.execute("DROP FUNCTION lapis_token_identity(bytea); DROP TABLE api_tokens; DROP TABLE users;")
