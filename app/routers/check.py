"""“What may be built here?” over HTTP: POST /check with a parcel (or a clicked point) and a proposed use.
Parsing and the response only; the verdict is `spatial.queries.check`."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from app.bodies import json_body
from app.dependencies import PlannerDatabaseDep, SettingsDep
from app.negotiate import GEOJSON, JSON, json_response
from app.routers.planner import BodyCrs
from spatial.queries import check

router = APIRouter(tags=["planner"])

PARCEL_EXAMPLE = {"type": "Feature", "properties": {}, "geometry": {
    "type": "Polygon", "coordinates": [[[106.40, 10.52], [106.41, 10.52], [106.41, 10.53], [106.40, 10.53],
                                        [106.40, 10.52]]]}}
GEOMETRY_SCHEMA = {"type": "object", "required": ["type"], "description": "A GeoJSON Polygon, MultiPolygon or Point, "
                   "or a Feature with one", "properties": {"type": {"type": "string"}}}
RESULT_EXAMPLE = {
    "use": "industrial", "use_vi": "Công nghiệp", "use_en": "Industry", "verdict": "conditional", "min_share_pct": 5.0,
    "parcel_area_m2": 1216140.5,
    "zones": [{"code": "R1", "name_vi": "Vùng đô thị và công nghiệp", "name_en": "Urban and industrial region",
               "kind": "region", "share_pct": 100.0, "verdict": "allowed", "rule": {"code": "RULE-R1-industrial"}},
              {"code": "C1", "name_vi": "Trung tâm Tân An", "name_en": "Tân An centre", "kind": "centre",
               "share_pct": 100.0, "verdict": "conditional", "rule": {"code": "RULE-C1-industrial"}}],
    "reasons": [{"vi": "Trung tâm Tân An (100% thửa): Công nghiệp — có điều kiện. Chỉ công nghiệp công nghệ cao.",
                 "en": "Tân An centre (100% of the parcel): Industry — conditional. High-tech industry only."}],
    "sources": ["Inferred from the centre's stated role: …"], "inferred": True,
}


@router.post("/check", summary="What may be built here: a proposed use on a parcel, checked against the plan's rules",
             response_class=Response,
             openapi_extra={"requestBody": {"required": True, "content": {
                 GEOJSON: {"schema": GEOMETRY_SCHEMA, "example": PARCEL_EXAMPLE},
                 JSON: {"schema": GEOMETRY_SCHEMA, "example": PARCEL_EXAMPLE}}}},
             responses={200: {"content": {JSON: {"example": RESULT_EXAMPLE}}, "description":
                              "verdict (allowed | conditional | prohibited | unknown): the most restrictive rule of "
                              "the zones covering at least min_share_pct of the parcel; zones with each one's share, "
                              "verdict and rule; reasons in Vietnamese and English; the rules' sources"}})
async def check_use(
    request: Request, crs: BodyCrs, settings: SettingsDep, db: PlannerDatabaseDep,
    use: Annotated[str, Query(description="Proposed use", json_schema_extra={"enum": list(check.USE_CATEGORIES)})],
    min_share_pct: Annotated[float, Query(alias="min_share_pct", allow_inf_nan=False, description=(
        "Smallest share of the parcel (%) a zone must cover to decide the verdict"))] = check.DEFAULT_MIN_SHARE_PCT,
) -> Response:
    check.check_use(use)
    check.check_min_share(min_share_pct)
    geom = await json_body(request, settings.upload_max_bytes, partial(check.check_geometry, crs=crs))
    async with db.acquire() as conn:
        return json_response(await check.check_parcel(conn, geom, use, crs, min_share_pct))
