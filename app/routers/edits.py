"""OGC API – Features Part 4 (create, replace, update, delete) on the plan layers — as proposals.

`POST /collections/{id}/items` (201 + Location), `PUT` and `PATCH` (JSON Merge Patch, RFC 7396) of
`/collections/{id}/items/{featureId}` (200 with the feature) and `DELETE` (204), for signed-in editors (401/403
otherwise). A write goes into the caller's open proposal — the one named by `?proposal=` or the `Lapis-Proposal`
header, else their latest, else a new one — and public reads do not change until an approver publishes it
(`app.routers.proposals`). Every answer names the proposal (`Lapis-Proposal`) and links the feature's preview
(`Link: <…?proposal=N>; rel="preview"`); the feature's new version is its `ETag`. Replace, update and delete need
`If-Match` with the version read (428 without, 412 when stale); the geometry may be sent in another CRS
(`Content-Crs`). What is checked, and how, is `spatial.edits`. A collection the registry marks not editable
(`admin_units`: the official boundaries, reloaded from their source) refuses every write with 403.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from starlette.responses import Response

from app.auth import require
from app.bodies import media_type, parse_json, receive_body
from app.dependencies import LayerDep, SettingsDep, WriteDatabaseDep
from app.negotiate import GEOJSON, JSON, base_url
from spatial.edits.changes import ChangeResult, Edit, Op, propose_change
from spatial.edits.etag import quoted
from spatial.edits.feature_input import content_crs
from spatial.errors import Forbidden, InvalidParameter, NotFound, UnsupportedFormat
from spatial.identity.model import Identity, Role
from spatial.registry import Layer

router = APIRouter(tags=["OGC API – Features: editing"])

PART4 = "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf"
CONFORMANCE = (f"{PART4}/create-replace-delete", f"{PART4}/update", f"{PART4}/features")
MERGE_PATCH = "application/merge-patch+json"
FEATURE_TYPES = (GEOJSON, JSON)
PATCH_TYPES = (MERGE_PATCH, JSON)
BIGINT_MAX = 2**63 - 1
PROPOSAL_HEADER = "Lapis-Proposal"

EditorDep = Annotated[Identity, Depends(require(Role.editor))]
FeatureId = Annotated[str, Path(description="The feature's id", examples=["1"])]
ProposalQuery = Annotated[int | None, Query(
    alias="proposal", ge=1, le=BIGINT_MAX,
    description="The open proposal to write into (yours; an approver may name any). Default: your latest open "
                "proposal, or a new one. Also as the `Lapis-Proposal` header.")]
ContentCrs = Annotated[str | None, Header(
    alias="Content-Crs", description="CRS of the body's geometry, e.g. `<http://www.opengis.net/def/crs/EPSG/0/9210>` "
                                     "(VN-2000 / TM-3 105-45); default CRS84")]
IfMatch = Annotated[str | None, Header(alias="If-Match", description="The feature's ETag, as read (428 without it, "
                                                                       "412 when the feature changed since)")]


def feature_body(description: str, types: tuple[str, ...]) -> dict[str, Any]:
    """The API definition's request body of a write (the route reads the body itself, after the checks)."""
    schema = {"type": "object", "required": ["type"], "properties": {
        "type": {"type": "string", "enum": ["Feature"]}, "geometry": {"type": "object", "nullable": True},
        "properties": {"type": "object", "nullable": True}}}
    if types == PATCH_TYPES:
        schema = {"type": "object", "description": "JSON Merge Patch of the feature (RFC 7396)"}
    return {"requestBody": {"required": True, "description": description,
                            "content": {t: {"schema": schema} for t in types}}}




def _proposal(request: Request, query: int | None) -> int | None:
    header = request.headers.get(PROPOSAL_HEADER)
    if header is None:
        return query
    try:
        named = int(header)
    except ValueError:
        raise InvalidParameter(f"{PROPOSAL_HEADER}: a proposal id is a number", parameter=PROPOSAL_HEADER) from None
    if not 1 <= named <= BIGINT_MAX or (query is not None and query != named):
        raise InvalidParameter(f"{PROPOSAL_HEADER}: {header!r} is not a proposal id (or differs from ?proposal=)",
                               parameter=PROPOSAL_HEADER)
    return named


def _feature_id(layer: Layer, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= BIGINT_MAX:
        raise NotFound(f"no feature {text!r} in collection {layer.id!r}", parameter="featureId")
    return value


async def _json(request: Request, limit: int, types: tuple[str, ...]) -> Any:
    if media_type(request) not in types:
        raise UnsupportedFormat(f"body: send {' or '.join(types)}", parameter="Content-Type")
    body, _ = await receive_body(request, limit)
    with body:
        return parse_json(body.read())


async def _write(request: Request, db: WriteDatabaseDep, caller: Identity, edit: Edit,
                 proposal: int | None) -> ChangeResult:
    async with db.acquire() as conn:
        return await propose_change(conn, caller, edit, _proposal(request, proposal))


def _answer(request: Request, result: ChangeResult, layer: Layer, status: int) -> Response:
    href = f"{base_url(request)}/collections/{layer.id}/items/{result.feature_id}"
    headers = {PROPOSAL_HEADER: str(result.proposal_id), "Cache-Control": "no-store"}
    if result.feature is None:
        return Response(status_code=204, headers=headers)
    headers |= {"ETag": quoted(result.etag or ""), "Content-Crs": "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>",
                "Link": f'<{href}?proposal={result.proposal_id}>; rel="preview"'}
    if status == 201:
        headers["Location"] = href
    return Response(result.feature.encode(), status, media_type=GEOJSON, headers=headers)


async def _change(request: Request, layer: Layer, settings: SettingsDep, db: WriteDatabaseDep, caller: Identity,
                  op: Op, feature_id: str | None, proposal: int | None, crs: str | None,
                  if_match: str | None) -> Response:
    if not layer.editable:  # before the body is read: nobody may write here
        raise Forbidden(f"{layer.id} is reference data, replaced by a reload from its source: not edited here")
    fid = None if feature_id is None else _feature_id(layer, feature_id)
    body = None
    if op != "delete":
        body = await _json(request, settings.edit_max_bytes, PATCH_TYPES if op == "update" else FEATURE_TYPES)
    edit = Edit(op, layer, fid, body, content_crs(crs), if_match)
    return _answer(request, await _write(request, db, caller, edit, proposal), layer, 201 if op == "create" else 200)


EDIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The feature as the proposal would publish it (ETag: its version)",
          "content": {GEOJSON: {}}},
    201: {"description": "Created in the proposal: Location names the feature, ETag its version",
          "content": {GEOJSON: {}}},
    204: {"description": "Deleted in the proposal"},
}


def _responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: EDIT_RESPONSES[s] for s in statuses}


@router.post("/collections/{collectionId}/items", summary="Create a feature (into your proposal)", status_code=201,
             response_class=Response, responses=_responses(201),
             openapi_extra=feature_body("A GeoJSON Feature (its id is assigned)", FEATURE_TYPES))
async def create_item(request: Request, layer: LayerDep, caller: EditorDep, settings: SettingsDep,
                      db: WriteDatabaseDep, proposal: ProposalQuery = None, crs: ContentCrs = None) -> Response:
    return await _change(request, layer, settings, db, caller, "create", None, proposal, crs, None)


@router.put("/collections/{collectionId}/items/{featureId}", summary="Replace a feature (in your proposal)",
            response_class=Response, responses=_responses(200),
            openapi_extra=feature_body("The whole GeoJSON Feature", FEATURE_TYPES))
async def replace_item(request: Request, layer: LayerDep, featureId: FeatureId,  # noqa: N803
                       caller: EditorDep, settings: SettingsDep, db: WriteDatabaseDep, proposal: ProposalQuery = None,
                       crs: ContentCrs = None, if_match: IfMatch = None) -> Response:
    return await _change(request, layer, settings, db, caller, "replace", featureId, proposal, crs, if_match)


@router.patch("/collections/{collectionId}/items/{featureId}", summary="Update a feature (JSON Merge Patch)",
              response_class=Response, responses=_responses(200),
              openapi_extra=feature_body("What changes: a JSON Merge Patch of the feature (RFC 7396)", PATCH_TYPES))
async def update_item(request: Request, layer: LayerDep, featureId: FeatureId,  # noqa: N803
                      caller: EditorDep, settings: SettingsDep, db: WriteDatabaseDep, proposal: ProposalQuery = None,
                      crs: ContentCrs = None, if_match: IfMatch = None) -> Response:
    return await _change(request, layer, settings, db, caller, "update", featureId, proposal, crs, if_match)


@router.delete("/collections/{collectionId}/items/{featureId}", summary="Delete a feature (in your proposal)",
               status_code=204, response_class=Response, responses=_responses(204))
async def delete_item(request: Request, layer: LayerDep, featureId: FeatureId,  # noqa: N803
                      caller: EditorDep, settings: SettingsDep, db: WriteDatabaseDep, proposal: ProposalQuery = None,
                      if_match: IfMatch = None) -> Response:
    return await _change(request, layer, settings, db, caller, "delete", featureId, proposal, None, if_match)
