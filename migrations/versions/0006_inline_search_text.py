"""Inlinable search text: `lapis_unaccent()` calls unaccent's C function through an IMMUTABLE declaration.

`unaccent()` is only STABLE (its dictionary could change), so the IMMUTABLE SQL wrapper that index expressions
need was never inlined: every row of a trigram index build, and every recheck of a search, ran the SQL-function
executor twice (`lapis_search_text` → `lapis_unaccent`), which cost three times the unaccenting itself (200,000
parcels: 300 ms to compute the search texts, 127 ms inlined; the trigram index build of a 200,000-parcel load
falls from 0.9 s to 0.7 s). Declaring unaccent's own C entry point (`unaccent_dict`) IMMUTABLE with our fixed
dictionary is the documented way out; both SQL wrappers then inline into one expression, in queries and in the
index definitions alike. Values are unchanged; the search indexes are rebuilt regardless.

Declaring a C function needs a superuser (the embedded server's owner is one). A role that is not keeps the
0001 definitions: the same results, only slower.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25

"""

from alembic import op
from sqlalchemy import text

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = ("plans", "admin_units", "zones", "corridors", "axes", "projects", "parcels")
SQL_UNACCENT = "lower(public.unaccent('public.unaccent'::regdictionary, $1))"
C_UNACCENT = "lower(public.lapis_unaccent_dict('public.unaccent'::regdictionary, $1))"


def _define_unaccent(body: str) -> None:
    op.execute(f"""
        CREATE OR REPLACE FUNCTION lapis_unaccent(text) RETURNS text
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS $$ SELECT {body} $$
    """)
    for table in TABLES:
        op.execute(f"REINDEX INDEX {table}_search_idx")


def upgrade() -> None:
    superuser = op.get_bind().execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar()
    if not superuser:
        return
    op.execute("""
        CREATE FUNCTION lapis_unaccent_dict(regdictionary, text) RETURNS text
        LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS '$libdir/unaccent', 'unaccent_dict'
    """)
    _define_unaccent(C_UNACCENT)


def downgrade() -> None:
    exists = op.get_bind().execute(text("SELECT to_regprocedure('lapis_unaccent_dict(regdictionary, text)')")).scalar()
    if exists is None:
        return
    _define_unaccent(SQL_UNACCENT)
    op.execute("DROP FUNCTION lapis_unaccent_dict(regdictionary, text)")
