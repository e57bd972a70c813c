"""EPSG:9210 (VN-2000 / TM-3 105-45, Long An's local system) in spatial_ref_sys.

PostGIS 3.3's spatial_ref_sys predates EPSG:9210. With auth_name/auth_srid = EPSG/9210, PostGIS asks
PROJ for "EPSG:9210", so PROJ picks the same operation as pyproj (EPSG:6960, the 7-parameter
VN-2000 → WGS 84 (2) Helmert); the proj4text carries the same 7 parameters as a fallback. Idempotent:
a row already there (another migration, or a newer PostGIS) is kept.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from alembic import op
from sqlalchemy import text

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# EPSG:6960 parameters (coordinate frame rotations, as PROJ writes them in +towgs84 position-vector form)
TOWGS84 = "-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278"
PROJ4 = (f"+proj=tmerc +lat_0=0 +lon_0=105.75 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 +towgs84={TOWGS84} "
         "+units=m +no_defs")
SRTEXT = (
    'PROJCS["VN-2000 / TM-3 105-45",GEOGCS["VN-2000",DATUM["Vietnam_2000",SPHEROID["WGS 84",6378137,'
    '298.257223563,AUTHORITY["EPSG","7030"]],TOWGS84[' + TOWGS84 + '],AUTHORITY["EPSG","6756"]],'
    'PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AUTHORITY["EPSG","4756"]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],'
    'PARAMETER["central_meridian",105.75],PARAMETER["scale_factor",0.9999],PARAMETER["false_easting",500000],'
    'PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AXIS["Easting",EAST],'
    'AXIS["Northing",NORTH],AUTHORITY["EPSG","9210"]]'
)


def upgrade() -> None:
    op.get_bind().execute(
        text("INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text) "
             "VALUES (9210, 'EPSG', 9210, :srtext, :proj4) ON CONFLICT (srid) DO NOTHING"),
        {"srtext": SRTEXT, "proj4": PROJ4},
    )


def downgrade() -> None:
    # the row may predate this migration on a newer PostGIS; removing it there would break transforms
    pass
