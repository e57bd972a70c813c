"""Restorable SQL functions: the bodies of `lapis_feature_size` and `lapis_search_text` name what they call
with its schema.

`pg_restore` (and `pg_dump` plain SQL replayed by psql) runs with an empty `search_path`, for safety. Index
expressions are stored parsed, but a SQL function used by an index is inlined from its *text* when the index
is built, so `CREATE INDEX … (lapis_feature_size(geom_3857))` failed during a restore with "function
st_boundingdiagonal(public.geometry) does not exist", and every `lapis db restore` stopped there. Qualified
names fix this without a `SET search_path` clause (which would stop the inlining 0005 and 0006 are for).
Values are unchanged, so no index is rebuilt.

Revision ID: 0009
Revises: 0008 (0008 is on another branch: point this at it when both are merged)
Create Date: 2026-11-27

"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

FEATURE_SIZE = """
    CREATE OR REPLACE FUNCTION lapis_feature_size(g geometry) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT COALESCE(NULLIF({schema}ST_Length({schema}ST_BoundingDiagonal(g)), 0), 'Infinity'::double precision) $$
"""
SEARCH_TEXT = """
    CREATE OR REPLACE FUNCTION lapis_search_text(code text, name_vi text, name_en text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT {schema}lapis_unaccent(
        coalesce(name_vi, '') || ' ' || coalesce(name_en, '') || ' ' || coalesce(code, '')) $$
"""


def upgrade() -> None:
    op.execute(FEATURE_SIZE.format(schema="public."))
    op.execute(SEARCH_TEXT.format(schema="public."))


def downgrade() -> None:
    op.execute(FEATURE_SIZE.format(schema=""))
    op.execute(SEARCH_TEXT.format(schema=""))
