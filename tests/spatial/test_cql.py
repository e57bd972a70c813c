"""CQL2 parsing and compilation without a server: every literal bound, identifiers from the registry."""

from __future__ import annotations

import json
from datetime import date

import pytest

from spatial import cql
from spatial.crs import DEFAULT
from spatial.errors import SpatialInputError
from spatial.layers import get_layer
from spatial.queryables import queryables
from spatial.sqlbuild import Params


def compile_text(text: str, layer: str = "projects") -> tuple[str, list[object]]:
    params = Params()
    sql = cql.compile_filter(cql.parse(text, "cql2-text"), queryables(get_layer(layer)), params, DEFAULT)
    return sql, params.values


def test_values_are_bound_never_inlined() -> None:
    sql, values = compile_text("name_vi = 'x''; DROP TABLE zones; --' AND start_year > 2020")
    assert "DROP" not in sql and "2020" not in sql
    assert values[0] == "x'; DROP TABLE zones; --" and values[1] == 2020
    assert "t.name_vi" in sql and "t.start_year" in sql


def test_text_and_json_give_the_same_sql() -> None:
    text = "category IN ('port', 'railway') AND T_AFTER(updated_at, TIMESTAMP('2020-01-01T00:00:00Z'))"
    tree = cql.parse(text, "cql2-text")
    again = cql.parse(json.dumps(tree), "cql2-json")
    assert tree == again


def test_dates_are_typed() -> None:
    _, values = compile_text("decision_date = DATE('2023-06-13')", "plans")
    assert values == [date(2023, 6, 13)]


@pytest.mark.parametrize(("text", "needle"), [
    ("kind = = 'x'", "syntax"),
    ("nope = 1", "nope"),
    ("start_year = 'soon'", "start_year"),
    ("S_INTERSECTS(geometry, POINT(1000 1000))", "range"),
    ("S_INTERSECTS(geometry, POLYGON((106 10, 107 11, 107 10, 106 11, 106 10)))", "Self-intersection"),
])
def test_errors_name_the_problem(text: str, needle: str) -> None:
    with pytest.raises(SpatialInputError) as error:
        compile_text(text, "zones" if "kind" in text else "projects")
    assert error.value.parameter == "filter" and needle in error.value.detail


def test_gdal_cql_text_becomes_cql2_text() -> None:
    from spatial.cql import legacy_to_cql2

    assert legacy_to_cql2("(name_vi ILIKE '%an%') AND (code = 'R1')") == \
           "(CASEI(name_vi) LIKE CASEI('%an%')) AND (code = 'R1')"
    assert legacy_to_cql2("decision_date >= '2023-06-13T'") == "decision_date >= '2023-06-13'"
    assert legacy_to_cql2("updated_at > '2021-01-01T10:00:00Z'") == "updated_at > '2021-01-01T10:00:00Z'"
    # inside a string literal nothing changes
    assert legacy_to_cql2("name_vi = 'x ILIKE ''2023-06-13T'''") == "name_vi = 'x ILIKE ''2023-06-13T'''"
    assert cql.parse("name_vi ilike 'a%'", "cql-text") == \
           {"op": "like", "args": [{"op": "casei", "args": [{"property": "name_vi"}]}, {"op": "casei", "args": ["a%"]}]}
