"""What may be built here? A parcel (or a point) and a proposed use → a verdict.

The zones the parcel overlaps (regions, the centre, functional zones) are found in PostGIS with each one's
share of the parcel's area on the ellipsoid, and joined to the `use_rules` layer on (zone code, use). Each
overlapped zone gets the verdict of its rule — or `no_rule` when the rules say nothing of that use there.
The overall verdict is the most restrictive one among the zones whose share is meaningful (at least
`min_share_pct` of the parcel): a sliver of a prohibited zone along a parcel's edge does not condemn it,
but a real part of it does. With no rule covering a meaningful share the answer is `unknown`, never a guess.

The bundled rules are inferred from the plan's description of each region and zone, not official rules:
every rule carries `inferred`, its `legal_basis` and `source`, and the answer repeats them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import shapely

from spatial import layers
from spatial.crs import DEFAULT, SUPPORTED, SupportedCrs
from spatial.errors import InvalidParameter
from spatial.geometry import check_geodesic_edges, parse_geojson_geometry, to_storage_sql

USE_CATEGORIES: dict[str, tuple[str, str]] = {  # the registry's use categories, named in Vietnamese and English
    "residential": ("Nhà ở, khu dân cư", "Housing, residential areas"),
    "industrial": ("Công nghiệp", "Industry"),
    "commercial": ("Thương mại, dịch vụ", "Commerce and services"),
    "logistics": ("Cảng, kho bãi, logistics", "Ports, warehousing, logistics"),
    "agriculture": ("Nông nghiệp", "Agriculture"),
    "tourism": ("Du lịch", "Tourism"),
    "border_trade": ("Kinh tế cửa khẩu", "Border-gate trade"),
}
# From the least to the most restrictive: the overall verdict is the maximum in this order.
VERDICT_ORDER = layers.VERDICTS
DEFAULT_MIN_SHARE_PCT = 5.0

# $1 geometry WKB in the request CRS, $2 the use category. A point (or line) lies 100 % in each zone it touches;
# a polygon's share is its overlap's ellipsoidal area over its own.
CHECK_SQL = """
WITH p AS (SELECT {geom} AS g),
q AS (SELECT g, CASE WHEN ST_Dimension(g) = 2 THEN ST_Area(g::geography) END AS area FROM p),
hits AS (
  SELECT z.code, z.name_vi, z.name_en, z.kind,
         CASE WHEN q.area IS NULL OR q.area = 0 OR ST_Covers(z.geom, q.g) THEN 100.0
              ELSE 100.0 * ST_Area(ST_Intersection(z.geom, q.g)::geography) / q.area END AS share_pct
  FROM zones z, q WHERE ST_Intersects(z.geom, q.g)
)
SELECT h.code, h.name_vi, h.name_en, h.kind, round(h.share_pct::numeric, 4)::float8 AS share_pct,
       r.code AS rule_code, r.verdict, r.legal_basis, r.note_vi, r.note_en, r.source, r.inferred,
       (SELECT round(area::numeric, 2)::float8 FROM q) AS parcel_area_m2
FROM hits h LEFT JOIN use_rules r ON r.zone_code = h.code AND r.use_category = $2
WHERE h.share_pct > 0
ORDER BY h.share_pct DESC, h.kind <> 'region', h.code
"""

_SQL = {c.uri: CHECK_SQL.format(geom=to_storage_sql("ST_GeomFromWKB($1::bytea)", c)) for c in SUPPORTED}


@dataclass(frozen=True)
class ZoneVerdict:
    """One overlapped zone: its share of the parcel and what its rule (if any) says of the use."""

    code: str
    name_vi: str
    name_en: str | None
    kind: str
    share_pct: float
    verdict: str  # allowed | conditional | prohibited | no_rule
    rule: dict[str, Any] | None


def check_use(use: str) -> str:
    """The use category, or InvalidParameter naming the known ones."""
    if use not in USE_CATEGORIES:
        raise InvalidParameter(f"use: unknown use {use!r}; one of {', '.join(USE_CATEGORIES)}", parameter="use")
    return use


def check_min_share(value: float) -> float:
    if not 0 <= value <= 100:
        raise InvalidParameter("min_share_pct: a percentage between 0 and 100", parameter="min_share_pct")
    return value


def check_geometry(obj: Any, crs: SupportedCrs, parameter: str = "body") -> shapely.Geometry:
    """A GeoJSON geometry or Feature (polygon for a parcel, point for a map click), validated."""
    geom = parse_geojson_geometry(obj, crs, parameter)
    check_geodesic_edges(geom, crs, parameter)  # its area is measured on the ellipsoid
    return geom


def overall_verdict(zones: list[ZoneVerdict], min_share_pct: float) -> tuple[str, list[ZoneVerdict]]:
    """The most restrictive verdict among the ruled zones covering at least `min_share_pct`, and those zones.

    `unknown` when no such zone exists (outside the plan's zones, or no rule for that use there)."""
    deciding = [z for z in zones if z.verdict in VERDICT_ORDER and z.share_pct >= min_share_pct]
    if not deciding:
        return "unknown", []
    worst = max(VERDICT_ORDER.index(z.verdict) for z in deciding)
    verdict = VERDICT_ORDER[worst]
    return verdict, [z for z in deciding if z.verdict == verdict]


def reasons(use: str, zones: list[ZoneVerdict], verdict: str, deciding: list[ZoneVerdict],
            min_share_pct: float) -> list[dict[str, str]]:
    """Why, in Vietnamese and English: the deciding zones' rules first, then what was left aside."""
    use_vi, use_en = USE_CATEGORIES[use]
    out: list[dict[str, str]] = []
    for zone in deciding:
        rule = zone.rule or {}
        out.append({
            "vi": f"{zone.name_vi} ({_pct(zone.share_pct)}% thửa): {use_vi} — {_VERDICT_VI[zone.verdict]}. "
                  f"{rule.get('note_vi') or ''}".strip(),
            "en": f"{zone.name_en or zone.name_vi} ({_pct(zone.share_pct)}% of the parcel): {use_en} — "
                  f"{zone.verdict}. {rule.get('note_en') or ''}".strip(),
        })
    if verdict == "unknown":
        out.append({"vi": f"Không có quy tắc nào cho {use_vi.lower()} áp dụng cho ít nhất {_pct(min_share_pct)}% "
                          "diện tích thửa (ngoài các vùng của quy hoạch, hoặc chưa có quy tắc).",
                    "en": f"No rule for {use_en.lower()} covers at least {_pct(min_share_pct)}% of the parcel "
                          "(outside the plan's zones, or no rule there)."})
    for zone in zones:
        if zone.verdict in VERDICT_ORDER and zone.share_pct < min_share_pct:
            out.append({"vi": f"{zone.name_vi} chỉ chiếm {_pct(zone.share_pct)}% thửa (dưới {_pct(min_share_pct)}%): "
                              "không xét.",
                        "en": f"{zone.name_en or zone.name_vi} covers only {_pct(zone.share_pct)}% of the parcel "
                              f"(under {_pct(min_share_pct)}%): not counted."})
    return out


def _pct(value: float) -> str:
    """A percentage for a sentence: one decimal at most (50.5055 → 50.5, 96.0 → 96)."""
    return f"{value:.1f}".removesuffix(".0")


_VERDICT_VI = {"allowed": "được phép", "conditional": "có điều kiện", "prohibited": "không được phép"}
_RULE_FIELDS = ("rule_code", "legal_basis", "note_vi", "note_en", "source", "inferred")


def _zone(row: asyncpg.Record | dict[str, Any]) -> ZoneVerdict:
    rule = None
    if row["rule_code"] is not None:
        rule = {("code" if f == "rule_code" else f): row[f] for f in _RULE_FIELDS}
    return ZoneVerdict(row["code"], row["name_vi"], row["name_en"], row["kind"], row["share_pct"],
                       row["verdict"] or "no_rule", rule)


async def check_parcel(conn: asyncpg.Connection, geom: shapely.Geometry, use: str, crs: SupportedCrs = DEFAULT,
                       min_share_pct: float = DEFAULT_MIN_SHARE_PCT) -> dict[str, Any]:
    """The verdict for building `use` on `geom` (a validated parcel or point in `crs`), with zones and reasons."""
    check_use(use)
    check_min_share(min_share_pct)
    rows = await conn.fetch(_SQL[crs.uri], shapely.to_wkb(geom), use)
    zones = [_zone(row) for row in rows]
    verdict, deciding = overall_verdict(zones, min_share_pct)
    rules = [z.rule for z in zones if z.rule is not None]
    return {
        "use": use,
        "use_vi": USE_CATEGORIES[use][0],
        "use_en": USE_CATEGORIES[use][1],
        "verdict": verdict,
        "min_share_pct": min_share_pct,
        "parcel_area_m2": rows[0]["parcel_area_m2"] if rows else None,
        "zones": [_zone_json(z) for z in zones],
        "reasons": reasons(use, zones, verdict, deciding, min_share_pct),
        "sources": sorted({r["source"] for r in rules if r.get("source")}),
        "inferred": any(r["inferred"] for r in rules) if rules else None,
    }


def _zone_json(zone: ZoneVerdict) -> dict[str, Any]:
    return {"code": zone.code, "name_vi": zone.name_vi, "name_en": zone.name_en, "kind": zone.kind,
            "share_pct": zone.share_pct, "verdict": zone.verdict, "rule": zone.rule}
