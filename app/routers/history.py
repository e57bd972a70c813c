"""A feature's history over HTTP: its versions (`GET …/items/{featureId}/history`) and restoring one
(`POST …/items/{featureId}/restore`, approvers only). The plan at an instant is `asof=` on the items, item, /locate
and tile routes themselves (`app.dependencies.AsOfDep`)."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from app.auth import require
from app.dependencies import AsOfDep, DatabaseDep, LayerDep, SettingsDep, WriteDatabaseDep, crs_parameter
from app.negotiate import GEOJSON, JSON, base_url, json_response, request_url, url_with
from app.problems import PROBLEM_JSON
from spatial.crs import SupportedCrs
from spatial.history.restore import restore
from spatial.history.versions import feature_id_of, fetch_versions, parse_before
from spatial.identity.model import Identity, Role
from spatial.json import dumps
from spatial.session import as_caller

router = APIRouter(tags=["history"])
FeatureId = Annotated[str, Path(examples=["1"])]
OutputCrs = Annotated[SupportedCrs, Depends(crs_parameter("Output CRS URI"))]
Approver = Annotated[Identity, Depends(require(Role.approver))]
VERSIONS_DEFAULT_LIMIT = 100
HISTORY_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"content": {GEOJSON: {}}, "description": (
    "The feature's versions, newest first, as a GeoJSON FeatureCollection: each Feature is the feature as it was "
    "(no geometry or properties for a deletion) with a `version` member: number, operation (insert, update, delete), "
    "valid_from, valid_to (null while current), who, proposal, reason, txid")}}
RESTORE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {JSON: {}}, "description": "Rolled back to the version valid at `asof` (or already that)"},
    201: {"content": {JSON: {}}, "description": "The deleted feature is back (Location: the feature)"},
    409: {"description": "The feature exists and no `asof` says what to restore, or its code is taken now",
          "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}},
}


def _history_links(request: Request, item_href: str, before: int | None) -> list[dict[str, str]]:
    links = [{"rel": "self", "type": GEOJSON, "href": request_url(request)},
             {"rel": "item", "type": GEOJSON, "title": "The feature as it is", "href": item_href},
             {"rel": "collection", "type": JSON, "href": item_href.rsplit("/items/", 1)[0]}]
    if before is not None:
        links.append({"rel": "next", "type": GEOJSON, "href": url_with(request, before=str(before))})
    return links


@router.get("/collections/{collectionId}/items/{featureId}/history", response_class=Response,
            summary="Every version of a feature, newest first: who changed it, when and why",
            responses=HISTORY_RESPONSES)
async def feature_history(
    request: Request, layer: LayerDep, featureId: FeatureId, crs: OutputCrs,  # noqa: N803 - OGC names
    settings: SettingsDep, db: DatabaseDep,
    limit: int = Query(VERSIONS_DEFAULT_LIMIT, ge=1, description="Versions per page (larger values are capped)"),
    before: str | None = Query(None, description="Versions older than this version number (the `next` link)"),
) -> Response:
    page_size = min(limit, settings.items_max_limit)
    async with db.acquire() as conn:
        page = await fetch_versions(conn, layer, featureId, crs, limit=page_size, before=parse_before(before))
    item_href = f"{base_url(request)}/collections/{layer.id}/items/{featureId}"
    tail: dict[str, Any] = {"collection": layer.id, "featureId": featureId, "numberReturned": len(page.features),
                            "links": _history_links(request, item_href, page.next_before)}
    if page.number_matched is not None:
        tail["numberMatched"] = page.number_matched
    body = b'{"type":"FeatureCollection","features":' + page.features_json() + b"," + dumps(tail)[1:]
    return Response(body, media_type=GEOJSON, headers={"Content-Crs": f"<{crs.uri}>"})


@router.post("/collections/{collectionId}/items/{featureId}/restore", response_class=Response,
             summary="Bring a feature back as a new, recorded version (approvers)", responses=RESTORE_RESPONSES)
async def restore_feature(
    request: Request, layer: LayerDep, featureId: FeatureId, caller: Approver,  # noqa: N803
    asof: AsOfDep, db: WriteDatabaseDep,
    reason: str | None = Query(None, max_length=2000, description="Why (recorded with the change; default "
                               "\"restored version N\")"),
) -> Response:
    """Without `asof`, a deleted feature comes back as it was just before its deletion; with `asof`, the feature
    (deleted or not) becomes what it was then. Recorded like any change, as the caller, with `reason`."""
    fid = feature_id_of(featureId, layer)
    identity = dataclasses.replace(caller, reason=reason or caller.reason)
    async with db.acquire() as conn, as_caller(conn, identity):
        restored = await restore(conn, layer, fid, asof)
    item_href = f"{base_url(request)}/collections/{layer.id}/items/{fid}"
    body = {**restored.as_json(), "links": [
        {"rel": "item", "type": GEOJSON, "href": item_href},
        {"rel": "version-history", "type": GEOJSON, "href": f"{item_href}/history"}]}
    if restored.action == "insert":
        return Response(dumps(body), status_code=201, media_type=JSON, headers={"Location": item_href})
    return json_response(body)
