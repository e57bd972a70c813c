"""VN-2000 transformed with EPSG:6960 (the 7-parameter "VN-2000 to WGS 84 (2)") in PostGIS, always.

Asked for EPSG:3405 or EPSG:9210 by code, PROJ picks EPSG:5194 "VN-2000 to WGS 84 (1)" inside the Mekong
delta block, Long An included — about 0.8 m from EPSG:6960. PostGIS 3.3 has no way to name the operation
(ST_TransformPipeline arrived in 3.4), so LAPIS adds two SRIDs of its own whose definitions carry the
EPSG:6960 parameters explicitly (+towgs84, position-vector form); `spatial.crs` transforms VN-2000 through
them. Stored geometry is never in these SRIDs; they only serve ST_Transform of literals and output.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from alembic import op
from sqlalchemy import text

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TOWGS84 = "-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278"
ROWS = {
    # srid: (EPSG code it stands for, PROJ definition)
    903405: (3405, f"+proj=utm +zone=48 +ellps=WGS84 +towgs84={TOWGS84} +units=m +no_defs"),
    909210: (9210, "+proj=tmerc +lat_0=0 +lon_0=105.75 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 "
                   f"+towgs84={TOWGS84} +units=m +no_defs"),
}


def upgrade() -> None:
    for srid, (code, proj4) in ROWS.items():
        # auth_name LAPIS is unknown to PROJ, so PostGIS builds the CRS from proj4text (srtext left empty)
        op.get_bind().execute(
            text("INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text) "
                 "VALUES (:srid, 'LAPIS', :code, NULL, :proj4) ON CONFLICT (srid) DO UPDATE "
                 "SET auth_name = EXCLUDED.auth_name, auth_srid = EXCLUDED.auth_srid, srtext = NULL, "
                 "proj4text = EXCLUDED.proj4text"),
            {"srid": srid, "code": code, "proj4": proj4},
        )


def downgrade() -> None:
    op.execute("DELETE FROM spatial_ref_sys WHERE srid IN (903405, 909210)")
