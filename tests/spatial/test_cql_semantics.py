"""What CQL2 filters select, run against PostgreSQL on a handful of projects made for it: every operator at
its edges (equal values, interval ends, open intervals, NULLs), literals on either side, how literals are
typed (integer, numeric, date, timestamp) and what is refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import asyncpg
import psycopg
import pytest

from spatial import cql
from spatial.crs import DEFAULT
from spatial.errors import InvalidParameter
from spatial.layers import get_layer
from spatial.queryables import queryables
from spatial.sqlbuild import Params

# code, name_vi, category, status, start_year, end_year, investment_vnd_bn, length_km, geometry, created, updated
PROJECTS = [
    ("P1", "Đường vành đai 3", "ring_road", "planned", 2019, 2025, "100.5", "10", "POINT(106.0 10.5)",
     "2019-01-01T00:00:00Z", "2019-06-01T00:00:00Z"),
    ("P2", "Cảng Long An", "port", "operating", 2020, 2024, "2000", None, "POINT(106.5 10.6)",
     "2019-03-01T00:00:00Z", "2020-01-01T00:00:00Z"),
    ("P3", "Đường cao tốc", "expressway", "under_construction", 2021, 2030, "0.1", "50.25",
     "LINESTRING(106.1 10.4, 106.3 10.6)", "2019-06-01T00:00:00Z", "2020-06-15T12:00:00Z"),
    ("P4", "Khu công nghiệp", "industrial_park", "completed", 2023, None, None, None,
     "POLYGON((106.2 10.5, 106.3 10.5, 106.3 10.6, 106.2 10.6, 106.2 10.5))",
     "2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z"),
    ("P5", "Dự án khác", "other", "planned", None, None, "3", None, "POINT(106.25 10.55)",
     "2021-06-01T00:00:00Z", "2022-01-01T00:00:00Z"),
]
ALL = ["P1", "P2", "P3", "P4", "P5"]
# P2 was last updated at the start of INTERVAL, P3 inside it, P4 at its end; P1 before it, P5 after it
INTERVAL = "INTERVAL('2020-01-01T00:00:00Z', '2021-01-01T00:00:00Z')"


@pytest.fixture(scope="module")
def cql_db(make_database: Callable[[], str]) -> str:
    url = make_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM projects")
        for row in PROJECTS:
            conn.execute(
                "INSERT INTO projects (code, name_vi, category, status, start_year, end_year, investment_vnd_bn, "
                "length_km, geom, created_at, updated_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, ST_GeomFromText(%s, 4326), %s, %s)", row)
    return url


def compile_filter(text: str, lang: str = "cql2-text", layer: str = "projects") -> tuple[str, list[Any]]:
    params = Params()
    sql = cql.compile_filter(cql.parse(text, lang), queryables(get_layer(layer)), params, DEFAULT)
    return sql, params.values


def select(url: str, text: str, lang: str = "cql2-text", layer: str = "projects",
           time_zone: str = "UTC") -> list[str]:
    """Codes of the rows of `layer` the filter selects, in code order."""
    sql, values = compile_filter(text, lang, layer)

    async def go() -> list[str]:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(f"SET TIME ZONE '{time_zone}'")
            rows = await conn.fetch(f"SELECT t.code FROM {layer} t WHERE {sql} ORDER BY t.code", *values)
        finally:
            await conn.close()
        return [r["code"] for r in rows]
    return asyncio.run(go())


def refused(text: str, lang: str = "cql2-text", layer: str = "projects") -> str:
    with pytest.raises(InvalidParameter) as error:
        compile_filter(text, lang, layer)
    assert error.value.parameter == "filter"
    return error.value.detail


# -- comparisons ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("start_year > 2020", ["P3", "P4"]),
    ("start_year >= 2020", ["P2", "P3", "P4"]),
    ("start_year < 2020", ["P1"]),
    ("start_year <= 2020", ["P1", "P2"]),
    ("start_year = 2020", ["P2"]),
    ("start_year <> 2020", ["P1", "P3", "P4"]),  # NULL is neither
    # the literal on the left
    ("2020 < start_year", ["P3", "P4"]),
    ("2020 >= start_year", ["P1", "P2"]),
    ("2020 = start_year", ["P2"]),
    ("'Cảng Long An' = name_vi", ["P2"]),
    ("'2020-03-01T00:00:00Z' > updated_at", ["P1", "P2"]),
    # two properties
    ("start_year < end_year", ["P1", "P2", "P3"]),
    ("end_year = start_year", []),
])
def test_comparisons(cql_db: str, text: str, expected: list[str]) -> None:
    assert select(cql_db, text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("start_year = 2020.0", ["P2"]),
    ("start_year = 2020.5", []),  # a fraction compared with an integer column: no row, no error
    ("start_year < 2020.5", ["P1", "P2"]),
    ("investment_vnd_bn = 0.1", ["P3"]),  # numeric compared exactly, not as a float
    ("investment_vnd_bn = 100.5", ["P1"]),
    ("investment_vnd_bn > 100", ["P1", "P2"]),
    ("investment_vnd_bn >= 3", ["P1", "P2", "P5"]),
    ("length_km = 50.25", ["P3"]),
    ("id > -1", ALL),
])
def test_numbers(cql_db: str, text: str, expected: list[str]) -> None:
    assert select(cql_db, text) == expected


def test_an_integer_column_is_compared_with_an_integer() -> None:
    # a whole number against an integer column binds as bigint (a numeric would cast the column and
    # leave its index unused); a fraction, or any number against a numeric column, binds as numeric
    _, values = compile_filter("id = 700000 AND start_year < 2020.5 AND investment_vnd_bn = 3")
    assert values == [700000, 2020.5, 3]
    assert [type(v).__name__ for v in values] == ["int", "Decimal", "Decimal"]


@pytest.mark.parametrize(("text", "expected"), [
    ("id < 100000000000000000000", ALL),  # beyond bigint: compared as numeric, not an overflow
    ("id < 9223372036854775808", ALL),  # 2^63, the first number beyond bigint
    ("id > -9223372036854775808", ALL),
    ("investment_vnd_bn < 100000000000000000000", ["P1", "P2", "P3", "P5"]),
])
def test_numbers_beyond_bigint(cql_db: str, text: str, expected: list[str]) -> None:
    assert select(cql_db, text) == expected


def test_the_primary_key_index_serves_an_id_filter(cql_db: str) -> None:
    sql, values = compile_filter("id = 700000")

    async def plan() -> str:
        conn = await asyncpg.connect(cql_db)
        try:
            await conn.execute("SET enable_seqscan = off")
            rows = await conn.fetch(f"EXPLAIN SELECT t.code FROM projects t WHERE {sql}", *values)
        finally:
            await conn.close()
        return "\n".join(r[0] for r in rows)
    assert "projects_pkey" in asyncio.run(plan())


@pytest.mark.parametrize(("text", "expected"), [
    ("end_year - start_year > 6", ["P3"]),
    ("start_year + 4 = end_year", ["P2"]),
    ("start_year * 2 > 4042", ["P4"]),
    ("end_year / 2 > 1012", ["P1", "P3"]),  # 2025 / 2 = 1012.5: a numeric division, not an integer one
    ("2 * start_year > 4042", ["P4"]),
])
def test_arithmetic(cql_db: str, text: str, expected: list[str]) -> None:
    assert select(cql_db, text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("updated_at > '2020-06-01T00:00:00Z'", ["P3", "P4", "P5"]),
    ("updated_at >= TIMESTAMP('2021-01-01T00:00:00Z')", ["P4", "P5"]),
    ("updated_at = TIMESTAMP('2020-01-01T07:00:00+07:00')", ["P2"]),  # the same instant, another zone
    ("created_at < DATE('2019-03-02')", ["P1", "P2"]),
])
def test_timestamps(cql_db: str, text: str, expected: list[str]) -> None:
    assert select(cql_db, text) == expected


@pytest.mark.parametrize(("text", "lang", "expected"), [
    # a typed literal types the plain literal on the other side
    ("DATE('2020-01-01') < '2020-06-01'", "cql2-text", ALL),
    ("'2020-06-01' < DATE('2020-01-01')", "cql2-text", []),
    ("TIMESTAMP('2020-01-01T00:00:00Z') = '2020-01-01T07:00:00+07:00'", "cql2-text", ALL),
    ("TRUE = TRUE", "cql2-text", ALL),
    ("TRUE = FALSE", "cql2-text", []),
    ("'a' < 'b'", "cql2-text", ALL),
    ('{"op": "=", "args": [{"property": "start_year"}, null]}', "cql2-json", []),  # = NULL is never true
])
def test_literals_on_both_sides(cql_db: str, text: str, lang: str, expected: list[str]) -> None:
    assert select(cql_db, text, lang) == expected


@pytest.mark.parametrize(("text", "count"), [
    ("decision_date = '2023-06-13'", 1),
    ("decision_date = DATE('2023-06-13')", 1),
    ("decision_date > '2023-06-13'", 0),
    ("'2023-06-13' >= decision_date", 1),
    ("decision_date BETWEEN '2023-01-01' AND '2023-06-13'", 1),
    ("decision_date BETWEEN '2023-06-14' AND '2023-12-31'", 0),
])
def test_dates(cql_db: str, text: str, count: int) -> None:
    assert len(select(cql_db, text, layer="plans")) == count


# -- text ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("name_vi LIKE 'Đường%'", ["P1", "P3"]),
    ("name_vi LIKE 'đường%'", []),
    ("CASEI(name_vi) LIKE CASEI('đường%')", ["P1", "P3"]),
    ("LOWER(category) = 'port'", ["P2"]),
    ("UPPER(category) = 'PORT'", ["P2"]),
    ("ACCENTI(name_vi) = ACCENTI('Cang Long An')", ["P2"]),
    ("ACCENTI(CASEI(name_vi)) LIKE ACCENTI(CASEI('duong%'))", ["P1", "P3"]),
    ("start_year LIKE '202%'", ["P2", "P3", "P4"]),  # any value as text
    ("name_vi NOT LIKE '%Đường%'", ["P2", "P4", "P5"]),
])
def test_text(cql_db: str, text: str, expected: list[str]) -> None:
    assert select(cql_db, text) == expected


# -- IN, BETWEEN, IS NULL --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("category IN ('port', 'expressway')", ["P2", "P3"]),
    ("start_year IN (2019, 2023)", ["P1", "P4"]),
    ("investment_vnd_bn IN (0.1, 3)", ["P3", "P5"]),
    ("NOT category IN ('port')", ["P1", "P3", "P4", "P5"]),
    ("LOWER(category) IN ('port', 'other')", ["P2", "P5"]),
    ("updated_at IN ('2020-01-01T00:00:00Z', '2021-01-01T00:00:00Z')", ["P2", "P4"]),
    ("'port' IN ('port', 'road')", ALL),
])
def test_in(cql_db: str, text: str, expected: list[str]) -> None:
    assert select(cql_db, text) == expected


def test_an_empty_in_list_selects_nothing_and_its_negation_everything(cql_db: str) -> None:
    empty = {"op": "in", "args": [{"property": "category"}, []]}
    assert select(cql_db, json.dumps(empty), "cql2-json") == []
    assert select(cql_db, json.dumps({"op": "not", "args": [empty]}), "cql2-json") == ALL
    either = {"op": "or", "args": [empty, {"op": "=", "args": [{"property": "code"}, "P4"]}]}
    assert select(cql_db, json.dumps(either), "cql2-json") == ["P4"]


def test_in_needs_a_list() -> None:
    assert "list" in refused('{"op": "in", "args": [{"property": "start_year"}, 5]}', "cql2-json")


@pytest.mark.parametrize(("text", "expected"), [
    ("start_year BETWEEN 2020 AND 2021", ["P2", "P3"]),  # both bounds included
    ("start_year BETWEEN 2019.5 AND 2020.5", ["P2"]),
    ("investment_vnd_bn BETWEEN 0.1 AND 100.5", ["P1", "P3", "P5"]),
    ("updated_at BETWEEN '2020-01-01T00:00:00Z' AND '2021-01-01T00:00:00Z'", ["P2", "P3", "P4"]),
    ("end_year - start_year BETWEEN 4 AND 6", ["P1", "P2"]),
    ("start_year NOT BETWEEN 2020 AND 2021", ["P1", "P4"]),
    ("5 BETWEEN 1 AND 10", ALL),
    # text functions are text, whatever BETWEEN would otherwise take
    ("LOWER(category) BETWEEN 'o' AND 'q'", ["P2", "P5"]),
    ("CASEI(category) BETWEEN 'o' AND 'q'", ["P2", "P5"]),
    ("UPPER(category) BETWEEN 'O' AND 'Q'", ["P2", "P5"]),
    ("ACCENTI(category) BETWEEN 'o' AND 'q'", ["P2", "P5"]),
    ("15 BETWEEN 1 AND 10", []),
])
def test_between(cql_db: str, text: str, expected: list[str]) -> None:
    assert select(cql_db, text) == expected


def test_between_is_numeric_unless_the_value_says_otherwise() -> None:
    assert refused("'b' BETWEEN 'a' AND 'c'") == "filter: 'b' is text but the property is a number"
    assert "'a' is text but property 'start_year' is a number" in refused("start_year BETWEEN 'a' AND 'c'")
    assert "BETWEEN" in refused('{"op": "between", "args": [{"property": "start_year"}, 1]}', "cql2-json")


@pytest.mark.parametrize(("text", "expected"), [
    ("end_year IS NULL", ["P4", "P5"]),
    ("end_year IS NOT NULL", ["P1", "P2", "P3"]),
    ("length_km IS NULL AND investment_vnd_bn IS NULL", ["P4"]),
])
def test_is_null(cql_db: str, text: str, expected: list[str]) -> None:
    assert select(cql_db, text) == expected


# -- boolean structure -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("start_year > 2020 AND category = 'port'", []),
    ("start_year > 2020 OR category = 'port'", ["P2", "P3", "P4"]),
    ("NOT start_year > 2020", ["P1", "P2"]),  # NOT of NULL is NULL: P5 stays out
    ("NOT (start_year > 2020 OR status = 'planned')", ["P2"]),
    ("start_year > 2019 AND start_year < 2023 AND status <> 'operating'", ["P3"]),
    ("start_year > 2020 AND TRUE", ["P3", "P4"]),
    ("start_year > 2020 AND FALSE", []),
    ("start_year > 2020 OR TRUE", ALL),
    ("start_year > 2020 OR FALSE", ["P3", "P4"]),
    ("NOT FALSE", ALL),
    ("NOT TRUE", []),
])
def test_and_or_not(cql_db: str, text: str, expected: list[str]) -> None:
    assert select(cql_db, text) == expected


@pytest.mark.parametrize(("text", "lang"), [
    ("start_year > 2020 AND 1", "cql2-text"),
    ('{"op": "not", "args": [7]}', "cql2-json"),
    ('{"op": "or", "args": ["P1", {"op": "=", "args": [{"property": "code"}, "P1"]}]}', "cql2-json"),
    ('{"op": "and", "args": [{"op": "=", "args": [{"property": "code"}, "P1"]}, {"property": "code"}]}',
     "cql2-json"),
])
def test_a_bare_value_is_not_a_predicate(text: str, lang: str) -> None:
    assert "expected a predicate" in refused(text, lang)


# -- spatial ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("S_INTERSECTS(geometry, POINT(106.0 10.5))", ["P1"]),
    ("S_INTERSECTS(POINT(106.25 10.55), geometry)", ["P4", "P5"]),
    ("S_WITHIN(geometry, BBOX(106.15, 10.45, 106.35, 10.65))", ["P4", "P5"]),
    ("S_CONTAINS(BBOX(106.15, 10.45, 106.35, 10.65), geometry)", ["P4", "P5"]),
    ("S_CONTAINS(geometry, POINT(106.25 10.55))", ["P4", "P5"]),  # P5 is that point
    ("S_DISJOINT(geometry, BBOX(106.15, 10.45, 106.35, 10.65))", ["P1", "P2"]),
    ("S_CROSSES(geometry, BBOX(106.15, 10.45, 106.35, 10.65))", ["P3"]),
    ("S_TOUCHES(geometry, POINT(106.2 10.55))", ["P4"]),
    ("S_OVERLAPS(geometry, BBOX(106.25, 10.45, 106.35, 10.65))", ["P4"]),
    ("S_EQUALS(geometry, POINT(106.5 10.6))", ["P2"]),
])
def test_spatial(cql_db: str, text: str, expected: list[str]) -> None:
    assert select(cql_db, text) == expected


@pytest.mark.parametrize(("text", "needle"), [
    ("S_INTERSECTS(name_vi, POINT(106 10))", "'name_vi' is not a geometry"),
    ("S_INTERSECTS(geometry, 'x')", "filter: expected a geometry, got 'x'"),
    ("S_INTERSECTS(geometry, 'a type')", "filter: expected a geometry, got 'a type'"),
    ("geometry = 'x'", "geometry property 'geometry' used as a value"),
])
def test_spatial_refusals(text: str, needle: str) -> None:
    assert needle in refused(text)


# -- temporal: a property (an instant) against INTERVAL ---------------------------------------------------------
@pytest.mark.parametrize(("op", "expected"), [
    ("T_BEFORE", ["P1"]),
    ("T_AFTER", ["P5"]),
    ("T_INTERSECTS", ["P2", "P3", "P4"]),
    ("T_DISJOINT", ["P1", "P5"]),
    ("T_DURING", ["P3"]),  # strictly inside: not at either end
    ("T_STARTS", ["P2"]),
    ("T_FINISHES", ["P4"]),
    ("T_MEETS", ["P2"]),
    ("T_METBY", ["P4"]),
    ("T_EQUALS", []),
    ("T_CONTAINS", []),  # an instant contains no interval
    ("T_OVERLAPS", []),
    ("T_OVERLAPPEDBY", []),
])
def test_instant_against_an_interval(cql_db: str, op: str, expected: list[str]) -> None:
    assert select(cql_db, f"{op}(updated_at, {INTERVAL})") == expected


@pytest.mark.parametrize(("op", "expected"), [
    ("T_CONTAINS", ["P3"]),
    ("T_STARTEDBY", ["P2"]),
    ("T_FINISHEDBY", ["P4"]),
    ("T_INTERSECTS", ["P2", "P3", "P4"]),
    ("T_AFTER", ["P1"]),
    ("T_BEFORE", ["P5"]),
])
def test_interval_against_an_instant(cql_db: str, op: str, expected: list[str]) -> None:
    assert select(cql_db, f"{op}({INTERVAL}, updated_at)") == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("T_EQUALS(updated_at, TIMESTAMP('2020-06-15T12:00:00Z'))", ["P3"]),
    ("T_BEFORE(updated_at, TIMESTAMP('2020-01-01T00:00:00Z'))", ["P1"]),
    ("T_AFTER(updated_at, DATE('2021-01-01'))", ["P5"]),
    ("T_DURING(updated_at, INTERVAL('..', '2020-06-15T12:00:00Z'))", ["P1", "P2"]),
    ("T_DURING(updated_at, INTERVAL('2020-06-15T12:00:00Z', '..'))", ["P4", "P5"]),
    ("T_DURING(updated_at, INTERVAL('2020-01-01', '2021-01-01'))", ["P3"]),  # dates
    ("T_INTERSECTS(updated_at, INTERVAL('2019-06-01', '2020-01-01'))", ["P1", "P2"]),
    ("T_DURING(updated_at, INTERVAL(DATE('2020-01-01'), TIMESTAMP('2021-01-01T00:00:00Z')))", ["P3"]),
    # the interval each project has existed in, against an instant and another interval
    ("T_INTERSECTS(INTERVAL(created_at, updated_at), TIMESTAMP('2019-05-01T00:00:00Z'))", ["P1", "P2"]),
    ("T_DURING(INTERVAL(created_at, updated_at), INTERVAL('2019-02-01T00:00:00Z', '2020-07-01T00:00:00Z'))",
     ["P2", "P3"]),
    ("T_OVERLAPS(INTERVAL(created_at, updated_at), INTERVAL('2019-05-01T00:00:00Z', '2020-07-01T00:00:00Z'))",
     ["P1", "P2"]),
    ("T_OVERLAPPEDBY(INTERVAL(created_at, updated_at), INTERVAL('2019-05-01T00:00:00Z', '2020-07-01T00:00:00Z'))",
     ["P4"]),
    ("T_EQUALS(INTERVAL(created_at, updated_at), INTERVAL('2020-01-01T00:00:00Z', '2021-01-01T00:00:00Z'))",
     ["P4"]),
    ("T_MEETS(INTERVAL(created_at, updated_at), INTERVAL('2021-01-01T00:00:00Z', '..'))", ["P4"]),
    ("T_METBY(INTERVAL(created_at, updated_at), INTERVAL('..', '2020-01-01T00:00:00Z'))", ["P4"]),
    ("T_STARTS(INTERVAL(created_at, updated_at), INTERVAL('2020-01-01T00:00:00Z', '2022-01-01T00:00:00Z'))",
     ["P4"]),
    ("T_FINISHES(INTERVAL(created_at, updated_at), INTERVAL('2018-01-01T00:00:00Z', '2021-01-01T00:00:00Z'))",
     ["P4"]),
])
def test_temporal_literals_and_intervals(cql_db: str, text: str, expected: list[str]) -> None:
    assert select(cql_db, text) == expected


def test_a_date_in_an_interval_is_midnight_in_the_sessions_time_zone(cql_db: str) -> None:
    # P2 changed at 2020-01-01 00:00 UTC, 07:00 in Vietnam: inside 2020-01-01 there, at its very start in UTC
    text = "T_DURING(updated_at, INTERVAL('2020-01-01', '2021-01-01'))"
    assert select(cql_db, text, time_zone="Asia/Ho_Chi_Minh") == ["P2", "P3"]
    assert select(cql_db, text, time_zone="UTC") == ["P3"]


@pytest.mark.parametrize(("text", "lang", "needle"), [
    ("T_AFTER(start_year, DATE('2020-01-01'))", "cql2-text", "'start_year' is not temporal"),
    ("T_AFTER(updated_at, DATE('2020-13-45'))", "cql2-text", 'filter: bad date/time {"date":"2020-13-45"}'),
    ("T_AFTER(updated_at, 2020)", "cql2-text", "filter: expected a time instant or interval, got 2020.0"),
    ("T_AFTER(updated_at, INTERVAL('property', '..'))", "cql2-text", 'filter: bad date/time {"date":"property"}'),
    ('{"op": "t_foo", "args": [{"property": "updated_at"}, {"timestamp": "2020-01-01T00:00:00Z"}]}', "cql2-json",
     "unsupported temporal operator 't_foo'"),
])
def test_temporal_refusals(text: str, lang: str, needle: str) -> None:
    assert needle in refused(text, lang)


# -- typing and refusals -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "needle"), [
    ("name_vi = 3", "3.0 is a number but property 'name_vi' is text"),
    ("3 = name_vi", "property 'name_vi' is text"),
    ("start_year = 'soon'", "'soon' is text but property 'start_year' is a number"),
    ("'soon' < start_year", "property 'start_year' is a number"),
    ("investment_vnd_bn IN ('a')", "property 'investment_vnd_bn' is a number"),
    ("updated_at > 5", "property 'updated_at' is timestamp"),
    ("colour = 'red'", "unknown property 'colour'; queryables: id, code, name_vi"),
    ("CASEI(name_vi) = 5", "is a number but"),
    ("LOWER(name_vi) = 5", "is a number but"),
    ("UPPER(name_vi) = 5", "is a number but"),
    ("ACCENTI(name_vi) = 5", "is a number but"),
    ("start_year + 1 = 'x'", "'x' is text but"),
    ("start_year * 2 < 'x'", "'x' is text but"),
    ("TIMESTAMP('2020-01-01T00:00:00Z') = 5", "is a number but"),
    ("DATE('2020-01-01') = 5", "is a number but"),
    ("5 IN ('a', 'b')", "5.0 is a number but the property is text"),
    ("start_year + 'x' > 1", "'x' is text but"),
    ("'x' * start_year > 1", "'x' is text but"),
    ("CASEI(5) = 'x'", "5.0 is a number but"),
    ("UPPER(5) = 'X'", "5.0 is a number but"),
    ("ACCENTI(5) = 'x'", "5.0 is a number but"),
])
def test_literals_must_fit_the_property(text: str, needle: str) -> None:
    assert needle in refused(text)


@pytest.mark.parametrize(("tree", "needle"), [
    ({"op": "foo", "args": []}, "unsupported CQL2 operator 'foo'"),
    ({"op": "=", "args": [{"property": "start_year"}, {"op": "abs", "args": [1]}]},
     'filter: unsupported expression {"op":"abs","args":[1.0]}'),
    ({"op": "=", "args": [{"property": "start_year"}, [1]]}, "unsupported value [1.0]"),
    ({"op": "=", "args": [{"property": "start_year"}]}, "takes two arguments"),
    ({"op": "like", "args": [{"property": "name_vi"}, "a", "b"]}, "takes two arguments"),
])
def test_unsupported_trees(tree: dict[str, Any], needle: str) -> None:
    assert needle in refused(json.dumps(tree), "cql2-json")


def test_literals_without_a_property_are_typed_by_the_other_side_or_as_text() -> None:
    assert refused("5 = 'x'") == "filter: 5.0 is a number but the property is text"
    assert "5.0 is a number but" in refused('{"op": "like", "args": [{"property": "name_vi"}, 5]}', "cql2-json")
    assert "5.0 is a number but" in refused('{"op": "like", "args": [5, "5%"]}', "cql2-json")


def test_filter_lang() -> None:
    assert cql.parse("start_year > 1", "CQL2-TEXT") == cql.parse("start_year > 1", None)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameter) as error:
        cql.parse("start_year > 1", "sql")
    assert error.value.parameter == "filter-lang" and "'sql'" in error.value.detail
    with pytest.raises(InvalidParameter) as syntax:
        cql.parse("{not json", "cql2-json")
    assert syntax.value.parameter == "filter" and "(cql2-json)" in syntax.value.detail
    with pytest.raises(InvalidParameter) as text:
        cql.parse("kind = = 'x'", "cql2-text")
    # the parser's own words, its lines joined with single spaces
    assert text.value.detail.startswith("filter: CQL2 syntax error (cql2-text): --> 1:8 | 1 | kind = = 'x' | ^")
    assert "= expected GEOMETRY, Identifier," in text.value.detail


@pytest.mark.parametrize("text", ["1", "NULL", "'x'"])
def test_a_filter_must_be_a_predicate(text: str) -> None:
    with pytest.raises(InvalidParameter) as error:
        cql.parse(text, "cql2-text")
    assert error.value.parameter == "filter"
    assert error.value.detail == "filter: a CQL2 filter must be a boolean expression"


@pytest.mark.parametrize(("text", "tree"), [("TRUE", True), ("false", False)])
def test_a_boolean_literal_is_a_whole_filter(text: str, tree: bool) -> None:
    """CQL2's booleanPrimary includes booleanLiteral (/conf/basic-cql2/boolean): TRUE selects everything."""
    assert cql.parse(text, "cql2-text") is tree and cql.parse(text.lower(), "cql2-json") is tree


def test_long_values_are_cut_in_messages() -> None:
    detail = refused(json.dumps({"op": "not", "args": ["x" * 500]}), "cql2-json")
    assert detail.endswith("…") and len(detail) < 200
