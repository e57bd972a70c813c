"""Inlinable feature size: `lapis_feature_size()` becomes a one-expression, non-STRICT SQL function.

0003 declared it STRICT with a CASE body, which PostgreSQL never inlines: every call outside an index scan ran
the SQL-function executor (~5 µs a row — as much as rendering the feature). The same value as one expression
(diagonal of the geometry's cached bounding box; infinite for points, which are never dropped), without STRICT,
is inlined into each query and into the index definition alike, so the index keeps matching and a tile's filter
or size ordering costs a few arithmetic operations a row. Values are unchanged except a NULL geometry (infinite
now; `geom_3857` is generated from a NOT NULL column, so never NULL); the indexes are rebuilt regardless.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("admin_units", "zones", "corridors", "axes", "projects", "parcels")


def upgrade() -> None:
    op.execute("""
        CREATE OR REPLACE FUNCTION lapis_feature_size(g geometry) RETURNS double precision
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT COALESCE(NULLIF(ST_Length(ST_BoundingDiagonal(g)), 0), 'Infinity'::double precision) $$
    """)
    for table in TABLES:
        op.execute(f"REINDEX INDEX {table}_feature_size_idx")


def downgrade() -> None:
    op.execute("""
        CREATE OR REPLACE FUNCTION lapis_feature_size(g geometry) RETURNS double precision
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS $$ SELECT CASE WHEN ST_Length(ST_BoundingDiagonal(g)) > 0 THEN ST_Length(ST_BoundingDiagonal(g))
                          ELSE 'Infinity'::double precision END $$
    """)
    for table in TABLES:
        op.execute(f"REINDEX INDEX {table}_feature_size_idx")
