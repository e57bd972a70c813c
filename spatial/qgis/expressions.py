"""MapLibre style expressions, colours and zooms in QGIS's terms.

Covers what the plan style (`spatial.tiles.style`) uses: `get`, literals, comparisons, `in`/`match`, `all`/`any`/`!`,
`coalesce`, arithmetic, `geometry-type` and `interpolate` over the zoom. Anything else raises `Unsupported`, so a
new construct in the registry fails the tests instead of drawing something else in QGIS.

Zooms: the web map's zoom z (512-px tiles) shows the ground at 78271.517/2^z m per pixel; QGIS at 96 dpi shows
that as the scale 1:(295,829,355/2^z), the scale used for every zoom-dependent rule and width here.
"""

from __future__ import annotations

import re
from typing import Any

ZOOM0_SCALE = 78271.51696402048 / (0.0254 / 96)  # the scale denominator of zoom 0 on a 96-dpi screen
FALLBACK_ZOOM = 10  # where QGIS evaluates without a map (legend patches): a mid zoom of the plan map
# the web map's zoom at the scale QGIS draws at
ZOOM = f"log(2, {ZOOM0_SCALE:.3f} / coalesce(@map_scale, {ZOOM0_SCALE / 2**FALLBACK_ZOOM:.3f}))"
# == and != are null-safe in MapLibre (a missing value is not equal to a string): IS and IS NOT in QGIS
_COMPARE = {"==": "IS", "!=": "IS NOT", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_ARITHMETIC = {"+", "-", "*", "/"}
_CSS_RGB = re.compile(r"rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:,\s*([\d.]+)\s*)?\)")


class Unsupported(ValueError):
    """A style construct this conversion does not know."""


def scale_of_zoom(zoom: float) -> float:
    return ZOOM0_SCALE / 2**zoom


def rgba(colour: str, opacity: float = 1.0) -> tuple[int, int, int, int]:
    """A CSS colour (#rgb, #rrggbb, rgb(), rgba()) with an extra opacity, as 0–255 channels."""
    text = colour.strip().lower()
    alpha = 1.0
    if text.startswith("#") and len(text) in (4, 7):
        digits = text[1:] if len(text) == 7 else "".join(c * 2 for c in text[1:])
        red, green, blue = (int(digits[i:i + 2], 16) for i in (0, 2, 4))
    elif match := _CSS_RGB.fullmatch(text):
        red, green, blue = (round(float(v)) for v in match.groups()[:3])
        alpha = float(match.group(4)) if match.group(4) is not None else 1.0
    else:
        raise Unsupported(f"colour {colour!r}")
    return red, green, blue, round(255 * alpha * opacity)


def qgis_colour(colour: str, opacity: float = 1.0) -> str:
    """`r,g,b,a` as QGIS writes colours in project files."""
    return ",".join(str(v) for v in rgba(colour, opacity))


def quote_field(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if value is None:
        return "NULL"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise Unsupported(f"literal {value!r}")


def fold(expr: Any, kind: str) -> Any:
    """`expr` with every `geometry-type` test decided for a layer of one geometry kind (Polygon, LineString,
    Point): True, False, or what is left to test per feature."""
    if not isinstance(expr, list) or not expr:
        return expr
    op, args = expr[0], expr[1:]
    if op in ("==", "!=") and ["geometry-type"] in args:
        other = args[1] if args[0] == ["geometry-type"] else args[0]
        same = other in (kind, f"Multi{kind}")
        return same if op == "==" else not same
    if op == "all":
        parts = [fold(a, kind) for a in args]
        if False in parts:
            return False
        rest = [p for p in parts if p is not True]
        return True if not rest else rest[0] if len(rest) == 1 else ["all", *rest]
    if op == "any":
        parts = [fold(a, kind) for a in args]
        if True in parts:
            return True
        rest = [p for p in parts if p is not False]
        return False if not rest else rest[0] if len(rest) == 1 else ["any", *rest]
    if op == "!":
        inner = fold(args[0], kind)
        return (not inner) if isinstance(inner, bool) else ["!", inner]
    return expr


def expression(expr: Any) -> str:
    """The QGIS expression for a MapLibre expression (after `fold`)."""
    if not isinstance(expr, list):
        return literal(expr)
    if not expr:
        raise Unsupported("empty expression")
    op, args = expr[0], expr[1:]
    if op == "get" and len(args) == 1:
        return quote_field(args[0])
    if op == "literal":
        return literal(args[0])
    if op in _COMPARE:
        left, right = (expression(a) for a in args)
        return f"({left} {_COMPARE[op]} {right})"
    if op == "in" and len(args) == 2 and isinstance(args[1], list) and args[1][:1] == ["literal"]:
        return _one_of(expression(args[0]), args[1][1])
    if op in ("all", "any"):
        return "(" + f" {'AND' if op == 'all' else 'OR'} ".join(expression(a) for a in args) + ")"
    if op == "!":
        return f"(NOT {expression(args[0])})"
    if op == "coalesce":
        return f"coalesce({', '.join(expression(a) for a in args)})"
    if op in _ARITHMETIC:
        return "(" + f" {op} ".join(expression(a) for a in args) + ")"
    if op == "match":
        return _match(args)
    if op == "interpolate":
        return _interpolate(args)
    raise Unsupported(f"expression {op!r}")


def _one_of(subject: str, values: list[Any]) -> str:
    return f"({subject} IN ({', '.join(literal(v) for v in values)}))"


def _match(args: list[Any]) -> str:
    subject, pairs, default = expression(args[0]), args[1:-1], args[-1]
    branches = [(label if isinstance(label, list) else [label], output)
                for label, output in zip(pairs[::2], pairs[1::2], strict=True)]
    if len(branches) == 1 and isinstance(default, bool) and branches[0][1] is (not default):  # a filter
        test = _one_of(subject, branches[0][0])
        return test if branches[0][1] else f"(NOT {test} OR {subject} IS NULL)"
    cases = " ".join(f"WHEN {_one_of(subject, labels)} THEN {expression(out)}" for labels, out in branches)
    return f"CASE {cases} ELSE {expression(default)} END"


def _interpolate(args: list[Any]) -> str:
    if args[0] != ["linear"] or args[1] != ["zoom"]:
        raise Unsupported(f"interpolate {args[0]!r} over {args[1]!r}: only linear over the zoom")
    stops = list(zip(args[2::2], args[3::2], strict=True))
    pieces = [(z0, z1, f"scale_linear({ZOOM}, {z0}, {z1}, {expression(v0)}, {expression(v1)})")
              for (z0, v0), (z1, v1) in zip(stops, stops[1:], strict=False)]
    if len(pieces) == 1:
        return pieces[0][2]
    cases = " ".join(f"WHEN {ZOOM} <= {z1} THEN {text}" for _, z1, text in pieces[:-1])
    return f"CASE {cases} ELSE {pieces[-1][2]} END"


def value_at(expr: Any, zoom: float) -> Any:
    """The value of an expression that depends on the zoom at most (None when it depends on a feature)."""
    if not isinstance(expr, list):
        return expr
    if expr[:1] == ["literal"]:
        return expr[1]
    if expr[:1] == ["interpolate"] and expr[1:3] == [["linear"], ["zoom"]]:
        stops = [(z, value_at(v, zoom)) for z, v in zip(expr[3::2], expr[4::2], strict=True)]
        if any(v is None for _, v in stops):
            return None
        if zoom <= stops[0][0]:
            return stops[0][1]
        for (z0, v0), (z1, v1) in zip(stops, stops[1:], strict=False):
            if zoom <= z1:
                return v0 + (v1 - v0) * (zoom - z0) / (z1 - z0)
        return stops[-1][1]
    return None


def matched_on(expr: Any) -> str | None:
    """The property a `["match", ["get", p], …]` expression switches on (None for anything else)."""
    if isinstance(expr, list) and expr[:1] == ["match"] and isinstance(expr[1], list) and expr[1][:1] == ["get"]:
        return str(expr[1][1])
    return None


def match_branch(expr: Any, value: Any) -> Any:
    """The output a `match` expression gives for `value` (its default for None = any other value)."""
    pairs = expr[2:-1]
    for label, output in zip(pairs[::2], pairs[1::2], strict=True):
        if value is not None and value in (label if isinstance(label, list) else [label]):
            return output
    return expr[-1]


def match_values(expr: Any) -> list[Any]:
    """The values a `match` expression names, in order."""
    values: list[Any] = []
    for label in expr[2:-1:2]:
        values += label if isinstance(label, list) else [label]
    return values
