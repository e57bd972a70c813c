"""Feature size index for tiles: low-zoom tiles skip sub-pixel features through an index, not a scan.

`lapis_feature_size(geom_3857)` is the diagonal of a feature's Web-Mercator bounding box in metres, read from the
box cached in the geometry's header (no full deserialisation); infinite for points, which are never dropped. A
btree index on it per spatial table lets a z8 tile over 200,000 parcels read only the features big enough to draw
instead of every row in the envelope.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("admin_units", "zones", "corridors", "axes", "projects", "parcels")


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION lapis_feature_size(g geometry) RETURNS double precision
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS $$ SELECT CASE WHEN ST_Length(ST_BoundingDiagonal(g)) > 0 THEN ST_Length(ST_BoundingDiagonal(g))
                          ELSE 'Infinity'::double precision END $$
    """)
    for table in TABLES:
        op.execute(f"CREATE INDEX {table}_feature_size_idx ON {table} (lapis_feature_size(geom_3857))")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP INDEX IF EXISTS {table}_feature_size_idx")
    op.execute("DROP FUNCTION IF EXISTS lapis_feature_size(geometry)")
