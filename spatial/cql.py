"""CQL2 filters (OGC API – Features Part 3) compiled to a SQL condition with bound parameters.

Text and JSON are parsed by the `cql2` library (a maintained CQL2 implementation); both become the
CQL2-JSON tree, which is compiled here. Property names must be the layer's queryables; every literal
is a bound parameter; geometry literals are transformed to the storage CRS (the column never is),
so the GiST index stays usable.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import cql2
import orjson

from spatial.cql_limits import check_text, check_tree, run_with_deep_stack
from spatial.cql_text import normalise_quotes
from spatial.crs import SupportedCrs
from spatial.errors import InvalidParameter
from spatial.geometry import geometry_literal_sql
from spatial.queryables import Queryable
from spatial.sqlbuild import Params

PARAM = "filter"
# `filter-lang=cql-text`: the pre-standard name of CQL text, the one GDAL's OAPIF driver (3.6 to at least 3.12)
# asks for and sends its attribute filters in. Read as CQL2 text after `legacy_to_cql2` rewrites what GDAL writes
# that CQL2 text spells otherwise.
LEGACY_CQL_TEXT = "cql-text"
QUOTED = re.compile(r"'(?:[^']|'')*'")
ILIKE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s+ILIKE\s*$", re.IGNORECASE)
GDAL_DATE = re.compile(r"'(\d{4}-\d{2}-\d{2})T'")  # GDAL writes a date as 'YYYY-MM-DDT'

COMPARISON = {"=": "=", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
SPATIAL = {
    "s_intersects": "ST_Intersects", "s_within": "ST_Within", "s_contains": "ST_Contains",
    "s_disjoint": "ST_Disjoint", "s_touches": "ST_Touches", "s_crosses": "ST_Crosses",
    "s_overlaps": "ST_Overlaps", "s_equals": "ST_Equals",
}
# CQL2 arithmetic (its class "Arithmetic Expressions"): `div` is integer division, `%` the remainder, `^` a power
ARITHMETIC = {"+": "({} + {})", "-": "({} - {})", "*": "({} * {})", "/": "({} / {})", "%": "({} % {})",
              "^": "({} ^ {})", "div": "div({}, {})"}
OPEN = ("..", "")


class Bound:
    """A literal that becomes a bound parameter when the SQL first uses it: a parameter the statement never
    names has no type, and PostgreSQL refuses the statement."""

    def __init__(self, params: Params, value: Any, cast: str) -> None:
        self.params, self.value, self.cast = params, value, cast
        self.sql: str | None = None

    def __str__(self) -> str:
        if self.sql is None:
            self.sql = self.params.add(self.value, self.cast)
        return self.sql


Sql = str | Bound


def parse(text: str, lang: str) -> dict[str, Any] | bool:
    """CQL2 text or JSON → the CQL2-JSON tree (`true` and `false` are filters too). Syntax errors, and filters past
    the limits of `spatial.cql_limits` (length, nesting, size), are InvalidParameter('filter')."""
    lang = (lang or "cql2-text").lower()
    if lang == LEGACY_CQL_TEXT:
        text, lang = legacy_to_cql2(text), "cql2-text"
    if lang not in ("cql2-text", "cql2-json"):
        raise InvalidParameter(f"filter-lang: unsupported {lang!r}; use cql2-text or cql2-json",
                               parameter="filter-lang")
    check_text(text)
    if lang == "cql2-text":
        text = normalise_quotes(text)
    read = cql2.parse_text if lang == "cql2-text" else cql2.parse_json
    try:
        tree = run_with_deep_stack(lambda: read(text).to_json(), text)
    except (cql2.ParseError, cql2.ValidationError, ValueError, RecursionError) as exc:
        message = " ".join(str(exc).split())
        raise InvalidParameter(f"filter: CQL2 syntax error ({lang}): {message}", parameter=PARAM) from None
    if not isinstance(tree, dict | bool):
        raise InvalidParameter("filter: a CQL2 filter must be a boolean expression", parameter=PARAM)
    check_tree(tree)
    return tree


def legacy_to_cql2(text: str) -> str:
    """GDAL's CQL text as CQL2 text: `p ILIKE 'v'` becomes `CASEI(p) LIKE CASEI('v')` and a date 'YYYY-MM-DDT'
    becomes 'YYYY-MM-DD'; anything else, and whatever is inside a string literal, is left as it is."""
    out: list[str] = []
    position = 0
    for literal in QUOTED.finditer(text):
        before = text[position:literal.start()]
        quoted = GDAL_DATE.sub(r"'\1'", literal.group()) if GDAL_DATE.fullmatch(literal.group()) else literal.group()
        if (ilike := ILIKE.search(before)) is not None:
            before = f"{before[:ilike.start()]}CASEI({ilike.group(1)}) LIKE "
            quoted = f"CASEI({quoted})"
        out += [before, quoted]
        position = literal.end()
    out.append(text[position:])
    return "".join(out)


class Compiler:
    def __init__(self, fields: dict[str, Queryable], params: Params, filter_crs: SupportedCrs) -> None:
        self.fields = fields
        self.params = params
        self.crs = filter_crs
        self.context = "the property"  # the property a literal is compared with, for error messages

    # -- boolean expressions --------------------------------------------------------------------------
    def condition(self, node: Any) -> str:
        if isinstance(node, bool):
            return "TRUE" if node else "FALSE"
        if not isinstance(node, dict) or "op" not in node:
            raise InvalidParameter(f"filter: expected a predicate, got {_short(node)}", parameter=PARAM)
        op = str(node["op"]).lower()
        args = _args(node)
        handler = self._handlers().get(op)
        if handler is None:
            if op in SPATIAL:
                return self._spatial(op, args)
            if op.startswith("t_"):
                return self._temporal(op, args)
            raise InvalidParameter(f"filter: unsupported CQL2 operator {node['op']!r}", parameter=PARAM)
        return handler(args)

    def _handlers(self) -> dict[str, Callable[[list[Any]], str]]:
        return {
            "and": lambda a: "(" + " AND ".join(self.condition(x) for x in _some(a, "AND")) + ")",
            "or": lambda a: "(" + " OR ".join(self.condition(x) for x in _some(a, "OR")) + ")",
            "not": lambda a: f"(NOT {self.condition(_one(a, 'NOT'))})",
            **{op: (lambda a, sql=sql: self._compare(sql, a)) for op, sql in COMPARISON.items()},
            "like": self._like,
            "in": self._in,
            "between": self._between,
            "isnull": self._isnull,
        }

    def _compare(self, sql_op: str, args: list[Any]) -> str:
        left, right = _two(args)
        kind = self._kind_of(left) or self._kind_of(right) or "text"
        self._set_context(left, right)
        return f"({self.scalar(left, kind)} {sql_op} {self.scalar(right, kind)})"

    def _like(self, args: list[Any]) -> str:
        left, right = _two(args)
        return f"({self.scalar(left, 'text')}::text LIKE {self.scalar(right, 'text')})"

    def _in(self, args: list[Any]) -> str:
        left, values = _two(args)
        if not isinstance(values, list):
            raise InvalidParameter("filter: IN takes a list of values", parameter=PARAM)
        kind = self._kind_of(left) or "text"
        self._set_context(left)
        items = ", ".join(self.scalar(v, kind) for v in values)
        return f"({self.scalar(left, kind)} IN ({items}))" if values else "FALSE"

    def _between(self, args: list[Any]) -> str:
        if len(args) != 3:
            raise InvalidParameter("filter: BETWEEN takes a value, a low and a high bound", parameter=PARAM)
        kind = self._kind_of(args[0]) or "number"
        self._set_context(args[0])
        value, low, high = (self.scalar(a, kind) for a in args)
        return f"({value} BETWEEN {low} AND {high})"

    def _set_context(self, *nodes: Any) -> None:
        for node in nodes:
            if isinstance(node, dict) and "property" in node:
                self.context = f"property {node['property']!r}"
                return

    def _isnull(self, args: list[Any]) -> str:
        node = _one(args, "IS NULL")
        if isinstance(node, dict) and "property" in node and self.field(node["property"]).kind == "geometry":
            return f"({self.geometry(node)} IS NULL)"  # a geometry may be null too (CQL2 isNullOperand)
        return f"({self.scalar(node, None)} IS NULL)"

    # -- spatial ---------------------------------------------------------------------------------------
    def _spatial(self, op: str, args: list[Any]) -> str:
        left, right = _two(args)
        return f"{SPATIAL[op]}({self.geometry(left)}, {self.geometry(right)})"

    def geometry(self, node: Any) -> str:
        if isinstance(node, dict) and "property" in node:
            field = self.field(node["property"])
            if field.kind != "geometry":
                raise InvalidParameter(f"filter: property {field.name!r} is not a geometry", parameter=PARAM)
            return field.sql
        if isinstance(node, dict) and ("type" in node or "bbox" in node):
            return geometry_literal_sql(node, self.crs, self.params, PARAM)
        if isinstance(node, dict) and str(node.get("op", "")).lower() == "envelope":  # CQL2 drafts' name of BBOX
            return geometry_literal_sql({"bbox": node.get("args") or []}, self.crs, self.params, PARAM)
        raise InvalidParameter(f"filter: expected a geometry, got {_short(node)}", parameter=PARAM)

    # -- temporal --------------------------------------------------------------------------------------
    def _temporal(self, op: str, args: list[Any]) -> str:
        (a0, a1), (b0, b1) = (self._instant_or_interval(x) for x in _two(args))
        rules = {
            "t_before": "{a1} < {b0}",
            "t_after": "{a0} > {b1}",
            "t_intersects": "{a0} <= {b1} AND {a1} >= {b0}",
            "t_disjoint": "NOT ({a0} <= {b1} AND {a1} >= {b0})",
            "t_equals": "{a0} = {b0} AND {a1} = {b1}",
            "t_during": "{a0} > {b0} AND {a1} < {b1}",
            "t_contains": "{a0} < {b0} AND {a1} > {b1}",
            "t_starts": "{a0} = {b0} AND {a1} < {b1}",
            "t_startedby": "{a0} = {b0} AND {a1} > {b1}",
            "t_finishes": "{a1} = {b1} AND {a0} > {b0}",
            "t_finishedby": "{a1} = {b1} AND {a0} < {b0}",
            "t_meets": "{a1} = {b0}",
            "t_metby": "{a0} = {b1}",
            "t_overlaps": "{a0} < {b0} AND {a1} > {b0} AND {a1} < {b1}",
            "t_overlappedby": "{b0} < {a0} AND {b1} > {a0} AND {b1} < {a1}",
        }
        if op not in rules:
            raise InvalidParameter(f"filter: unsupported temporal operator {op!r}", parameter=PARAM)
        # only the ends the rule names are bound (T_BEFORE uses one end of an interval)
        return "(" + rules[op].format(a0=a0, a1=a1, b0=b0, b1=b1) + ")"

    def _instant_or_interval(self, node: Any) -> tuple[Sql, Sql]:
        if isinstance(node, dict) and "property" in node:
            field = self.field(node["property"])
            if field.kind not in ("date", "timestamp"):
                raise InvalidParameter(f"filter: property {field.name!r} is not temporal", parameter=PARAM)
            return field.sql, field.sql
        if isinstance(node, dict) and isinstance(node.get("interval"), list):
            start, end = (node["interval"] + [None, None])[:2]
            return self._instant(start, "-infinity"), self._instant(end, "infinity")
        if isinstance(node, dict) and ("timestamp" in node or "date" in node):
            value = self._temporal_value(node)
            return value, value
        raise InvalidParameter(f"filter: expected a time instant or interval, got {_short(node)}", parameter=PARAM)

    def _instant(self, value: Any, open_end: str) -> Sql:
        if isinstance(value, dict) and "property" in value:
            return self._instant_or_interval(value)[0]
        if isinstance(value, dict):
            return self._temporal_value(value)
        if value is None or value in OPEN:
            return f"'{open_end}'::timestamptz"
        return self._temporal_value({"timestamp" if "T" in str(value) else "date": value})

    def _temporal_literal(self, node: dict[str, Any]) -> str:
        return str(self._temporal_value(node))

    def _temporal_value(self, node: dict[str, Any]) -> Bound:
        try:
            if "timestamp" in node:
                return Bound(self.params, datetime.fromisoformat(str(node["timestamp"])), "timestamptz")
            return Bound(self.params, date.fromisoformat(str(node["date"])), "date")
        except ValueError:
            raise InvalidParameter(f"filter: bad date/time {_short(node)}", parameter=PARAM) from None

    # -- scalars ---------------------------------------------------------------------------------------
    def field(self, name: Any) -> Queryable:
        field = self.fields.get(str(name))
        if field is None:
            raise InvalidParameter(
                f"filter: unknown property {name!r}; queryables: {', '.join(self.fields)}", parameter=PARAM)
        return field

    def _kind_of(self, node: Any) -> str | None:
        if isinstance(node, dict):
            if "property" in node:
                return self.field(node["property"]).kind
            if "timestamp" in node:
                return "timestamp"
            if "date" in node:
                return "date"
            op = str(node.get("op", "")).lower()
            if op in ARITHMETIC:
                return "number"
            if op in ("casei", "accenti", "lower", "upper"):
                return "text"
        return None

    def scalar(self, node: Any, kind: str | None) -> str:
        if isinstance(node, dict):
            if "property" in node:
                field = self.field(node["property"])
                if field.kind == "geometry":
                    raise InvalidParameter(f"filter: geometry property {field.name!r} used as a value",
                                           parameter=PARAM)
                return field.sql
            if "timestamp" in node or "date" in node:
                return self._temporal_literal(node)
            op = str(node.get("op", "")).lower()
            args = _args(node)
            if op in ARITHMETIC:
                left, right = _two(args)
                return ARITHMETIC[op].format(self.scalar(left, "number"), self.scalar(right, "number"))
            if op in ("casei", "lower"):
                return f"lower({self.scalar(_one(args, op), 'text')}::text)"
            if op == "upper":
                return f"upper({self.scalar(_one(args, op), 'text')}::text)"
            if op == "accenti":
                return f"unaccent({self.scalar(_one(args, op), 'text')}::text)"
            raise InvalidParameter(f"filter: unsupported expression {_short(node)}", parameter=PARAM)
        return self._literal(node, kind)

    def _literal(self, value: Any, kind: str | None) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return self.params.add(value, "boolean")
        if isinstance(value, int | float):
            if kind in ("text", "date", "timestamp"):
                raise InvalidParameter(f"filter: {value!r} is a number but {self.context} is {kind}", parameter=PARAM)
            if kind == "integer" and float(value).is_integer() and abs(value) < 2**63:
                return self.params.add(int(value), "bigint")  # as the column: its index stays usable
            return self.params.add(Decimal(str(value)), "numeric")  # exact; beyond bigint too
        if isinstance(value, str):
            if kind in ("integer", "number"):
                raise InvalidParameter(f"filter: {value!r} is text but {self.context} is a number", parameter=PARAM)
            if kind == "date":
                return self._temporal_literal({"date": value})
            if kind == "timestamp":
                return self._temporal_literal({"timestamp": value})
            return self.params.add(value, "text")
        raise InvalidParameter(f"filter: unsupported value {_short(value)}", parameter=PARAM)


def compile_filter(tree: dict[str, Any] | bool, fields: dict[str, Queryable], params: Params,
                   filter_crs: SupportedCrs) -> str:
    return Compiler(fields, params, filter_crs).condition(tree)


def _args(node: dict[str, Any]) -> list[Any]:
    args = node.get("args")
    if args is None:
        return []
    if not isinstance(args, list):
        raise InvalidParameter(f"filter: the arguments of {_short(node.get('op'))} must be a list", parameter=PARAM)
    return args


def _one(args: list[Any], op: str) -> Any:
    if len(args) != 1:
        raise InvalidParameter(f"filter: {op} takes one argument, got {len(args)}", parameter=PARAM)
    return args[0]


def _some(args: list[Any], op: str) -> list[Any]:
    if not args:
        raise InvalidParameter(f"filter: {op} takes at least one argument", parameter=PARAM)
    return args


def _two(args: list[Any]) -> tuple[Any, Any]:
    if not isinstance(args, list) or len(args) != 2:
        raise InvalidParameter("filter: this operator takes two arguments", parameter=PARAM)
    return args[0], args[1]


def _short(node: Any) -> str:
    text = orjson.dumps(node).decode() if not isinstance(node, str) else repr(node)
    return text if len(text) <= 120 else text[:117] + "…"
