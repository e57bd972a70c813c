"""What each group role may do with the plan: the GRANTs behind the app's login (spatial/dbroles.py).

- `lapis_reader` (and so every role): SELECT on the plan tables and `layer_versions`, EXECUTE on the lapis_*
  functions queries use. Tables the owner creates later (a new layer, `lapis load` into a new table) get the
  SELECT as well (ALTER DEFAULT PRIVILEGES): a later migration whose table is not for every reader REVOKEs it.
- `lapis_approver`: INSERT, UPDATE, DELETE on the plan tables (publishing) and their id sequences. Loads and
  migrations run as the owner, which owns everything and needs no grant.
- `lapis_bump_layer_version()` (the trigger that bumps a layer's data version) runs as its owner (SECURITY
  DEFINER, fixed search_path), so that whoever may write a plan table bumps its version without being able to
  write `layer_versions` itself.
- A non-superuser owner (an external server's) is made a member of `lapis_admin`, so a server that connects as
  the owner (one URL for everything) can still `SET ROLE` to the group roles.
- PUBLIC may not create objects in the schema `public` (PostgreSQL 15's default; older servers allowed it).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

PLAN_TABLES = ("plans", "admin_units", "zones", "corridors", "axes", "projects", "parcels", "use_rules")
READ_TABLES = (*PLAN_TABLES, "layer_versions")
FUNCTIONS = ("lapis_unaccent(text)", "lapis_unaccent_dict(regdictionary, text)",
             "lapis_search_text(text, text, text)", "lapis_feature_size(geometry)")

OWNER_MEMBERSHIP = """
DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       AND NOT pg_has_role(current_user, 'lapis_admin', 'MEMBER') THEN
        EXECUTE format('GRANT lapis_admin TO %I', current_user);
    END IF;
END $$
"""

NO_PUBLIC_CREATE = """
DO $$
BEGIN
    REVOKE CREATE ON SCHEMA public FROM PUBLIC;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'schema public: not its owner, CREATE for PUBLIC left as it is';
END $$
"""

SEQUENCES = """
DO $$
DECLARE
    seq text;
BEGIN
    FOREACH seq IN ARRAY ARRAY(SELECT pg_get_serial_sequence(t, 'id') FROM unnest(%s::text[]) t) LOOP
        IF seq IS NOT NULL THEN
            EXECUTE format('%s USAGE, SELECT ON SEQUENCE %%s %s lapis_approver', seq);
        END IF;
    END LOOP;
END $$
"""


def _array(names: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join(f"'{name}'" for name in names) + "]"


def upgrade() -> None:
    tables, plan = ", ".join(READ_TABLES), ", ".join(PLAN_TABLES)
    op.execute(f"GRANT SELECT ON {tables} TO lapis_reader")
    op.execute(f"GRANT INSERT, UPDATE, DELETE ON {plan} TO lapis_approver")
    op.execute(SEQUENCES % (_array(PLAN_TABLES), "GRANT", "TO"))
    op.execute(f"GRANT EXECUTE ON FUNCTION {', '.join(FUNCTIONS)} TO lapis_reader")
    op.execute("ALTER FUNCTION lapis_bump_layer_version() SECURITY DEFINER SET search_path = pg_catalog, public")
    op.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO lapis_reader")
    op.execute(OWNER_MEMBERSHIP)
    op.execute(NO_PUBLIC_CREATE)


def downgrade() -> None:
    tables, plan = ", ".join(READ_TABLES), ", ".join(PLAN_TABLES)
    op.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT ON TABLES FROM lapis_reader")
    op.execute("ALTER FUNCTION lapis_bump_layer_version() SECURITY INVOKER RESET search_path")
    op.execute(f"REVOKE EXECUTE ON FUNCTION {', '.join(FUNCTIONS)} FROM lapis_reader")
    op.execute(SEQUENCES % (_array(PLAN_TABLES), "REVOKE", "FROM"))
    op.execute(f"REVOKE INSERT, UPDATE, DELETE ON {plan} FROM lapis_approver")
    op.execute(f"REVOKE SELECT ON {tables} FROM lapis_reader")
