"""A feature's versions, newest first, as GeoJSON Features built by PostgreSQL (`GET …/items/{featureId}/history`).

Each version is the feature as it was — the same Feature an item request gives (`spatial.features.feature_sql`: the
layer's properties, the geometry in the requested CRS) — with a `version` member saying when it began and ended
(`valid_from`, `valid_to`: null while it is the current one), who made it (the LAPIS user, or the database role of a
change made in plain SQL or QGIS), under which proposal, why, the operation and the transaction. A deletion is a
version too: no geometry, no properties. Paged by version number (keyset: `before` the last one of a page).
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from spatial.crs import SupportedCrs
from spatial.errors import InvalidParameter, NotFound
from spatial.features import feature_sql
from spatial.history.asof import history_table
from spatial.registry import Layer

VERSION_JSON = """json_build_object(
    'number', t.version, 'operation', t.operation, 'valid_from', t.valid_from,
    'valid_to', (SELECT n.valid_from FROM {table} n WHERE n.id = t.id AND n.version > t.version
                 ORDER BY n.version LIMIT 1),
    'who', t.who, 'proposal', t.proposal, 'reason', t.reason, 'txid', t.txid)::text"""
DELETED = """'{"type":"Feature","id":' || t.id || ',"geometry":null,"properties":null'"""
VERSIONS_SQL = """
SELECT CASE WHEN t.operation = 'delete' THEN {deleted} ELSE left({feature}, -1) END
       || ',"version":' || {version} || '}}' AS f, t.version,
       CASE WHEN $4 THEN (SELECT count(*) FROM {table} c WHERE c.id = $1) END AS matched
FROM {table} t
WHERE t.id = $1 AND ($2::bigint IS NULL OR t.version < $2::bigint)
ORDER BY t.version DESC
LIMIT $3
"""


@dataclass
class VersionsPage:
    features: list[str]  # GeoJSON Feature texts, newest first
    next_before: int | None  # the `before` of the next (older) page; None on the last one
    number_matched: int | None  # every version of the feature (on a first page)

    def features_json(self) -> bytes:
        return ("[" + ",".join(self.features) + "]").encode()


def parse_before(text: str | None) -> int | None:
    """`before=`: a version number (from a `next` link)."""
    if text is None:
        return None
    if not text.isdigit() or len(text) > 18:
        raise InvalidParameter(f"before: {text!r} is not a version number; follow the links as given",
                               parameter="before")
    return int(text)


def feature_id_of(text: str, layer: Layer) -> int:
    """A path's feature id as the bigint ids are (NotFound for anything else, as for an item)."""
    try:
        fid = int(text)
    except ValueError:
        fid = None
    if fid is None or not -(2**63) <= fid < 2**63:
        raise NotFound(f"no feature {text!r} in collection {layer.id!r}", parameter="featureId")
    return fid


def versions_sql(layer: Layer, crs: SupportedCrs) -> str:
    """The statement of a page: $1 feature id, $2 before (or NULL), $3 limit + 1, $4 count them all."""
    table = history_table(layer)
    return VERSIONS_SQL.format(deleted=DELETED, feature=feature_sql(layer, crs, None),
                               version=VERSION_JSON.format(table=table), table=table)


async def fetch_versions(conn: asyncpg.Connection, layer: Layer, feature_id: str, crs: SupportedCrs, *,
                         limit: int, before: int | None = None) -> VersionsPage:
    """A page of the feature's versions, newest first (NotFound: it never had one)."""
    fid = feature_id_of(feature_id, layer)
    rows = await conn.fetch(versions_sql(layer, crs), fid, before, limit + 1, before is None)
    if not rows and before is None:
        raise NotFound(f"no feature {feature_id!r} in collection {layer.id!r}, now or before",
                       parameter="featureId")
    more = len(rows) > limit
    rows = rows[:limit]
    matched = rows[0]["matched"] if rows and before is None else None
    return VersionsPage([r["f"] for r in rows], rows[-1]["version"] if more else None, matched)
