"""The web map's drawing of a layer as a QGIS rule-based renderer.

Each MapLibre layer (`fill`, `line`, `circle`) of the plan style that can draw the QGIS layer's geometry kind becomes
one rule: its filter, its zoom range as a scale range, its paint as a symbol. A colour that is a `match` on a
property becomes one child rule per value (and an ELSE rule), so QGIS's legend lists the categories with the
web map's legend labels; a width that depends on the zoom or on the feature becomes a data-defined expression.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from spatial.qgis.expressions import (
    FALLBACK_ZOOM,
    Unsupported,
    expression,
    fold,
    literal,
    match_branch,
    match_values,
    matched_on,
    qgis_colour,
    quote_field,
    scale_of_zoom,
    value_at,
)
from spatial.qgis.xml import element, symbol, symbol_layer

REFERENCE_ZOOM = FALLBACK_ZOOM  # zoom-dependent values at this zoom where QGIS needs one number (legend, dashes)
SYMBOL_TYPES = {"Polygon": "fill", "LineString": "line", "Point": "marker"}
DRAWS = {"fill": ("Polygon",), "line": ("Polygon", "LineString"), "circle": ("Point",)}  # MapLibre type -> kinds
COLOURS = {"fill": ("fill-color", "fill-outline-color"), "line": ("line-color",),
           "circle": ("circle-color", "circle-stroke-color")}
_CAPS = {"butt": "flat", "round": "round", "square": "square"}
_JOINS = {"miter": "miter", "round": "round", "bevel": "bevel"}
Branch = tuple[str, Any] | None  # (property, value) a child rule stands for; value None = any other


@dataclass
class Rule:
    label: str
    filter: str | None = None
    symbol: ET.Element | None = None
    min_zoom: float | None = None
    max_zoom: float | None = None
    children: list[Rule] = field(default_factory=list)


def _resolved(value: Any, branch: Branch) -> Any:
    if branch is not None and matched_on(value) == branch[0]:
        return match_branch(value, branch[1])
    return value


def _number(paint: Mapping[str, Any], key: str, default: float, branch: Branch) -> tuple[float, str | None]:
    """A number at the reference zoom, and its expression when it changes with the zoom or the feature."""
    value = _resolved(paint.get(key, default), branch)
    static = value_at(value, REFERENCE_ZOOM)
    if isinstance(value, int | float):
        return float(value), None
    return (float(static) if isinstance(static, int | float) else default), expression(value)


def _colour(paint: Mapping[str, Any], key: str, default: str | None, branch: Branch,
            opacity: float = 1.0) -> str | None:
    value = _resolved(paint.get(key, default), branch)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Unsupported(f"{key} {value!r}: a colour or a match on one property")
    return qgis_colour(value, opacity)


def _opacity(paint: Mapping[str, Any], key: str) -> float:
    value = value_at(paint.get(key, 1.0), REFERENCE_ZOOM)
    if not isinstance(value, int | float):
        raise Unsupported(f"{key} {paint[key]!r}: only a constant opacity")
    return float(value)


def _fill(paint: Mapping[str, Any], branch: Branch, level: int) -> ET.Element:
    opacity = _opacity(paint, "fill-opacity")
    outline = _colour(paint, "fill-outline-color", None, branch, opacity)
    return symbol_layer("SimpleFill", {
        "color": _colour(paint, "fill-color", "#000000", branch, opacity) or "", "style": "solid",
        "outline_style": "solid" if outline else "no", "outline_color": outline or "0,0,0,0",
        "outline_width": "1", "outline_width_unit": "Pixel", "joinstyle": "bevel",
    }, level=level)


def _line(paint: Mapping[str, Any], layout: Mapping[str, Any], branch: Branch, level: int) -> ET.Element:
    width, width_expression = _number(paint, "line-width", 1.0, branch)
    dashes = paint.get("line-dasharray")  # an array of numbers (MapLibre takes no expression here)
    if dashes is not None and not all(isinstance(d, int | float) for d in dashes):
        raise Unsupported(f"line-dasharray {dashes!r}: numbers only")
    properties = {
        "line_color": _colour(paint, "line-color", "#000000", branch, _opacity(paint, "line-opacity")) or "",
        "line_width": f"{width:g}", "line_width_unit": "Pixel", "line_style": "solid",
        "capstyle": _CAPS[layout.get("line-cap", "butt")], "joinstyle": _JOINS[layout.get("line-join", "miter")],
        "use_custom_dash": "1" if dashes else "0", "customdash_unit": "Pixel",
        # MapLibre dash lengths are in line widths
        "customdash": ";".join(f"{d * width:g}" for d in dashes) if dashes else "5;2",
    }
    return symbol_layer("SimpleLine", properties, {"outlineWidth": width_expression} if width_expression else None,
                        level)


def _circle(paint: Mapping[str, Any], branch: Branch, level: int) -> ET.Element:
    radius, radius_expression = _number(paint, "circle-radius", 5.0, branch)
    stroke_width, _ = _number(paint, "circle-stroke-width", 0.0, branch)
    opacity = _opacity(paint, "circle-opacity")
    return symbol_layer("SimpleMarker", {
        "name": "circle", "color": _colour(paint, "circle-color", "#000000", branch, opacity) or "",
        "size": f"{2 * radius:g}", "size_unit": "Pixel",
        "outline_color": _colour(paint, "circle-stroke-color", "#000000", branch, opacity) or "",
        "outline_style": "solid" if stroke_width else "no", "outline_width": f"{stroke_width:g}",
        "outline_width_unit": "Pixel",
    }, {"size": f"2 * ({radius_expression})"} if radius_expression else None, level)


def _symbol(fragment: Mapping[str, Any], kind: str, branch: Branch, level: int) -> ET.Element:
    paint, layout = fragment.get("paint", {}), fragment.get("layout", {})
    if fragment["type"] == "fill":
        layer = _fill(paint, branch, level)
    elif fragment["type"] == "line":
        layer = _line(paint, layout, branch, level)
    else:
        layer = _circle(paint, branch, level)
    return symbol(SYMBOL_TYPES[kind], "", [layer])


def _main_colour(fragment: Mapping[str, Any], branch: Branch) -> str | None:
    value = _resolved(fragment.get("paint", {}).get(COLOURS[fragment["type"]][0]), branch)
    return value.lower() if isinstance(value, str) else None


def _branching_property(fragment: Mapping[str, Any]) -> str | None:
    paint = fragment.get("paint", {})
    properties = {p for key in COLOURS[fragment["type"]] if (p := matched_on(paint.get(key)))}
    if len(properties) > 1:
        raise Unsupported(f"{fragment['id']}: colours that switch on several properties {sorted(properties)}")
    return properties.pop() if properties else None


def draw_rule(fragment: Mapping[str, Any], kind: str, level: int, legend: Mapping[str, str],
              other: str) -> Rule | None:
    """The rule drawing `fragment` (a MapLibre layer) on a QGIS layer of one geometry kind, at symbol level `level`
    (MapLibre draws layer by layer: every fill, then every outline); None when the fragment draws nothing there.
    `legend` gives the web map's label of a colour; `other` names an ELSE rule."""
    if fragment["type"] not in DRAWS:
        raise Unsupported(f"{fragment['id']}: MapLibre layer type {fragment['type']!r}")
    condition = fold(fragment.get("filter", True), kind)
    if kind not in DRAWS[fragment["type"]] or condition is False:
        return None
    rule = Rule(legend.get(_main_colour(fragment, None) or "", fragment["id"]),
                None if condition is True else expression(condition),
                min_zoom=fragment.get("minzoom"), max_zoom=fragment.get("maxzoom"))
    prop = _branching_property(fragment)
    if prop is None:
        rule.symbol = _symbol(fragment, kind, None, level)
        return rule
    paint = fragment["paint"]
    values = dict.fromkeys(v for key in COLOURS[fragment["type"]] if matched_on(paint.get(key)) == prop
                           for v in match_values(paint[key]))
    for value in (*values, None):
        branch = (prop, value)
        label = legend.get(_main_colour(fragment, branch) or "", str(value) if value is not None else other)
        test = f"{quote_field(prop)} = {literal(value)}" if value is not None else "ELSE"
        rule.children.append(Rule(label, test, _symbol(fragment, kind, branch, level)))
    return rule


def _rule_element(rule: Rule, symbols: list[ET.Element]) -> ET.Element:
    attributes: dict[str, object] = {"label": rule.label}
    if rule.filter:
        attributes["filter"] = rule.filter
    if rule.min_zoom:  # shown up to this scale (zoomed out) …
        attributes["scalemaxdenom"] = round(scale_of_zoom(rule.min_zoom))
    if rule.max_zoom is not None:  # … and from this one (zoomed in)
        attributes["scalemindenom"] = round(scale_of_zoom(rule.max_zoom))
    if rule.symbol is not None:
        attributes["symbol"] = len(symbols)
        rule.symbol.set("name", str(len(symbols)))
        symbols.append(rule.symbol)
    node = element("rule", attributes)
    node.extend(_rule_element(child, symbols) for child in rule.children)
    return node


def renderer(rules: list[Rule]) -> ET.Element:
    """A `RuleRenderer` drawing `rules` by symbol level, as MapLibre draws its layers."""
    symbols: list[ET.Element] = []
    root = element("rules", children=[_rule_element(rule, symbols) for rule in rules])
    return element("renderer-v2", {"type": "RuleRenderer", "symbollevels": 1, "enableorderby": 0, "forceraster": 0,
                                   "referencescale": -1},
                   [root, element("symbols", children=symbols)])
