"""The schema exists only through Alembic: upgrade, downgrade to base and upgrade again."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from spatial import migrate
from spatial.embedded import EmbeddedCluster
from spatial.layers import LAYERS


@pytest.fixture()
def empty_db(cluster: EmbeddedCluster) -> Iterator[str]:
    port = cluster.status().port
    admin = cluster.url(port, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS lapis_migrations")
        conn.execute("CREATE DATABASE lapis_migrations")
    yield cluster.url(port, "lapis_migrations")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS lapis_migrations WITH (FORCE)")


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {r[0] for r in rows}


def test_upgrade_downgrade_upgrade(empty_db: str) -> None:
    migrate.upgrade(empty_db)
    assert set(LAYERS) | {"layer_versions", "alembic_version"} <= _tables(empty_db)
    assert migrate.current_revision(empty_db) is not None
    migrate.downgrade(empty_db, "base")
    assert _tables(empty_db) - {"spatial_ref_sys", "alembic_version"} == set()
    assert migrate.current_revision(empty_db) is None
    migrate.upgrade(empty_db)
    assert set(LAYERS) <= _tables(empty_db)


def test_schema_matches_registry(db_url: str) -> None:
    """Every registry column exists with its type; geometry columns have SRID 4326 and a 3857 copy (and the
    tile-grid copies of the layers that keep them)."""
    with psycopg.connect(db_url) as conn:
        for layer in LAYERS.values():
            rows = conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s",
                (layer.id,),
            ).fetchall()
            columns = dict(rows)
            for column in layer.all_columns:
                assert column.name in columns, f"{layer.id}.{column.name}"
            if layer.has_geometry:
                srids = dict(conn.execute(
                    "SELECT f_geometry_column, srid FROM geometry_columns WHERE f_table_name = %s", (layer.id,)
                ).fetchall())
                zooms = layer.tiles.stored_grid_zooms if layer.tiles else ()
                grids = {f"tile_z{z}": 0 for z in zooms}  # tile pixels: no CRS
                assert srids == {"geom": 4326, "geom_3857": 3857, **grids}
                indexes = {r[0] for r in conn.execute(
                    "SELECT indexdef FROM pg_indexes WHERE tablename = %s", (layer.id,)).fetchall()}
                assert any("gist (geom)" in i for i in indexes)
                assert any("gist (geom_3857)" in i for i in indexes)


@pytest.mark.parametrize(
    ("statement", "constraint"),
    [
        ("INSERT INTO parcels (code, name_vi, geom) VALUES ('x', 'x', "
         "ST_Multi(ST_GeomFromText('POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))', 4326)))", "parcels_geom_valid"),
        ("INSERT INTO parcels (code, name_vi, geom) VALUES ('x', 'x', "
         "ST_Multi(ST_GeomFromText('POLYGON((0 0, 1 0, 1 1, 0 0))', 3405)))", "SRID (3405) does not match"),
        ("INSERT INTO admin_units (code, name_vi, level, geom) VALUES ('794', 'dup', 'district', "
         "ST_Multi(ST_MakeEnvelope(106, 10, 106.1, 10.1, 4326)))", "admin_units_code_key"),
        ("INSERT INTO zones (code, name_vi, kind, geom) VALUES ('nfd', 'Ta' || chr(770) || 'n', 'urban', "
         "ST_Multi(ST_MakeEnvelope(106, 10, 106.1, 10.1, 4326)))", "zones_name_vi_check"),
    ],
)
def test_constraints_reject_bad_rows(db_url: str, statement: str, constraint: str) -> None:
    with psycopg.connect(db_url) as conn, pytest.raises(psycopg.Error) as error:
        conn.execute(statement)
    assert constraint in str(error.value)


def test_accent_insensitive_search_function(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        text = conn.execute("SELECT lapis_unaccent('Vành đai 3 – ĐỨC HÒA, Thủ Thừa')").fetchone()[0]
    assert text == "vanh dai 3 - duc hoa, thu thua"  # unaccent folds the en dash too


def test_search_text_is_inlined(db_url: str) -> None:
    """The search expression plans as one expression (no SQL-function calls a row), and the index still
    answers an accent-free query."""
    with psycopg.connect(db_url) as conn:
        plan = "\n".join(r[0] for r in conn.execute(
            "EXPLAIN VERBOSE SELECT lapis_search_text(code, name_vi, name_en) FROM admin_units").fetchall())
        conn.execute("SET enable_seqscan = off")
        used = "\n".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT code FROM admin_units WHERE lapis_search_text(code, name_vi, name_en) "
            "LIKE '%' || lapis_unaccent('TÂN AN') || '%'").fetchall())
        found = conn.execute("SELECT name_vi FROM admin_units WHERE lapis_search_text(code, name_vi, name_en) "
                             "LIKE '%tan an%'").fetchall()
    assert "lapis_unaccent_dict('unaccent'::regdictionary" in plan and "lapis_search_text" not in plan
    assert "admin_units_search_idx" in used
    assert ("Tân An",) in found
