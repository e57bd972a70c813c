"""The ORM models against the migrations: Alembic's autogenerate comparison finds no difference, a schema built from
the models has the migrated one's catalog (CHECKs, index methods and operator classes, generated expressions,
triggers), and analysts' ORM queries with PostGIS functions come back as GeoDataFrames."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import geopandas as gpd
import psycopg
import pytest
from geoalchemy2 import Geography
from sqlalchemy import Engine, cast, func, select
from sqlalchemy.orm import Session

from spatial.db import make_engine
from spatial.layers import LAYERS
from spatial.models import LAYER_MODELS, AdminUnit, LayerVersion, Parcel, Project, Zone, metadata
from spatial.models.drift import schema_diff

TABLES = (*LAYERS, "layer_versions", "users", "api_tokens", "proposals", "proposal_changes", "import_jobs",
          "revisions", "tile_changes")

CATALOG = {
    "columns": """
        SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relname = ANY(%s) AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped""",
    "constraints": """
        SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE conrelid::regclass::text = ANY(%s)""",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)",
    "triggers": """
        SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger
        WHERE NOT tgisinternal AND tgrelid::regclass::text = ANY(%s)""",
}


def catalog(url: str) -> dict[str, set[tuple[Any, ...]]]:
    with psycopg.connect(url) as conn:
        return {kind: set(conn.execute(sql, (list(TABLES),)).fetchall()) for kind, sql in CATALOG.items()}


@pytest.fixture(scope="module")
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def test_every_table_has_a_model() -> None:
    assert set(LAYER_MODELS) == set(LAYERS)
    assert set(metadata.tables) == set(TABLES)


def test_models_match_the_migrations(db_url: str) -> None:
    assert schema_diff(db_url) == []


def test_the_comparison_sees_drift(fresh_db_url: str) -> None:
    """A schema changed behind the models' back shows up: a new column, a dropped index, a changed type, nullability,
    default and generated expression."""
    with psycopg.connect(fresh_db_url) as conn:
        conn.execute("ALTER TABLE corridors ADD COLUMN width_m numeric")
        conn.execute("DROP INDEX zones_kind_idx")
        conn.execute("ALTER TABLE parcels ALTER COLUMN land_use TYPE varchar(8), ALTER COLUMN area_m2 SET NOT NULL")
        conn.execute("ALTER TABLE axes ALTER COLUMN accuracy SET DEFAULT 'surveyed'")
        conn.execute("ALTER TABLE parcels DROP COLUMN tile_z13")
        conn.execute("ALTER TABLE parcels ADD COLUMN tile_z13 geometry GENERATED ALWAYS AS (geom) STORED")
    found = {(d[0][0] if isinstance(d, list) else d[0]) + ":" + _where(d) for d in schema_diff(fresh_db_url)}
    assert found == {"remove_column:corridors.width_m", "add_index:zones_kind_idx", "modify_type:parcels.land_use",
                     "modify_nullable:parcels.area_m2", "modify_default:axes.accuracy",
                     "computed_differs:parcels.tile_z13"}


def _where(d: Any) -> str:
    if isinstance(d, list):
        return f"{d[0][2]}.{d[0][3]}"
    if d[0] in ("add_column", "remove_column"):
        return f"{d[2]}.{d[3].name}"
    if d[0] == "computed_differs":
        return d[1].split(" on ")[1].split(" ")[0]
    return d[1].name


def test_a_schema_built_from_the_models_is_the_migrated_one(db_url: str, fresh_db_url: str) -> None:
    """Drop the plan tables (the functions they use stay) and build them from the models: columns in the same order
    with the same types, defaults, identity and generated expressions; the same CHECK, unique and foreign keys; the
    same indexes (methods, operator classes, expressions) and triggers."""
    with psycopg.connect(fresh_db_url) as conn:
        conn.execute(f"DROP TABLE {', '.join(TABLES)} CASCADE")
    engine = make_engine(fresh_db_url)
    try:
        metadata.create_all(engine)
    finally:
        engine.dispose()
    migrated, built = catalog(db_url), catalog(fresh_db_url)
    tiled = sum(1 for layer in LAYERS.values() if layer.geometry_type)
    # updated_at, layer version, history (4 events); on a tiled layer, where it changed (4 events)
    assert len(migrated["triggers"]) == (2 + 4) * len(LAYERS) + 4 * tiled
    assert any("gin_trgm_ops" in i[2] for i in migrated["indexes"])
    for kind in CATALOG:
        assert built[kind] == migrated[kind], (kind, built[kind] ^ migrated[kind])


def test_orm_query_with_postgis_functions(engine: Engine) -> None:
    """Which districts does each region cover, and how much of it (ellipsoidal km²)? An ORM join on ST_Intersects."""
    overlap = func.ST_Area(cast(func.ST_Intersection(Zone.geom, AdminUnit.geom), Geography)) / 1e6
    query = (select(Zone.code, AdminUnit.code.label("district"), overlap.label("km2"))
             .join(AdminUnit, func.ST_Intersects(Zone.geom, AdminUnit.geom))
             .where(Zone.kind == "region", AdminUnit.level == "district"))
    with Session(engine) as session:
        rows = session.execute(query).all()
        district_area = session.scalar(select(func.sum(func.ST_Area(cast(AdminUnit.geom, Geography)) / 1e6))
                                       .where(AdminUnit.level == "district"))
    regions = {r.code for r in rows}
    assert regions == {"R1", "R2", "R3"}
    covered = sum(r.km2 for r in rows)
    # the regions are unions of the districts: together they cover each district once
    assert covered == pytest.approx(district_area, rel=1e-3)


def test_orm_select_as_geodataframe(engine: Engine) -> None:
    query = (select(Project.code, Project.name_vi, Project.category,
                    func.ST_Length(cast(Project.geom, Geography)).label("length_m"), Project.geom)
             .where(func.ST_GeometryType(Project.geom) == "ST_MultiLineString"))
    frame = gpd.read_postgis(query, engine, geom_col="geom")
    assert isinstance(frame, gpd.GeoDataFrame)
    assert frame.crs.to_epsg() == 4326
    assert len(frame) > 0 and (frame.length_m > 0).all()
    assert set(frame.geom.geom_type) == {"MultiLineString"}
    assert frame.name_vi.str.contains("ố|ộ|ư|đ").any()  # Vietnamese text as stored


def test_orm_insert_runs_the_triggers_and_fills_generated_columns(fresh_db_url: str) -> None:
    engine = make_engine(fresh_db_url)
    try:
        with Session(engine) as session, session.begin():
            before = session.scalar(select(func.count()).select_from(Parcel))
            version_before = session.scalar(select(LayerVersion.version).where(LayerVersion.layer == "parcels"))
            session.add(Parcel(code="ORM-1", name_vi="Thửa đất số 1", land_use="ONT",
                               geom="SRID=4326;MULTIPOLYGON(((106.41 10.53,106.4105 10.53,106.4105 10.5305,"
                                    "106.41 10.5305,106.41 10.53)))"))
        with Session(engine) as session:
            parcel = session.scalars(select(Parcel).where(Parcel.code == "ORM-1")).one()
            assert parcel.geom_3857 is not None and parcel.tile_z13 is not None
            assert parcel.accuracy == "unknown" and parcel.props == {}
            assert session.scalar(select(func.count()).select_from(Parcel)) == before + 1
            version = session.scalar(select(LayerVersion.version).where(LayerVersion.layer == "parcels"))
            assert version is not None and version != version_before  # the statement trigger stamped it
    finally:
        engine.dispose()
