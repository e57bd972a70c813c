"""MapLibre style expressions, colours and zooms in QGIS's terms."""

from __future__ import annotations

import pytest

from spatial.qgis.expressions import (
    ZOOM,
    Unsupported,
    expression,
    fold,
    qgis_colour,
    rgba,
    scale_of_zoom,
    value_at,
)


def test_colours() -> None:
    assert qgis_colour("#e8a87c", 0.45) == "232,168,124,115"
    assert qgis_colour("#444") == "68,68,68,255"
    assert rgba("rgba(255,255,255,0.9)") == (255, 255, 255, 230)
    assert rgba("rgb(1, 2, 3)") == (1, 2, 3, 255)
    with pytest.raises(Unsupported):
        rgba("hsl(0, 100%, 50%)")


def test_zoom_and_scale() -> None:
    # zoom 10 of the web map (512-px tiles) is about 1:289,000 on a 96-dpi screen
    assert round(scale_of_zoom(10)) == 288896
    assert scale_of_zoom(13) == pytest.approx(scale_of_zoom(10) / 8)


def test_geometry_type_tests_are_decided_per_kind() -> None:
    line = ["==", ["geometry-type"], "LineString"]
    status = ["match", ["get", "status"], ["planned"], True, False]
    assert fold(["all", line, status], "LineString") == status
    assert fold(["all", line, status], "Polygon") is False
    assert fold(["!", line], "Point") is True
    assert fold(["any", line, status], "LineString") is True
    assert fold(["any", line, status], "Point") == status


@pytest.mark.parametrize(("maplibre", "qgis"), [
    (["==", ["get", "kind"], "region"], "(\"kind\" IS 'region')"),
    (["!=", ["get", "level"], "district"], "(\"level\" IS NOT 'district')"),
    (["match", ["get", "kind"], ["region", "centre"], True, False], "(\"kind\" IN ('region', 'centre'))"),
    (["match", ["get", "kind"], ["region", "centre"], False, True],
     "(NOT (\"kind\" IN ('region', 'centre')) OR \"kind\" IS NULL)"),
    (["in", ["get", "kind"], ["literal", ["a", "b"]]], "(\"kind\" IN ('a', 'b'))"),
    (["all", ["==", ["get", "a"], 1], ["!", ["==", ["get", "b"], "it's"]]],
     "((\"a\" IS 1) AND (NOT (\"b\" IS 'it''s')))"),
    (["coalesce", ["get", "name_en"], ["get", "name_vi"]], "coalesce(\"name_en\", \"name_vi\")"),
    (["-", 5, ["*", 0.5, ["coalesce", ["get", "rank"], 6]]], "(5 - (0.5 * coalesce(\"rank\", 6)))"),
    (["match", ["get", "code"], ["R1"], "#e8a87c", ["R2", "R3"], "#a8d08d", "#cccccc"],
     "CASE WHEN (\"code\" IN ('R1')) THEN '#e8a87c' WHEN (\"code\" IN ('R2', 'R3')) THEN '#a8d08d' "
     "ELSE '#cccccc' END"),
])
def test_expressions(maplibre: list, qgis: str) -> None:
    assert expression(maplibre) == qgis


def test_widths_that_change_with_the_zoom() -> None:
    two_stops = ["interpolate", ["linear"], ["zoom"], 7, 0.6, 12, 1.6]
    assert expression(two_stops) == f"scale_linear({ZOOM}, 7, 12, 0.6, 1.6)"
    assert value_at(two_stops, 9.5) == pytest.approx(1.1)
    assert value_at(two_stops, 3) == 0.6 and value_at(two_stops, 20) == 1.6
    three = ["interpolate", ["linear"], ["zoom"], 6, 1, 10, 2, 14, 6]
    assert expression(three).startswith(f"CASE WHEN {ZOOM} <= 10 THEN scale_linear({ZOOM}, 6, 10, 1, 2) ELSE")
    by_feature = ["interpolate", ["linear"], ["zoom"], 7, ["-", 5, ["get", "rank"]], 13, 4]
    assert value_at(by_feature, 10) is None
    assert "(5 - \"rank\")" in expression(by_feature)


@pytest.mark.parametrize("construct", [
    ["step", ["zoom"], 1, 10, 2],
    ["interpolate", ["exponential", 2], ["zoom"], 7, 1, 13, 4],
    ["within", {"type": "Polygon"}],
])
def test_what_is_not_converted_is_an_error(construct: list) -> None:
    with pytest.raises(Unsupported):
        expression(construct)
