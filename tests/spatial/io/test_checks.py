"""The staging checks (`spatial.io.checks`) on small stages built by hand: each test stages a few rows (source
number, row number, code text, WKT) in a transaction of the shared database, runs `check_stage` and pins what
it finds — which rows are rejected and why, in which order, what is repaired and into what, which rows lie
outside the plausible extent, the stage's extent — and what is left on the stage. Nothing is committed.

Geometries are in plain numbers (SRID 0, as the loader stages them); a "square" is a 1 × 1 box."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from spatial.io import checks
from spatial.io.checks import CheckResult, check_stage
from spatial.io.columns import Mapping
from spatial.io.stage import STAGE, StageField, create_stage
from spatial.layers import Layer, get_layer

CODE = StageField("ma", "f0", "text")
BY_FIELD = Mapping(fields={"code": CODE})
PARCELS = get_layer("parcels")  # MultiPolygon
AXES = get_layer("axes")  # MultiLineString
PROJECTS = get_layer("projects")  # Geometry: any type
PLANS = get_layer("plans")  # no geometry
POINTS = Layer("points", "Điểm", "Points", "a layer of points (none in the registry has them)", "Point")

BOWTIE = "POLYGON((0 0, 2 2, 2 0, 0 2, 0 0))"  # ST_MakeValid: two triangles, area 2
BOWTIE_FIXED = "MULTIPOLYGON(((0 2,1 1,0 0,0 2)),((2 0,1 1,2 2,2 0)))"
FLAT = "POLYGON((0 0, 1 1, 2 2, 0 0))"  # no area: ST_MakeValid leaves a line
SPIKE = "POLYGON((0 0, 2 0, 2 2, 0 2, 0 0, -1 -1, 0 0))"  # ST_MakeValid: a square and a line
NOTHING_LEFT = "; ST_MakeValid left nothing of the layer's geometry type"

Row = tuple[int, int, str | None, str | None]  # src, row_no, code text, WKT


def square(x: float, y: float) -> str:
    return f"POLYGON(({x} {y}, {x + 1} {y}, {x + 1} {y + 1}, {x} {y + 1}, {x} {y}))"


@pytest.fixture()
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    """A transaction with an empty stage (one text field, `ma`, as f0), rolled back afterwards."""
    with psycopg.connect(db_url) as connection:
        create_stage(connection, [CODE])
        yield connection
        connection.rollback()


def stage(conn: psycopg.Connection, *rows: Row) -> None:
    statement = sql.SQL("INSERT INTO {} (src, row_no, f0, geom) VALUES (%s, %s, %s, ST_GeomFromText(%s))")
    conn.cursor().executemany(statement.format(STAGE), rows)


def staged(conn: psycopg.Connection) -> list[tuple[int, int, str | None]]:
    """What is left on the stage: (src, row, WKT), in source order."""
    return [tuple(r) for r in conn.execute(
        sql.SQL("SELECT src, row_no, ST_AsText(geom) FROM {} ORDER BY src, row_no").format(STAGE))]


def check(conn: psycopg.Connection, layer: Layer = PARCELS, mapping: Mapping = BY_FIELD, *, strict: bool = False,
          plausible: tuple[float, float, float, float] | None = None, **options: bool) -> CheckResult:
    return check_stage(conn, layer, mapping, strict=strict, plausible=plausible, **options)


# geometries: null, empty, of another dimension than the layer's


def test_null_empty_and_wrong_type_geometries_are_rejected_with_their_reason(conn: psycopg.Connection) -> None:
    stage(conn,
          (1, 1, "a", square(0, 0)),
          (1, 2, "b", None),
          (1, 3, "c", "POLYGON EMPTY"),
          (1, 4, "d", "LINESTRING(0 0, 1 1)"),
          (1, 5, "e", "POINT(0 0)"),
          (1, 6, "f", "MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)))"),
          (1, 7, "g", f"GEOMETRYCOLLECTION({square(3, 3)})"),  # a collection passes: its parts are judged later
          (2, 1, "h", "MULTILINESTRING((0 0, 1 1))"))
    result = check(conn)
    assert result.rejects == [
        (1, 2, "b", "null geometry"),
        (1, 3, "c", "empty geometry"),
        (1, 4, "d", "geometry type LINESTRING does not fit the layer (MultiPolygon)"),
        (1, 5, "e", "geometry type POINT does not fit the layer (MultiPolygon)"),
        (2, 1, "h", "geometry type MULTILINESTRING does not fit the layer (MultiPolygon)"),
    ]
    assert (result.rejected, result.repaired) == (5, 0)
    assert [r[:2] for r in staged(conn)] == [(1, 1), (1, 6), (1, 7)]


def test_a_line_layer_rejects_polygons_and_points(conn: psycopg.Connection) -> None:
    stage(conn, (1, 1, "a", "LINESTRING(0 0, 1 1)"), (1, 2, "b", square(0, 0)),
          (1, 3, "c", "MULTILINESTRING((0 0, 1 1), (2 2, 3 3))"), (1, 4, "d", "MULTIPOINT(0 0, 1 1)"))
    result = check(conn, AXES)
    assert result.rejects == [(1, 2, "b", "geometry type POLYGON does not fit the layer (MultiLineString)"),
                              (1, 4, "d", "geometry type MULTIPOINT does not fit the layer (MultiLineString)")]
    assert [r[:2] for r in staged(conn)] == [(1, 1), (1, 3)]


def test_a_point_layer_rejects_lines_and_polygons(conn: psycopg.Connection) -> None:
    stage(conn, (1, 1, "a", "POINT(0 0)"), (1, 2, "b", "LINESTRING(0 0, 1 1)"), (1, 3, "c", "MULTIPOINT(0 0, 1 1)"),
          (1, 4, "d", square(0, 0)))
    result = check(conn, POINTS)
    assert result.rejects == [(1, 2, "b", "geometry type LINESTRING does not fit the layer (Point)"),
                              (1, 4, "d", "geometry type POLYGON does not fit the layer (Point)")]
    assert [r[:2] for r in staged(conn)] == [(1, 1), (1, 3)]


def test_a_layer_of_any_geometry_takes_every_type_but_not_null_or_empty(conn: psycopg.Connection) -> None:
    stage(conn, (1, 1, "a", "POINT(0 0)"), (1, 2, "b", "LINESTRING(0 0, 1 1)"), (1, 3, "c", square(0, 0)),
          (1, 4, "d", None), (1, 5, "e", "LINESTRING EMPTY"))
    result = check(conn, PROJECTS)
    assert result.rejects == [(1, 4, "d", "null geometry"), (1, 5, "e", "empty geometry")]
    assert [r[:2] for r in staged(conn)] == [(1, 1), (1, 2), (1, 3)]


# invalid geometries: repaired (kept as the layer's type), or rejected when strict


def test_invalid_polygons_are_repaired_into_polygons_only(conn: psycopg.Connection) -> None:
    stage(conn, (1, 1, "ok", square(5, 5)), (1, 2, "bowtie", BOWTIE), (1, 3, "spike", SPIKE),
          (1, 4, "flat", FLAT))
    result = check(conn)
    assert (result.repaired, result.rejected) == (2, 1)
    assert result.rejects == [(1, 4, "flat", "invalid geometry: Self-intersection[1 1]" + NOTHING_LEFT)]
    assert staged(conn) == [(1, 1, "POLYGON((5 5,6 5,6 6,5 6,5 5))"),
                            (1, 2, BOWTIE_FIXED),
                            (1, 3, "MULTIPOLYGON(((0 2,2 2,2 0,0 0,0 2)))")]  # the spike's line is dropped


def test_an_invalid_line_that_collapses_to_a_point_is_rejected(conn: psycopg.Connection) -> None:
    stage(conn, (1, 1, "a", "LINESTRING(1 1, 1 1)"), (1, 2, "b", "LINESTRING(0 0, 1 1)"))
    result = check(conn, AXES)
    assert result.rejects == [(1, 1, "a", "invalid geometry: Too few points in geometry component[1 1]" + NOTHING_LEFT)]
    assert (result.repaired, staged(conn)) == (0, [(1, 2, "LINESTRING(0 0,1 1)")])


def test_a_point_layer_keeps_the_points_of_a_repaired_collection(conn: psycopg.Connection) -> None:
    # a collection passes the type check; its repair keeps only points
    stage(conn, (1, 1, "a", "GEOMETRYCOLLECTION(POINT(5 5), LINESTRING(1 1, 1 1))"))
    result = check(conn, POINTS)
    assert (result.repaired, result.rejected, staged(conn)) == (1, 0, [(1, 1, "MULTIPOINT((5 5),(1 1))")])


def test_an_invalid_geometry_of_a_layer_of_any_type_keeps_whatever_st_makevalid_gives(
        conn: psycopg.Connection) -> None:
    stage(conn, (1, 1, "flat", FLAT), (1, 2, "spike", SPIKE))
    result = check(conn, PROJECTS)
    assert (result.repaired, result.rejected) == (2, 0)
    assert staged(conn) == [
        (1, 1, "MULTILINESTRING((0 0,1 1),(1 1,2 2))"),
        (1, 2, "GEOMETRYCOLLECTION(POLYGON((0 2,2 2,2 0,0 0,0 2)),LINESTRING(0 0,-1 -1))"),
    ]


def test_strict_rejects_invalid_geometries_instead_of_repairing_them(conn: psycopg.Connection) -> None:
    stage(conn, (1, 1, "ok", square(0, 0)), (1, 2, "bowtie", BOWTIE), (1, 3, "none", None))
    result = check(conn, strict=True)
    assert (result.repaired, result.rejected) == (0, 2)
    assert result.rejects == [(1, 2, "bowtie", "invalid geometry: Self-intersection[1 1]"),
                              (1, 3, "none", "null geometry")]
    assert [r[:2] for r in staged(conn)] == [(1, 1)]


@pytest.mark.parametrize("strict", [False, True])
def test_without_validation_invalid_geometries_are_left_to_the_layers_constraint(conn: psycopg.Connection,
                                                                                 strict: bool) -> None:
    stage(conn, (1, 1, "bowtie", BOWTIE), (1, 2, "none", None), (1, 3, "line", "LINESTRING(0 0, 1 1)"))
    result = check(conn, strict=strict, validate=False)
    assert (result.repaired, result.rejected) == (0, 2)
    assert result.rejects == [(1, 2, "none", "null geometry"),
                              (1, 3, "line", "geometry type LINESTRING does not fit the layer (MultiPolygon)")]
    assert staged(conn) == [(1, 1, "POLYGON((0 0,2 2,2 0,0 2,0 0))")]


def test_validation_is_the_default(conn: psycopg.Connection) -> None:
    stage(conn, (1, 1, "bowtie", BOWTIE))
    result = check_stage(conn, PARCELS, BY_FIELD, strict=False, plausible=None)
    assert (result.repaired, staged(conn)) == (1, [(1, 1, BOWTIE_FIXED)])


# codes: empty ones and later duplicates are rejected


def test_empty_codes_are_rejected_and_later_duplicates_name_the_first_row(conn: psycopg.Connection) -> None:
    stage(conn,
          (1, 1, "A", square(0, 0)),
          (1, 2, None, square(0, 0)),
          (1, 3, "  ", square(0, 0)),  # blank text is no code
          (1, 4, "A", square(0, 0)),
          (1, 5, " B ", square(0, 0)),  # the same code as "B" (blanks around are trimmed)
          (1, 6, None, square(0, 0)),  # a second empty code is no duplicate
          (1, 7, "O'Hara", square(0, 0)),
          (1, 8, "O'Hara", square(0, 0)),
          (2, 1, "A", square(0, 0)),  # another source: its rows come after the first source's
          (2, 2, "B", square(0, 0)))
    result = check(conn)
    assert result.rejects == [
        (1, 2, None, "no code (empty code field)"),
        (1, 3, None, "no code (empty code field)"),
        (1, 4, "A", "duplicate code 'A' (first at row 1)"),
        (1, 6, None, "no code (empty code field)"),
        (1, 8, "O'Hara", "duplicate code 'O''Hara' (first at row 7)"),
        (2, 1, "A", "duplicate code 'A' (first at row 1)"),
        (2, 2, "B", "duplicate code 'B' (first at row 5)"),
    ]
    assert result.rejected == 7
    assert [r[:2] for r in staged(conn)] == [(1, 1), (1, 5), (1, 7)]


def test_the_first_of_duplicates_is_the_first_in_source_order(conn: psycopg.Connection) -> None:
    stage(conn, (2, 1, "Z", square(0, 0)), (1, 9, "Z", square(0, 0)), (1, 10, "Y", square(0, 0)))
    assert check(conn).rejects == [(2, 1, "Z", "duplicate code 'Z' (first at row 9)")]
    assert [r[:2] for r in staged(conn)] == [(1, 9), (1, 10)]


def test_one_pair_of_duplicates_is_found(conn: psycopg.Connection) -> None:
    stage(conn, (1, 1, "A", square(0, 0)), (1, 2, "B", square(0, 0)), (1, 3, "B", square(0, 0)))
    assert check(conn).rejects == [(1, 3, "B", "duplicate code 'B' (first at row 2)")]


def test_a_code_set_for_every_row_is_a_duplicate_after_the_first(conn: psycopg.Connection) -> None:
    stage(conn, (1, 1, "x", square(0, 0)), (1, 2, "y", square(0, 0)), (1, 3, "z", None))
    result = check(conn, mapping=Mapping(fields={}, constants={"code": "K-1"}))
    assert result.rejects == [(1, 2, "K-1", "duplicate code 'K-1' (first at row 1)"),
                              (1, 3, "K-1", "duplicate code 'K-1' (first at row 1)"),
                              (1, 3, "K-1", "null geometry")]
    assert [r[:2] for r in staged(conn)] == [(1, 1)]


def test_generated_codes_name_the_rejected_rows(conn: psycopg.Connection) -> None:
    stage(conn, (1, 1, None, square(0, 0)), (1, 2, None, None), (2, 1, None, "POINT(0 0)"))
    result = check(conn, mapping=Mapping(fields={}, stems=["north", "south"]))
    assert result.rejects == [(1, 2, "north-2", "null geometry"),
                              (2, 1, "south-1", "geometry type POINT does not fit the layer (MultiPolygon)")]


def test_a_layer_without_geometry_checks_codes_only(conn: psycopg.Connection) -> None:
    stage(conn, (1, 1, "P1", None), (1, 2, "P1", None), (1, 3, "P2", "LINESTRING(500 500, 501 501)"))
    result = check(conn, PLANS, plausible=(105.0, 10.0, 107.0, 12.0))
    assert result.rejects == [(1, 2, "P1", "duplicate code 'P1' (first at row 1)")]
    assert (result.outside, result.outside_rows, result.extent) == (0, [], None)
    assert [r[:2] for r in staged(conn)] == [(1, 1), (1, 3)]


# counts and the list of rejections


def test_a_row_with_two_faults_is_listed_twice_and_counted_once(conn: psycopg.Connection) -> None:
    stage(conn, (1, 1, None, None), (1, 2, "a", square(0, 0)))
    result = check(conn)
    assert result.rejects == [(1, 1, None, "no code (empty code field)"), (1, 1, None, "null geometry")]
    assert result.rejected == 1
    assert [r[:2] for r in staged(conn)] == [(1, 2)]


def test_a_repaired_row_rejected_for_its_code_counts_as_rejected_only(conn: psycopg.Connection) -> None:
    stage(conn, (1, 1, "a", BOWTIE), (1, 2, None, BOWTIE), (1, 3, "a", square(0, 0)))
    result = check(conn)
    assert (result.repaired, result.rejected) == (1, 2)
    assert result.rejects == [(1, 2, None, "no code (empty code field)"),
                              (1, 3, "a", "duplicate code 'a' (first at row 1)")]
    assert staged(conn) == [(1, 1, BOWTIE_FIXED)]


def test_every_rejection_is_counted_and_the_first_ones_listed(conn: psycopg.Connection,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "REJECT_LIST_LIMIT", 2)
    stage(conn, (1, 1, "a", None), (1, 2, "b", square(0, 0)), (1, 3, "c", None), (1, 4, "d", None),
          (1, 5, "e", BOWTIE))
    result = check(conn)
    assert (result.rejected, result.repaired) == (3, 1)
    assert result.rejects == [(1, 1, "a", "null geometry"), (1, 3, "c", "null geometry")]
    assert [r[:2] for r in staged(conn)] == [(1, 2), (1, 5)]


def test_a_clean_stage_is_left_as_it_was(conn: psycopg.Connection) -> None:
    stage(conn, (1, 1, "a", square(0, 0)), (1, 2, "b", "MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)))"))
    before = staged(conn)
    result = check(conn)
    assert (result.rejected, result.repaired, result.rejects) == (0, 0, [])
    assert staged(conn) == before


# the plausible extent and the stage's extent


def test_rows_outside_the_plausible_extent_are_found_in_source_order(conn: psycopg.Connection) -> None:
    stage(conn,
          (2, 1, "far", square(2, 48)),
          (1, 1, "in", square(105.5, 10.5)),
          (1, 2, "across the edge", square(104.5, 10.5)),
          (1, 3, "touching the corner", square(104, 9)),
          (1, 4, "west", square(103, 10.5)),
          (1, 5, "north", square(106, 12.5)),
          (1, 6, "rejected far away", "POINT(2 48)"))
    result = check(conn, plausible=(105.0, 10.0, 107.0, 12.0))
    assert (result.outside, result.outside_rows) == (3, [(1, 4), (1, 5), (2, 1)])
    assert result.extent == (2.0, 9.0, 107.0, 49.0)


def test_rows_outside_are_all_counted_and_the_first_ones_listed(conn: psycopg.Connection,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "REJECT_LIST_LIMIT", 1)
    stage(conn, (1, 1, "a", square(0, 0)), (1, 2, "b", square(200, 0)))
    result = check(conn, plausible=(105.0, 10.0, 107.0, 12.0))
    assert (result.outside, result.outside_rows) == (2, [(1, 1)])


def test_without_a_plausible_extent_nothing_is_outside(conn: psycopg.Connection) -> None:
    stage(conn, (1, 1, "a", square(-180, -90)), (1, 2, "b", "POINT(300 300)"), (1, 3, "c", "LINESTRING(5 5, 6 6)"))
    result = check(conn, PROJECTS)
    assert (result.outside, result.outside_rows) == (0, [])
    assert result.extent == (-180.0, -90.0, 300.0, 300.0)


def test_the_extent_is_of_the_rows_left_and_none_when_none_are(conn: psycopg.Connection) -> None:
    stage(conn, (1, 1, "a", None), (1, 2, "b", "POLYGON EMPTY"))
    result = check(conn, plausible=(105.0, 10.0, 107.0, 12.0))
    assert (result.rejected, result.outside, result.extent) == (2, 0, None)
    assert staged(conn) == []
