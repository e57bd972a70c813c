"""Invariants of the bundled plan data, measured by PostGIS on the ellipsoid after seeding."""

from __future__ import annotations

import psycopg
import pytest


@pytest.fixture(scope="module")
def conn(db_url: str):
    with psycopg.connect(db_url) as connection:
        yield connection


def test_all_geometries_valid_and_names_nfc(conn: psycopg.Connection) -> None:
    for table in ("admin_units", "zones", "corridors", "axes", "projects"):
        bad = conn.execute(
            f"SELECT count(*) FROM {table} WHERE NOT ST_IsValid(geom) OR NOT name_vi IS NFC NORMALIZED "
            f"OR NOT coalesce(name_en, '') IS NFC NORMALIZED"
        ).fetchone()[0]
        assert bad == 0, table


def test_province_area_and_district_tiling(conn: psycopg.Connection) -> None:
    province, union, districts, overlaps = conn.execute("""
        WITH p AS (SELECT geom FROM admin_units WHERE level = 'province'),
             d AS (SELECT code, geom FROM admin_units WHERE level = 'district')
        SELECT (SELECT ST_Area(geom::geography) FROM p),
               (SELECT ST_Area(ST_Union(geom)::geography) FROM d),
               (SELECT count(*) FROM d),
               (SELECT coalesce(sum(ST_Area(ST_Intersection(a.geom, b.geom)::geography)), 0)
                  FROM d a JOIN d b ON a.code < b.code AND ST_Intersects(a.geom, b.geom))
    """).fetchone()
    assert districts == 15
    assert abs(province / 1e6 - 4494.8) / 4494.8 < 0.01, province / 1e6
    assert abs(union - province) / province < 0.001
    assert overlaps / province < 0.001
    codes = [r[0] for r in conn.execute(
        "SELECT code FROM admin_units WHERE level = 'district' ORDER BY code").fetchall()]
    assert codes == [str(c) for c in range(794, 809)]


def test_regions_cover_exactly_their_districts(conn: psycopg.Connection) -> None:
    rows = conn.execute("""
        SELECT z.code,
               ST_Area(ST_SymDifference(z.geom, (
                   SELECT ST_Union(a.geom) FROM admin_units a
                   WHERE a.code IN (SELECT jsonb_array_elements_text(z.props -> 'member_units'))
               ))::geography) AS whole_outside,
               ST_Area(z.geom::geography) AS area
        FROM zones z WHERE z.kind = 'region' ORDER BY z.code
    """).fetchall()
    assert [r[0] for r in rows] == ["R1", "R2", "R3"]
    # each region is its whole member districts plus parts of split ones: it contains every whole member
    missing = conn.execute("""
        SELECT z.code, a.code FROM zones z
        JOIN admin_units a ON a.code IN (SELECT jsonb_array_elements_text(z.props -> 'member_units'))
        WHERE z.kind = 'region'
          AND ST_Area(ST_Difference(a.geom, z.geom)::geography) > 0.001 * ST_Area(a.geom::geography)
    """).fetchall()
    assert missing == []
    union, province = conn.execute("""
        SELECT (SELECT ST_Area(ST_Union(geom)::geography) FROM zones WHERE kind = 'region'),
               (SELECT ST_Area(geom::geography) FROM admin_units WHERE level = 'province')
    """).fetchone()
    assert abs(union - province) / province < 0.001


def test_ring_road_3_in_ben_luc(conn: psycopg.Connection) -> None:
    length_m, inside_m, covered = conn.execute("""
        SELECT ST_Length(p.geom::geography),
               ST_Length(ST_Intersection(p.geom, (SELECT geom FROM admin_units WHERE code = '803'))::geography),
               ST_CoveredBy(p.geom, (SELECT geom FROM admin_units WHERE code = '803'))
        FROM projects p
        WHERE p.name_vi ILIKE '%Vành đai 3%'
    """).fetchone()
    assert abs(length_m / 1000 - 6.84) / 6.84 < 0.02
    assert inside_m / length_m >= 0.95
    assert covered


def test_centre_is_tan_an(conn: psycopg.Connection) -> None:
    name = conn.execute(
        "SELECT name_vi FROM zones WHERE kind = 'centre' AND "
        "ST_Intersects(geom, ST_SetSRID(ST_MakePoint(106.413, 10.535), 4326))"
    ).fetchone()
    assert name and "Tân An" in name[0]


def test_every_feature_has_source_and_accuracy(conn: psycopg.Connection) -> None:
    for table in ("plans", "admin_units", "zones", "corridors", "axes", "projects"):
        missing = conn.execute(
            f"SELECT count(*) FROM {table} WHERE source IS NULL OR accuracy IS NULL"
        ).fetchone()[0]
        assert missing == 0, table
    assert conn.execute("SELECT count(*) FROM projects").fetchone()[0] >= 12
