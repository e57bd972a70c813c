"""CQL2 (OGC 21-065r2, Annex A), the conformance classes LAPIS declares, one test per abstract test, each run in
both encodings (the classes' "Filter Language" parameter). The ATS's own checks are those that hold on any data
— an expression evaluates, two result sets share no feature, or are the same; as LAPIS does not serve the CQL2
test dataset, its known-answer tests are replaced by known answers computed here from the features themselves
(the property values the filter compares, the geometries with shapely). CQL2 JSON is the CQL2 text of each test
as the `cql2` library encodes it."""

from __future__ import annotations

import json
import random
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import cql2
import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import shape

from tests.conformance.ats import all_features, collections, filtered, items_href, matching_ids, of_type
from tests.helpers import make_settings

LANGS = ("cql2-text", "cql2-json")
VALUES = {"String": "'foo'", "Boolean": "true", "Number": "3.14", "Integer": "1",
          "Timestamp": "TIMESTAMP('2022-04-14T14:48:46Z')", "Date": "DATE('2022-04-14')"}
SCALARS = tuple(VALUES)
EVERYWHERE = "POLYGON((-180 -90,180 -90,180 90,-180 90,-180 -90))"
# around Tân An, the provincial capital: crosses zones, axes and projects
TAN_AN = "POLYGON((106.35 10.5,106.5 10.5,106.5 10.6,106.35 10.6,106.35 10.5))"


def encode(text: str, lang: str) -> str:
    return text if lang == "cql2-text" else json.dumps(cql2.parse_text(text).to_json())


def found(client: TestClient, collection_id: str, text: str, lang: str) -> set[Any]:
    """The ids a filter (given in CQL2 text) selects, sent in `lang`; it must evaluate."""
    return matching_ids(client, collection_id, encode(text, lang), lang)


def refused(client: TestClient, collection_id: str, text: str, lang: str) -> bool:
    return filtered(client, collection_id, encode(text, lang), lang).status_code == 400


def _ids() -> list[str]:
    return ["plans", "admin_units", "zones", "corridors", "axes", "projects", "parcels", "use_rules"]


@pytest.fixture(scope="module")
def features(client: TestClient) -> dict[str, list[dict[str, Any]]]:
    return {c["id"]: all_features(client, items_href(c)) for c in collections(client)}


def everything(features: dict[str, list[dict[str, Any]]], collection_id: str) -> set[Any]:
    return {f["id"] for f in features[collection_id]}


def where(features: dict[str, list[dict[str, Any]]], collection_id: str, test: Any) -> set[Any]:
    return {f["id"] for f in features[collection_id] if test(f)}


# -- CQL2 Text, CQL2 JSON ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
def test_ats_cql2_validate(client: TestClient, lang: str) -> None:
    """/conf/cql2-text/validate, /conf/cql2-json/validate: the encoding is read (the tests below run in both), and
    the same filter gives the same features in either."""
    text = "(kind = 'region' OR kind = 'centre') AND NOT code IS NULL"
    assert found(client, "zones", text, lang) == found(client, "zones", text, "cql2-text")
    assert found(client, "zones", text, lang)


def test_ats_cql2_text_escaping(client: TestClient, fresh_db_url: str, tmp_path: Path) -> None:
    """/conf/cql2-text/escaping: a quote in a string literal, written doubled or with a backslash, and other
    characters (tab, new line, carriage return) are recovered as they are."""
    from app.main import create_app

    name = "It's a\ttab,\na line\rand a ' quote"
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        conn.execute("UPDATE zones SET name_en = %s WHERE code = (SELECT min(code) FROM zones)", (name,))
    with TestClient(create_app(make_settings(fresh_db_url, tmp_path))) as own:
        doubled = name.replace("'", "''")
        backslashed = name.replace("'", "\\'")
        for literal in (doubled, backslashed):
            assert len(found(own, "zones", f"name_en = '{literal}'", "cql2-text")) == 1, literal
        assert found(own, "zones", "name_en = 'It''s'", "cql2-text") == set()
        assert found(own, "zones", f"name_en = '{doubled}'", "cql2-json") == \
            found(own, "zones", f"name_en = '{backslashed}'", "cql2-text")


# -- Basic CQL2 --------------------------------------------------------------------------------------------------
def test_ats_basic_cql2_basic_test(client: TestClient) -> None:
    """/conf/basic-cql2/basic-test: each data source has queryables, each with its data type, at least one of them
    a String, Boolean, Number, Integer, Timestamp or Date."""
    for collection in collections(client):
        assert of_type(client, collection["id"], *SCALARS), collection["id"]


def _python(value: Any, kind: str) -> Any:
    return {"Number": Decimal, "Integer": int, "Date": date.fromisoformat}.get(kind, lambda v: v)(value)


@pytest.mark.parametrize("lang", LANGS)
def test_ats_basic_cql2_comparison(client: TestClient, features: dict, lang: str) -> None:
    """/conf/basic-cql2/comparison: each scalar queryable compared with a value of its type by =, <>, >, <, >=, <=:
    `=` and `<>`, `>` and `<=`, `<` and `>=` share no feature; numbers and dates select what they should."""
    literal = {"Number": Decimal("3.14"), "Integer": 1, "Date": date(2022, 4, 14)}
    checks = {"=": lambda a, b: a == b, "<>": lambda a, b: a != b, ">": lambda a, b: a > b,
              "<": lambda a, b: a < b, ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b}
    for collection_id in _ids():
        for kind in SCALARS:
            for name in of_type(client, collection_id, kind):
                got = {op: found(client, collection_id, f"{name} {op} {VALUES[kind]}", lang) for op in checks}
                for a, b in (("=", "<>"), (">", "<="), ("<", ">=")):
                    assert not got[a] & got[b], (collection_id, name, a, b)
                if kind in literal and name != "id":
                    for op, test in checks.items():
                        expected = where(features, collection_id, lambda f, n=name, k=kind, t=test: (
                            f["properties"].get(n) is not None and t(_python(f["properties"][n], k), literal[k])))
                        assert got[op] == expected, (collection_id, name, op)


@pytest.mark.parametrize("lang", LANGS)
def test_ats_basic_cql2_is_null(client: TestClient, features: dict, lang: str) -> None:
    """/conf/basic-cql2/is-null: `IS NULL` and `is not null` part every data source in two, by each queryable."""
    for collection_id in _ids():
        for name in of_type(client, collection_id, *SCALARS, "Geometry"):
            null = found(client, collection_id, f"{name} IS NULL", lang)
            not_null = found(client, collection_id, f"{name} is not null", lang)
            assert not null & not_null and null | not_null == everything(features, collection_id), name


@pytest.mark.parametrize("lang", LANGS)
def test_ats_basic_cql2_boolean(client: TestClient, features: dict, lang: str) -> None:
    """/conf/basic-cql2/boolean: `true` selects every feature, `false` none."""
    for collection_id in _ids():
        assert found(client, collection_id, "true", lang) == everything(features, collection_id)
        assert found(client, collection_id, "false", lang) == set()


def _two_valued(client: TestClient, collection_id: str) -> list[str]:
    """Predicates that are true or false for every feature (no null in sight), so that logic is plain set logic."""
    predicates = [f"{name} IS NULL" for name in of_type(client, collection_id, *SCALARS)]
    predicates += ["id > 2", "id <= 4", "id <> 3", "id = 1"]
    return predicates


@pytest.mark.parametrize("lang", LANGS)
def test_ats_basic_cql2_logical(client: TestClient, features: dict, lang: str) -> None:
    """/conf/basic-cql2/logical: `(NOT p1 AND p2) OR (p3 and NOT p4) or not (p1 AND p4)` for random predicates
    selects what the set logic of their results says."""
    rng = random.Random(686)
    for collection_id in _ids():
        every = everything(features, collection_id)
        predicates = _two_valued(client, collection_id)
        results = {p: found(client, collection_id, p, lang) for p in predicates}
        for _ in range(10):
            p1, p2, p3, p4 = (rng.choice(predicates) for _ in range(4))
            text = f"(NOT ({p1}) AND ({p2})) OR (({p3}) and NOT ({p4})) or not (({p1}) AND ({p4}))"
            r1, r2, r3, r4 = (results[p] for p in (p1, p2, p3, p4))
            expected = ((every - r1) & r2) | (r3 & (every - r4)) | (every - (r1 & r4))
            assert found(client, collection_id, text, lang) == expected, (collection_id, text)


# -- Advanced comparison operators -------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
def test_ats_advanced_comparison_operators_like(client: TestClient, features: dict, lang: str) -> None:
    """/conf/advanced-comparison-operators/like: `'_%'` and `''` share nothing, `'%'` and `'%%'` are the same,
    `\\%\\_` matches the characters themselves; a pattern selects the values it matches."""
    for collection_id in _ids():
        for name in of_type(client, collection_id, "String"):
            got = {p: found(client, collection_id, f"{name} LIKE '{p}'", lang) for p in ("%", "_%", "", "%%")}
            assert not got["_%"] & got[""] and got["%"] == got["%%"], (collection_id, name)
            assert found(client, collection_id, f"{name} like '\\%\\_'", lang) == set()
    codes = {f["properties"]["code"] for f in features["zones"]}
    prefix = sorted(codes)[0][:1]
    assert found(client, "zones", f"code LIKE '{prefix}%'", lang) == \
        where(features, "zones", lambda f: f["properties"]["code"].startswith(prefix))
    assert found(client, "zones", f"code NOT LIKE '{prefix}%'", lang) == \
        where(features, "zones", lambda f: not f["properties"]["code"].startswith(prefix))


@pytest.mark.parametrize("lang", LANGS)
def test_ats_advanced_comparison_operators_between(client: TestClient, features: dict, lang: str) -> None:
    """/conf/advanced-comparison-operators/between: BETWEEN on each number and integer queryable evaluates (a
    reversed range selects nothing) and selects the values within."""
    for collection_id in _ids():
        for name in of_type(client, collection_id, "Number", "Integer"):
            inside = found(client, collection_id, f"{name} BETWEEN 0 AND 100", lang)
            assert found(client, collection_id, f"{name} between 100.0 and 1.0", lang) == set()
            if name != "id":
                assert inside == where(features, collection_id, lambda f, n=name: (
                    f["properties"].get(n) is not None and 0 <= Decimal(str(f["properties"][n])) <= 100))
    years = where(features, "projects", lambda f: f["properties"]["start_year"] is not None
                  and not 2021 <= f["properties"]["start_year"] <= 2025)
    assert found(client, "projects", "start_year NOT BETWEEN 2021 AND 2025", lang) == years


@pytest.mark.parametrize("lang", LANGS)
def test_ats_advanced_comparison_operators_in(client: TestClient, features: dict, lang: str) -> None:
    """/conf/advanced-comparison-operators/in: IN on each queryable, with values of its type, evaluates and
    selects the features whose value is listed."""
    lists = {"Number": "(1, 2, 3)", "Integer": "(1, 2, 3)", "String": "('foo', 'bar')", "Boolean": "(true)",
             "Timestamp": "('2022-04-14T14:52:56Z', '2022-04-14T15:52:56Z')", "Date": "('2022-04-14', '2022-04-15')"}
    for collection_id in _ids():
        for kind, values in lists.items():
            for name in of_type(client, collection_id, kind):
                found(client, collection_id, f"{name} IN {values}", lang)
    statuses = ("planned", "operating")
    assert found(client, "projects", f"status IN {statuses}", lang) == \
        where(features, "projects", lambda f: f["properties"]["status"] in statuses)
    assert found(client, "projects", f"status NOT IN {statuses}", lang) == where(  # a null is neither
        features, "projects", lambda f: f["properties"]["status"] not in (*statuses, None))


# -- Case- and accent-insensitive comparison ---------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
def test_ats_case_insensitive_comparison_casei(client: TestClient, features: dict, lang: str) -> None:
    """/conf/case-insensitive-comparison/casei: `CASEI(q) = casei('foo')` and `<> casei('FOO')` share nothing;
    a name in other case finds its feature."""
    for collection_id in _ids():
        for name in of_type(client, collection_id, "String"):
            equal = found(client, collection_id, f"CASEI({name}) = casei('foo')", lang)
            assert not equal & found(client, collection_id, f"CASEI({name}) <> casei('FOO')", lang)
    name = features["admin_units"][0]["properties"]["name_en"]
    assert found(client, "admin_units", f"CASEI(name_en) = casei('{name.upper()}')", lang) == \
        where(features, "admin_units", lambda f: (f["properties"]["name_en"] or "").lower() == name.lower())


@pytest.mark.parametrize("lang", LANGS)
def test_ats_case_insensitive_comparison_casei_like(client: TestClient, features: dict, lang: str) -> None:
    """/conf/case-insensitive-comparison/casei-like: `CASEI(q) LIKE casei('foo%')` and `casei('FOO%')` select the
    same features."""
    for collection_id in _ids():
        for name in of_type(client, collection_id, "String"):
            assert found(client, collection_id, f"CASEI({name}) LIKE casei('foo%')", lang) == \
                found(client, collection_id, f"CASEI({name}) LIKE casei('FOO%')", lang)
    assert found(client, "admin_units", "CASEI(name_en) LIKE casei('TAN%')", lang) == \
        where(features, "admin_units", lambda f: (f["properties"]["name_en"] or "").lower().startswith("tan"))


@pytest.mark.parametrize("lang", LANGS)
def test_ats_accent_insensitive_comparison_accenti(client: TestClient, features: dict, lang: str) -> None:
    """/conf/accent-insensitive-comparison/accenti: `ACCENTI(q) = accenti('äöü')` and `<> accenti('aou')` share
    nothing; a Vietnamese name written without its diacritics finds its feature."""
    for collection_id in _ids():
        for name in of_type(client, collection_id, "String"):
            equal = found(client, collection_id, f"ACCENTI({name}) = accenti('äöü')", lang)
            assert not equal & found(client, collection_id, f"ACCENTI({name}) <> accenti('aou')", lang)
    assert found(client, "admin_units", "ACCENTI(name_vi) = accenti('Tan An')", lang) == \
        where(features, "admin_units", lambda f: f["properties"]["name_vi"] == "Tân An") != set()


@pytest.mark.parametrize("lang", LANGS)
def test_ats_accent_insensitive_comparison_accenti_like(client: TestClient, features: dict, lang: str) -> None:
    """/conf/accent-insensitive-comparison/accenti-like: ACCENTI in LIKE: `accenti('Tan%')` finds `Tân An`, and the
    accented and plain patterns select the same features."""
    plain = found(client, "admin_units", "ACCENTI(name_vi) LIKE accenti('Tan%')", lang)
    assert plain == found(client, "admin_units", "ACCENTI(name_vi) LIKE accenti('Tân%')", lang)
    assert where(features, "admin_units", lambda f: f["properties"]["name_vi"] == "Tân An") <= plain


# -- Spatial functions -------------------------------------------------------------------------------------------
def _spatial_ids() -> list[str]:
    return ["admin_units", "zones", "corridors", "axes", "projects"]


def _geometry_name(client: TestClient, collection_id: str) -> str:
    return of_type(client, collection_id, "Geometry")[0]


def _shapely(features: dict, collection_id: str, test: Any) -> set[Any]:
    return where(features, collection_id, lambda f: f["geometry"] is not None and test(shape(f["geometry"])))


@pytest.mark.parametrize("lang", LANGS)
def test_ats_basic_spatial_functions_s_intersects(client: TestClient, features: dict, lang: str) -> None:
    """/conf/basic-spatial-functions/s_intersects: S_INTERSECTS with a box and a point evaluates (the world box
    holds every geometry); a point out of range is refused; two boxes with AND evaluate."""
    for collection_id in _spatial_ids():
        g = _geometry_name(client, collection_id)
        assert found(client, collection_id, f"S_INTERSECTS({g},BBOX(-180,-90,180,90))", lang) == \
            _shapely(features, collection_id, lambda _: True)
        assert found(client, collection_id, f"S_INTERSECTS({g},POINT(7.02 49.92))", lang) == set()
        assert refused(client, collection_id, f"S_INTERSECTS({g},POINT(90 180))", lang)
        found(client, collection_id,
              f"S_INTERSECTS({g},BBOX(-180,-90,-90,90)) AND S_INTERSECTS({g},BBOX(90,-90,180,90))", lang)
        box = shapely.box(106.35, 10.5, 106.5, 10.6)
        assert found(client, collection_id, f"S_INTERSECTS({g},BBOX(106.35,10.5,106.5,10.6))", lang) == \
            _shapely(features, collection_id, box.intersects)
        across = shapely.union(shapely.box(106.5, 10.0, 180, 11.5), shapely.box(-180, 10.0, -179, 11.5))
        assert found(client, collection_id, f"S_INTERSECTS({g},BBOX(106.5,10,-179,11.5))", lang) == \
            _shapely(features, collection_id, across.intersects)


@pytest.mark.parametrize("lang", LANGS)
def test_ats_basic_spatial_functions_plus_s_intersects(client: TestClient, features: dict, lang: str) -> None:
    """/conf/basic-spatial-functions-plus/s_intersects: S_INTERSECTS with every kind of geometry literal selects
    the features whose geometries intersect it."""
    literals = [TAN_AN, "LINESTRING(106.3 10.4,106.6 10.7)", "MULTIPOINT(106.41 10.53,106.7 10.8)",
                "MULTILINESTRING((106.3 10.4,106.6 10.7),(106.2 10.9,106.3 11))",
                f"MULTIPOLYGON(({TAN_AN.removeprefix('POLYGON(').removesuffix(')')}))",
                "GEOMETRYCOLLECTION(POINT(106.41 10.53),LINESTRING(106.3 10.4,106.6 10.7))"]
    for literal in literals:
        area = shapely.from_wkt(literal)
        for collection_id in _spatial_ids():
            g = _geometry_name(client, collection_id)
            assert found(client, collection_id, f"S_INTERSECTS({g},{literal})", lang) == \
                _shapely(features, collection_id, area.intersects), (collection_id, literal)


PREDICATES = {"S_INTERSECTS": "intersects", "S_DISJOINT": "disjoint", "S_EQUALS": "equals", "S_TOUCHES": "touches",
              "S_CROSSES": "crosses", "S_WITHIN": "within", "S_CONTAINS": "contains", "S_OVERLAPS": "overlaps"}


def _spatial_function(client: TestClient, features: dict, lang: str, function: str, literals: list[str]) -> None:
    """Each literal with `function` on every spatial collection: the features shapely's predicate selects."""
    for literal in literals:
        area = shapely.from_wkt(literal.replace("BBOX(-180,-90,180,90)", EVERYWHERE))
        for collection_id in _spatial_ids():
            g = _geometry_name(client, collection_id)
            expected = _shapely(features, collection_id, lambda geom, a=area: getattr(geom, PREDICATES[function])(a))
            assert found(client, collection_id, f"{function}({g},{literal})", lang) == expected, \
                (function, collection_id, literal)


@pytest.mark.parametrize("lang", LANGS)
def test_ats_spatial_functions_s_intersects(client: TestClient, features: dict, lang: str) -> None:
    """/conf/spatial-functions/s_intersects: the world box and polygon give the same, every geometry; a line, a
    point and Tân An's box give what they intersect; an out-of-range point is refused."""
    _spatial_function(client, features, lang, "S_INTERSECTS",
                      ["BBOX(-180,-90,180,90)", EVERYWHERE, "LINESTRING(7 50, 10 51)", "POINT(7.02 49.92)", TAN_AN])
    assert refused(client, "zones", "S_INTERSECTS(geometry,POINT(90 180))", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_ats_spatial_functions_s_disjoint(client: TestClient, features: dict, lang: str) -> None:
    """/conf/spatial-functions/s_disjoint: nothing is disjoint from the world; a line and a point far away are
    disjoint from everything; no feature is both disjoint from and intersecting Tân An."""
    _spatial_function(client, features, lang, "S_DISJOINT",
                      ["BBOX(-180,-90,180,90)", EVERYWHERE, "LINESTRING(7 50,10 51)", "POINT(7.02 49.92)", TAN_AN])
    assert refused(client, "zones", "S_DISJOINT(geometry,POINT(90 180))", lang)
    assert not found(client, "zones", f"S_DISJOINT(geometry,{TAN_AN})", lang) & \
        found(client, "zones", f"S_INTERSECTS(geometry,{TAN_AN})", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_ats_spatial_functions_s_equals(client: TestClient, features: dict, lang: str) -> None:
    """/conf/spatial-functions/s_equals: equal to the world polygon, a line, a point: nothing; a feature's own
    geometry (as WKT) finds it."""
    _spatial_function(client, features, lang, "S_EQUALS", [EVERYWHERE, "LINESTRING(7 50,10 51)", "POINT(7.02 49.92)"])
    point = next(f for f in features["projects"] if f["geometry"] and f["geometry"]["type"] == "Point")
    wkt = shapely.to_wkt(shape(point["geometry"]), rounding_precision=-1)
    assert point["id"] in found(client, "projects", f"S_EQUALS(geometry,{wkt})", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_ats_spatial_functions_s_touches(client: TestClient, features: dict, lang: str) -> None:
    """/conf/spatial-functions/s_touches: S_TOUCHES with the world box, the world polygon, a line evaluates."""
    _spatial_function(client, features, lang, "S_TOUCHES",
                      ["BBOX(-180,-90,180,90)", EVERYWHERE, "LINESTRING(7 50,10 51)", TAN_AN])


@pytest.mark.parametrize("lang", LANGS)
def test_ats_spatial_functions_s_crosses(client: TestClient, features: dict, lang: str) -> None:
    """/conf/spatial-functions/s_crosses: lines (axes) crossing the world box, polygon, a line and Tân An."""
    _spatial_function(client, features, lang, "S_CROSSES",
                      ["BBOX(-180,-90,180,90)", EVERYWHERE, "LINESTRING(7 50,10 51)", TAN_AN])


@pytest.mark.parametrize("lang", LANGS)
def test_ats_spatial_functions_s_within(client: TestClient, features: dict, lang: str) -> None:
    """/conf/spatial-functions/s_within: within the world box and polygon: the same, every geometry."""
    _spatial_function(client, features, lang, "S_WITHIN",
                      ["BBOX(-180,-90,180,90)", EVERYWHERE, "LINESTRING(7 50,10 51)", "MULTIPOINT(7 50,10 51)", TAN_AN])


@pytest.mark.parametrize("lang", LANGS)
def test_ats_spatial_functions_s_contains(client: TestClient, features: dict, lang: str) -> None:
    """/conf/spatial-functions/s_contains: nothing contains the world; what contains Tân An's centre is not
    within it."""
    _spatial_function(client, features, lang, "S_CONTAINS",
                      ["BBOX(-180,-90,180,90)", EVERYWHERE, "LINESTRING(7 50,10 51)", "MULTIPOINT(7 50,10 51)",
                       "POINT(106.41 10.53)"])
    assert not found(client, "zones", "S_CONTAINS(geometry,POINT(106.41 10.53))", lang) & \
        found(client, "zones", "S_WITHIN(geometry,POINT(106.41 10.53))", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_ats_spatial_functions_s_overlaps(client: TestClient, features: dict, lang: str) -> None:
    """/conf/spatial-functions/s_overlaps: overlaps of polygons with a polygon, lines with a line."""
    _spatial_function(client, features, lang, "S_OVERLAPS", [EVERYWHERE, TAN_AN, "LINESTRING(106.3 10.4,106.6 10.7)",
                                                              "MULTIPOINT(7 50,10 51)"])


# -- Temporal functions ------------------------------------------------------------------------------------------
T1 = ("T_AFTER", "T_BEFORE", "T_DISJOINT", "T_EQUALS", "T_INTERSECTS")
T2 = (*T1, "T_CONTAINS", "T_DURING", "T_FINISHEDBY", "T_FINISHES", "T_MEETS", "T_METBY", "T_OVERLAPPEDBY",
      "T_OVERLAPS", "T_STARTEDBY", "T_STARTS")


@pytest.mark.parametrize("lang", LANGS)
def test_ats_temporal_functions_temporal_functions_1(client: TestClient, features: dict, lang: str) -> None:
    """/conf/temporal-functions/temporal-functions-1: T_AFTER, T_BEFORE, T_DISJOINT, T_EQUALS, T_INTERSECTS of each
    timestamp and date queryable with an instant and with an interval evaluate; on dates they select what the
    calendar says."""
    literals = {"Timestamp": ("TIMESTAMP('2022-04-24T07:59:57Z')",
                              "INTERVAL('2021-01-01T00:00:00Z','2021-12-31T23:59:59Z')"),
                "Date": ("DATE('2022-04-24')", "INTERVAL('2021-01-01','2021-12-31')")}
    for collection_id in _ids():
        for kind, (instant, interval) in literals.items():
            for name in of_type(client, collection_id, kind):
                for function in T1:
                    for literal in (instant, interval):
                        found(client, collection_id, f"{function}({name},{literal})", lang)
    day = date(2023, 6, 13)

    def decided(test: Any) -> set[Any]:
        return where(features, "plans", lambda f: f["properties"]["decision_date"] is not None
                     and test(date.fromisoformat(f["properties"]["decision_date"])))

    assert found(client, "plans", "T_AFTER(decision_date,DATE('2023-06-12'))", lang) == \
        decided(lambda d: d > date(2023, 6, 12))
    assert found(client, "plans", "T_EQUALS(decision_date,INTERVAL('2023-06-13','2023-06-13'))", lang) == \
        decided(lambda d: d == day) != set()
    assert found(client, "plans", "T_INTERSECTS(decision_date,INTERVAL('2023-01-01','..'))", lang) == \
        decided(lambda d: d >= date(2023, 1, 1))
    assert found(client, "plans", "T_BEFORE(decision_date,INTERVAL('2024-01-01','2024-12-31'))", lang) == \
        decided(lambda d: d < date(2024, 1, 1))


@pytest.mark.parametrize("lang", LANGS)
def test_ats_temporal_functions_temporal_functions_2(client: TestClient, features: dict, lang: str) -> None:
    """/conf/temporal-functions/temporal-functions-2: every temporal function of an interval made of two timestamp
    queryables (created_at … updated_at) with an interval literal evaluates; an interval ending before the data
    was loaded is before every feature."""
    interval = "INTERVAL('2021-01-01T00:00:00Z','2021-12-31T23:59:59Z')"
    for collection_id in _ids():
        names = of_type(client, collection_id, "Timestamp")
        assert len(names) >= 2
        pair = f"INTERVAL({names[0]},{names[1]})"
        for function in T2:
            found(client, collection_id, f"{function}({pair},{interval})", lang)
        assert found(client, collection_id, f"T_AFTER({pair},INTERVAL('..','2021-12-31T23:59:59Z'))", lang) == \
            everything(features, collection_id)
        assert found(client, collection_id, f"T_BEFORE({pair},{interval})", lang) == set()


# -- Arithmetic --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
def test_ats_arithmetic_arithmetic(client: TestClient, features: dict, lang: str) -> None:
    """/conf/arithmetic/arithmetic: expressions with +, -, *, /, %, div and ^ on each numeric queryable evaluate,
    and select what the arithmetic says."""
    for collection_id in _ids():
        for name in of_type(client, collection_id, "Number", "Integer"):
            for text in (f"{name} = 1038280+8", f"{name} >= 1038290-2*2^0", f"{name} > 1038290-20/10",
                         f"{name} > 1038290-21 div 10", f"{name} > 1038290-5%2", f"{name} <= 1038200+8*11",
                         f"{name} * 2 < 2^3", f"({name} + 1) % 2 = 0"):
                found(client, collection_id, text, lang)
    started = {f["id"]: f["properties"]["start_year"] for f in features["projects"]
               if f["properties"]["start_year"] is not None}
    assert found(client, "projects", "start_year = 2000 + 5 * 4 + 3", lang) == \
        {i for i, y in started.items() if y == 2023}
    assert found(client, "projects", "start_year % 2 = 1", lang) == {i for i, y in started.items() if y % 2 == 1}
    assert found(client, "projects", "start_year div 10 = 202", lang) == \
        {i for i, y in started.items() if y // 10 == 202}
    assert found(client, "projects", "start_year - 2 ^ 11 = -25", lang) == {i for i, y in started.items() if y == 2023}
    assert refused(client, "projects", "start_year / 0 > 1", lang)
