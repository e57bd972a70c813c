"""Checks and repairs on the staged rows, set-based, before anything reaches the layer: null, empty or
wrong-type geometries and empty or duplicate codes are rejected (listed with their reason, then deleted
from the stage), invalid geometries repaired with ST_MakeValid (or rejected with --strict), and rows
outside the plausible extent found (the loader warns or refuses).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from spatial.io.columns import Expression, Mapping, code_expression
from spatial.io.stage import ISSUES, STAGE
from spatial.layers import Layer

REJECT_LIST_LIMIT = 1000  # rejected rows listed one by one (all are counted)
TYPE_DIMENSION = {"MultiPolygon": 2, "Polygon": 2, "MultiLineString": 1, "LineString": 1,
                  "MultiPoint": 0, "Point": 0}


@dataclass
class CheckResult:
    repaired: int = 0
    rejected: int = 0
    rejects: list[tuple[int, int, str | None, str]] = field(default_factory=list)  # src, row, code, reason
    outside: int = 0
    outside_rows: list[tuple[int, int]] = field(default_factory=list)
    extent: tuple[float, float, float, float] | None = None


def _on_stage(statement: str) -> sql.Composed:
    """A statement on the stage (`{stage}`) and its issues table (`{issues}`)."""
    return sql.SQL(statement).format(stage=STAGE, issues=ISSUES)


CHECK_GEOMETRY = _on_stage("""
INSERT INTO {issues} (src, row_no, kind, reason)
SELECT src, row_no, CASE WHEN reason LIKE 'invalid%%' AND NOT %(strict)s THEN 'invalid' ELSE 'rejected' END, reason
FROM (
    SELECT s.src, s.row_no, CASE
        WHEN s.geom IS NULL THEN 'null geometry'
        WHEN ST_IsEmpty(s.geom) THEN 'empty geometry'
        WHEN %(dimension)s::int IS NOT NULL AND ST_Dimension(s.geom) <> %(dimension)s::int
            AND NOT (GeometryType(s.geom) = 'GEOMETRYCOLLECTION')
            THEN 'geometry type ' || GeometryType(s.geom) || ' does not fit the layer (' || %(wanted)s || ')'
        WHEN %(validate)s AND NOT ST_IsValid(s.geom) THEN 'invalid geometry: ' || ST_IsValidReason(s.geom)
    END AS reason
    FROM {stage} s
) checked
WHERE reason IS NOT NULL
""")

REPAIR_GEOMETRY = _on_stage("""
UPDATE {stage} s SET geom = CASE WHEN %(extract)s::int IS NULL THEN ST_MakeValid(s.geom)
                                 ELSE ST_CollectionExtract(ST_MakeValid(s.geom), %(extract)s::int) END
FROM {issues} i
WHERE i.kind = 'invalid' AND i.src = s.src AND i.row_no = s.row_no
""")

MARK_REPAIRED = _on_stage("""
UPDATE {issues} i
SET kind = CASE WHEN s.geom IS NULL OR ST_IsEmpty(s.geom) OR NOT ST_IsValid(s.geom) THEN 'rejected' ELSE 'repaired' END,
    reason = CASE WHEN s.geom IS NULL OR ST_IsEmpty(s.geom) OR NOT ST_IsValid(s.geom)
                  THEN i.reason || '; ST_MakeValid left nothing of the layer''s geometry type'
                  ELSE i.reason END
FROM {stage} s
WHERE i.kind = 'invalid' AND i.src = s.src AND i.row_no = s.row_no
""")

# {code}: the layer's code of a stage row `s` (`code_expression`)
EMPTY_CODES = """
INSERT INTO {issues} (src, row_no, kind, reason)
SELECT src, row_no, 'rejected', 'no code (empty code field)'
FROM (SELECT s.src, s.row_no, {code} AS code FROM {stage} s) c WHERE code IS NULL
"""

ANY_DUPLICATE_CODE = "SELECT {code} FROM {stage} s GROUP BY 1 HAVING count(*) > 1 LIMIT 1"

DUPLICATE_CODES = """
INSERT INTO {issues} (src, row_no, kind, reason)
SELECT src, row_no, 'rejected', 'duplicate code ' || quote_literal(code) || ' (first at row ' || first_row || ')'
FROM (SELECT s.src, s.row_no, {code} AS code,
             row_number() OVER w AS n, first_value(s.row_no) OVER w AS first_row
      FROM {stage} s WINDOW w AS (PARTITION BY {code} ORDER BY s.src, s.row_no)) d
WHERE n > 1 AND code IS NOT NULL
"""

REJECTS = """
SELECT i.src, i.row_no, {code}, i.reason FROM {issues} i
JOIN {stage} s ON s.src = i.src AND s.row_no = i.row_no
WHERE i.kind = 'rejected' ORDER BY i.src, i.row_no, i.reason LIMIT {limit}
"""

# rows, not issues: a row with several faults is one rejected row, and a repaired row rejected for its code is rejected
ISSUE_COUNTS = _on_stage("""
SELECT kind, count(*) FROM (
    SELECT CASE WHEN bool_or(kind = 'rejected') THEN 'rejected' ELSE 'repaired' END AS kind
    FROM {issues} GROUP BY src, row_no) r
GROUP BY kind
""")

DELETE_REJECTED = _on_stage("""
DELETE FROM {stage} s USING {issues} i
WHERE i.kind = 'rejected' AND i.src = s.src AND i.row_no = s.row_no
""")

OUTSIDE_EXTENT = _on_stage("""
SELECT s.src, s.row_no FROM {stage} s
WHERE s.geom IS NOT NULL AND NOT (s.geom && ST_MakeEnvelope(%s, %s, %s, %s))
ORDER BY s.src, s.row_no
""")

STAGE_EXTENT = _on_stage("""
SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM {stage}) x
""")


def check_stage(conn: psycopg.Connection, layer: Layer, mapping: Mapping, *, strict: bool,
                plausible: tuple[float, float, float, float] | None, validate: bool = True) -> CheckResult:
    """Validate staged rows: reject null/empty/wrong-type geometries and duplicate or empty codes, repair
    invalid ones with ST_MakeValid (or reject them when strict), and find rows outside the plausible extent.
    Rejected rows are deleted from the stage.

    `validate=False` leaves out the validity test (ST_IsValid) and the repairs: only for a caller that
    lets the layer's own CHECK constraint find invalid rows (see `spatial.io.apply.check_and_apply`)."""
    if layer.has_geometry:
        _check_geometry(conn, layer, strict=strict, validate=validate)
    code = code_expression(mapping)
    _check_codes(conn, code, duplicates_possible=not mapping.generated_code)
    result = _collect_rejects(conn, code)
    if layer.has_geometry:
        if plausible is not None:
            rows = conn.execute(OUTSIDE_EXTENT, plausible).fetchall()
            result.outside = len(rows)
            result.outside_rows = [tuple(r) for r in rows[:REJECT_LIST_LIMIT]]
        extent = conn.execute(STAGE_EXTENT).fetchone()
        result.extent = None if extent[0] is None else tuple(extent)
    return result


def _check_geometry(conn: psycopg.Connection, layer: Layer, *, strict: bool, validate: bool) -> None:
    wanted = layer.geometry_type or "Geometry"
    dimension = TYPE_DIMENSION.get(wanted)
    conn.execute(CHECK_GEOMETRY, {"strict": strict, "dimension": dimension, "wanted": wanted, "validate": validate})
    if validate and not strict:
        conn.execute(REPAIR_GEOMETRY, {"extract": None if dimension is None else dimension + 1})
        conn.execute(MARK_REPAIRED)


def _check_codes(conn: psycopg.Connection, code: Expression, *,
                 duplicates_possible: bool) -> None:
    """Empty and duplicate codes (the layer's UNIQUE, NOT NULL code): later duplicates are rejected."""
    expression, params = code
    conn.execute(sql.SQL(EMPTY_CODES).format(code=expression, stage=STAGE, issues=ISSUES), params)
    if not duplicates_possible:  # generated codes (<source>-<row>) are unique by construction
        return
    if conn.execute(sql.SQL(ANY_DUPLICATE_CODE).format(code=expression, stage=STAGE), params).fetchone():
        conn.execute(sql.SQL(DUPLICATE_CODES).format(code=expression, stage=STAGE, issues=ISSUES), params + params)


def _collect_rejects(conn: psycopg.Connection, code: Expression) -> CheckResult:
    """Count the rows repaired and the rows rejected, list the first rejections (a row with several faults once
    for each), and take the rejected rows off the stage."""
    result = CheckResult()
    counts = dict(conn.execute(ISSUE_COUNTS).fetchall())
    result.repaired = counts.get("repaired", 0)
    result.rejected = counts.get("rejected", 0)
    if result.rejected:
        expression, params = code
        rejects = sql.SQL(REJECTS).format(code=expression, stage=STAGE, issues=ISSUES,
                                          limit=sql.Literal(REJECT_LIST_LIMIT))
        result.rejects = [tuple(r) for r in conn.execute(rejects, params).fetchall()]
        conn.execute(DELETE_REJECTED)
    return result
