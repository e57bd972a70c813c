"""Name / code search over every layer, diacritics ignored ("vanh dai 3" finds "Vành đai 3"), ranked:
exact code first, then names containing the words, then trigram word similarity. One statement that
uses each searchable table's trigram index on `lapis_search_text(code, name_vi, name_en)`."""

from __future__ import annotations

from functools import cache

import asyncpg

from spatial.errors import InvalidParameter
from spatial.layers import LAYERS
from spatial.registry import Registry

MAX_LIMIT = 100

# $1 the query, $2 the query with LIKE wildcards escaped, $3 limit
_BRANCH = """
  SELECT '{layer}'::text AS collection, t.id, t.code, t.name_vi, t.name_en, {extent} AS bbox,
         (lower(t.code) = lower($1))::int * 3
         + (lapis_unaccent(t.name_vi) = q.q OR lapis_unaccent(coalesce(t.name_en, '')) = q.q)::int * 2
         + (lapis_search_text(t.code, t.name_vi, t.name_en) LIKE '%' || q.pattern || '%')::int
         + word_similarity(q.q, lapis_search_text(t.code, t.name_vi, t.name_en)) AS score
  FROM {layer} t, q
  WHERE lapis_search_text(t.code, t.name_vi, t.name_en) LIKE '%' || q.pattern || '%'
     OR q.q <% lapis_search_text(t.code, t.name_vi, t.name_en)"""


@cache
def search_sql(registry: Registry) -> str:
    """The one statement searching every searchable layer of `registry`."""
    branches = (_BRANCH.format(layer=layer.id, extent=(
        "ARRAY[ST_XMin(t.geom), ST_YMin(t.geom), ST_XMax(t.geom), ST_YMax(t.geom)]"
        if layer.has_geometry else "NULL::float8[]")) for layer in registry.searchable)
    return (
        "WITH q AS (SELECT lapis_unaccent($1::text) AS q, lapis_unaccent($2::text) AS pattern) "
        "SELECT coalesce(json_agg(json_build_object('collection', s.collection, 'id', s.id, 'code', s.code, "
        "'name_vi', s.name_vi, 'name_en', s.name_en, 'score', round(s.score::numeric, 4), 'bbox', s.bbox) "
        "ORDER BY s.score DESC, s.collection, s.code), '[]'::json)::text FROM ("
        "SELECT * FROM (" + " UNION ALL ".join(branches) + ") u ORDER BY score DESC, collection, code LIMIT $3) s"
    )


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search(conn: asyncpg.Connection, q: str, limit: int = 10, registry: Registry = LAYERS) -> str:
    """JSON text: a list of {collection, id, code, name_vi, name_en, score, bbox}, best first."""
    q = " ".join(q.split())
    if not q:
        raise InvalidParameter("q: empty search text", parameter="q")
    if len(q) > 200:
        raise InvalidParameter("q: at most 200 characters", parameter="q")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidParameter(f"limit: between 1 and {MAX_LIMIT}", parameter="limit")
    if not registry.searchable:
        return "[]"
    return await conn.fetchval(search_sql(registry), q, escape_like(q), limit)
