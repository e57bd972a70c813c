"""Features of a layer, as OGC API – Features serves them: GeoJSON built by PostgreSQL, one statement
per page, keyset paging on (sort keys…, id), literals reprojected (never the column).

Python's part per page is joining the feature texts PostgreSQL returns; nothing is decoded.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import asyncpg
import orjson

from spatial import cql
from spatial.crs import DEFAULT, SupportedCrs
from spatial.edits.etag import etag_sql
from spatial.errors import InvalidParameter, NotFound
from spatial.geometry import bbox_sql, from_storage_sql
from spatial.history.asof import source_sql
from spatial.layers import Layer
from spatial.queryables import Queryable, queryables, temporal_extent
from spatial.sqlbuild import Params

# numberMatched is computed with the page when the table is estimated at no more rows than this
# (or when asked for); above it, a COUNT(*) per page would cost more than the page itself.
CHEAP_COUNT_ROWS = 50_000

@dataclass
class ItemsRequest:
    layer: Layer
    limit: int = 10
    bbox: tuple[float, float, float, float] | None = None
    bbox_crs: SupportedCrs = DEFAULT
    crs: SupportedCrs = DEFAULT
    properties: tuple[str, ...] | None = None
    sortby: tuple[tuple[str, bool], ...] = ()  # (property, descending)
    equals: dict[str, str] = field(default_factory=dict)
    filter: dict[str, Any] | bool | None = None  # a CQL2-JSON tree (`true`/`false` are filters too)
    filter_crs: SupportedCrs = DEFAULT
    cursor: str | None = None
    count: bool = False  # numberMatched even on a big table
    datetime: tuple[datetime | None, datetime | None] | None = None  # instant or interval; None ends are open
    # SQL of the rows to read in place of the layer's table (a proposal's preview: `spatial.edits.preview`)
    source: str | None = None
    asof: datetime | None = None  # the layer as it stood then (spatial.history.asof), not as it is
    revision: int | None = None  # a plan revision: read as `asof` its instant, once the route has looked it up

@dataclass
class ItemsPage:
    features: list[str]  # GeoJSON Feature texts, in order
    next_cursor: str | None
    prev_cursor: str | None
    number_matched: int | None

    def features_json(self) -> bytes:
        return ("[" + ",".join(self.features) + "]").encode()

def parse_sortby(layer: Layer, text: str | None) -> tuple[tuple[str, bool], ...]:
    if not text:
        return ()
    fields = queryables(layer)
    keys = []
    for part in text.split(","):
        part = part.strip()
        descending = part.startswith("-")
        name = part.lstrip("+-").strip()
        if name not in fields or fields[name].kind == "geometry":
            raise InvalidParameter(f"sortby: unknown property {name!r}; sortable: "
                                   f"{', '.join(n for n, q in fields.items() if q.kind != 'geometry')}",
                                   parameter="sortby")
        keys.append((name, descending))
    return tuple(keys)

def parse_properties(layer: Layer, text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in layer.column_names]
    if unknown:
        raise InvalidParameter(f"properties: unknown {', '.join(unknown)}; known: {', '.join(layer.column_names)}",
                               parameter="properties")
    return names

def typed_value(q: Queryable, raw: str, parameter: str) -> Any:
    """A query-string value converted to the property's type (so a bad one is a 400, not a database error)."""
    try:
        if q.kind == "integer":
            return int(raw)
        if q.kind == "number":
            return Decimal(raw)
        if q.kind == "date":
            return date.fromisoformat(raw)
        if q.kind == "timestamp":
            return datetime.fromisoformat(raw.replace("Z", "+00:00"))
        if q.kind == "boolean":
            return {"true": True, "false": False}[raw.lower()]
    except KeyError:
        raise InvalidParameter(f"{parameter}: {raw!r} is not true or false", parameter=parameter) from None
    except (ValueError, InvalidOperation):
        raise InvalidParameter(f"{parameter}: {raw!r} is not a valid {q.kind}", parameter=parameter) from None
    return raw

def feature_sql(layer: Layer, crs: SupportedCrs, properties: tuple[str, ...] | None) -> str:
    """SQL text of one GeoJSON Feature for the row `t`."""
    names = properties if properties is not None else layer.column_names
    pairs = ", ".join(f"'{n}', t.{n}" for n in names)
    props = f"json_build_object({pairs})::text" if names else "'{}'"
    if properties is None:  # extra attributes loaded into props come along, registry columns win
        props = (f"CASE WHEN t.props = '{{}}'::jsonb THEN {props} "
                 f"ELSE (t.props || jsonb_build_object({pairs}))::text END")
    geometry = (f"COALESCE(ST_AsGeoJSON({from_storage_sql('t.geom', crs)}, {crs.digits}, 0), 'null')"
                if layer.has_geometry else "'null'")
    return (f"""'{{"type":"Feature","id":' || t.id || ',"geometry":' || {geometry} """
            f"""|| ',"properties":' || {props} || '}}'""")

def _encode_cursor(values: list[str | None], direction: str, signature: str) -> str:
    raw = orjson.dumps({"v": values, "d": direction, "s": signature})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")

def _decode_cursor(token: str, signature: str, n_keys: int) -> tuple[list[str | None], str]:
    foreign = InvalidParameter("cursor: not a cursor this server issued", parameter="cursor")
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        values, direction, sig = data["v"], data["d"], data["s"]
    except (ValueError, KeyError, TypeError, binascii.Error):  # orjson.JSONDecodeError is a ValueError
        raise foreign from None
    if direction not in ("n", "p") or not isinstance(values, list) or len(values) != n_keys or not all(
            v is None or isinstance(v, str) for v in values):
        raise foreign
    if sig != signature:
        raise InvalidParameter("cursor: issued for another sort order; follow the links as given",
                               parameter="cursor")
    return values, direction

def _conditions(req: ItemsRequest, params: Params) -> list[str]:
    layer, fields = req.layer, queryables(req.layer)
    where: list[str] = []
    # features without a spatial (temporal) geometry match any bbox (datetime): OGC API – Features Part 1,
    # /req/core/fc-bbox-response C and /req/core/fc-time-response C
    if req.bbox is not None and layer.has_geometry:
        where.append(f"ST_Intersects(t.geom, (SELECT {bbox_sql(req.bbox, req.bbox_crs, params)}))")
    for name, raw in req.equals.items():
        q = fields[name]
        where.append(f"{q.sql} = {params.add(typed_value(q, raw, name), q.cast)}")
    if req.filter is not None:
        where.append(cql.compile_filter(req.filter, fields, params, req.filter_crs))
    if req.datetime is not None and (extent := temporal_extent(layer)) is not None:
        start_sql, end_sql = extent
        lo, hi = req.datetime
        if hi is not None:
            where.append(f"coalesce({start_sql} <= {params.add(hi, 'timestamptz')}, TRUE)")
        if lo is not None:
            where.append(f"coalesce({end_sql} >= {params.add(lo, 'timestamptz')}, TRUE)")
    return where

SortKey = tuple[str, bool, str]  # (sql, descending, cast)

def _sort_keys(req: ItemsRequest) -> list[SortKey]:
    """Per sort property an "is null" key (nulls last) and the value; id last, unique."""
    fields = queryables(req.layer)
    keys: list[SortKey] = []
    for name, descending in req.sortby:
        q = fields[name]
        if name != "id":
            keys.append((f"({q.sql} IS NULL)", False, "boolean"))
        keys.append((q.sql, descending, q.cast))
        if name == "id":
            break  # id is unique: later keys cannot matter
    if all(sql != "t.id" for sql, _d, _c in keys):
        keys.append(("t.id", False, "bigint"))
    return keys

def _after_cursor(keys: list[SortKey], values: list[str | None], direction: str, params: Params) -> str:
    """The keyset condition: rows after (direction 'n') or before ('p') the cursor's key values."""
    bound = [params.add(v, "text") for v in values]  # one per value key
    refs: list[str] = []
    vi = 0
    for _sql, _desc, cast in keys:
        if cast == "boolean":  # the "is null" key of the value key that follows
            refs.append(f"({bound[vi]} IS NULL)")
        else:
            refs.append(f"{bound[vi]}::{cast}")
            vi += 1
    terms = []
    for i, (sql, desc, _cast) in enumerate(keys):
        forward = not desc if direction == "n" else desc
        op = ">" if forward else "<"
        equal = [f"{keys[j][0]} IS NOT DISTINCT FROM {refs[j]}" for j in range(i)]
        terms.append("(" + " AND ".join([*equal, f"{sql} {op} {refs[i]}"]) + ")")
    return "(" + " OR ".join(terms) + ")"

def selection_sql(req: ItemsRequest, params: Params) -> tuple[str, str]:
    """The WHERE condition and ORDER BY of every feature `req` selects, paging aside (no cursor, no limit): what a
    download writes. The same conditions and order as `fetch_items`, so a download holds exactly the pages' features."""
    where = " AND ".join(_conditions(req, params)) or "TRUE"
    order = ", ".join(f"{sql} {'DESC' if desc else 'ASC'}" for sql, desc, _cast in _sort_keys(req))
    return where, order

async def fetch_items(conn: asyncpg.Connection, req: ItemsRequest) -> ItemsPage:
    layer = req.layer
    params = Params()
    where = _conditions(req, params)
    count_where = list(where)
    keys = _sort_keys(req)
    value_keys = [k for k in keys if k[2] != "boolean"]
    signature = ",".join(f"{'-' if d else '+'}{n}" for n, d in req.sortby) or "id"

    direction = "n"
    if req.cursor:
        values, direction = _decode_cursor(req.cursor, signature, len(value_keys))
        where.append(_after_cursor(keys, values, direction, params))

    backwards = direction == "p"
    order = ", ".join(f"{sql} {'DESC' if desc != backwards else 'ASC'}" for sql, desc, _ in keys)
    key_columns = "".join(f", {sql}::text" for sql, _d, _c in value_keys)
    where_sql = " AND ".join(where) or "TRUE"
    count_sql = " AND ".join(count_where) or "TRUE"
    source = req.source or source_sql(layer, req.asof, params)
    want_count = params.add(req.count, "boolean")
    limit = params.add(req.limit + 1, "bigint")

    sql = (
        f"SELECT {feature_sql(layer, req.crs, req.properties)} AS f{key_columns}, "
        f"CASE WHEN {want_count} OR (SELECT c.reltuples FROM pg_class c WHERE c.oid = '{layer.id}'::regclass) "
        f"BETWEEN 0 AND {CHEAP_COUNT_ROWS} THEN (SELECT count(*) FROM {source} t WHERE {count_sql}) END AS matched "
        f"FROM {source} t WHERE {where_sql} ORDER BY {order} LIMIT {limit}"
    )
    rows = await conn.fetch(sql, *params.values)
    more = len(rows) > req.limit
    rows = rows[: req.limit]
    if backwards:
        rows = rows[::-1]
    matched: int | None = rows[0]["matched"] if rows else (0 if not req.cursor else None)
    n_values = len(value_keys)

    def cursor_of(row: asyncpg.Record, d: str) -> str:
        return _encode_cursor([row[1 + i] for i in range(n_values)], d, signature)

    next_cursor = prev_cursor = None
    if rows:
        has_next = more if not backwards else True
        has_prev = (req.cursor is not None) if not backwards else more
        if has_next:
            next_cursor = cursor_of(rows[-1], "n")
        if has_prev:
            prev_cursor = cursor_of(rows[0], "p")
    return ItemsPage([r[0] for r in rows], next_cursor, prev_cursor, matched)

async def fetch_feature(conn: asyncpg.Connection, layer: Layer, feature_id: str, crs: SupportedCrs,
                        source: str | None = None, asof: datetime | None = None) -> tuple[str, str | None]:
    """One feature's GeoJSON and its version (`spatial.edits.etag`: what `If-Match` of a write is compared with),
    from the layer's table, from `source` (a preview, see ItemsRequest), or (`asof`) as it was then, without a
    version (a past state is not written to) — NotFound when it did not exist."""
    try:
        fid = int(feature_id)
    except ValueError:
        fid = None
    row = None
    if fid is not None and -(2**63) <= fid < 2**63:
        params = Params()
        params.add(fid, "bigint")
        table = source or source_sql(layer, asof, params)
        version = "NULL::text" if asof is not None else etag_sql(layer, "t")
        row = await conn.fetchrow(f"SELECT {feature_sql(layer, crs, None)}, {version} FROM {table} t WHERE t.id = $1",
                                  *params.values)
    if row is None:
        when = f" at {asof.isoformat()}" if asof is not None else ""
        raise NotFound(f"no feature {feature_id!r} in collection {layer.id!r}{when}", parameter="featureId")
    return row[0], row[1]
