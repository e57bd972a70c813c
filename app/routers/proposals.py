"""Proposals over HTTP: an editor's changes waiting for an approver (`spatial.edits.proposals`).

- `GET /proposals[?state=open]`: an editor's own proposals, every one for an approver.
- `POST /proposals` (`{"title": …, "note": …}`): open a new one (writes otherwise open one when needed).
- `GET /proposals/{id}`: the proposal and its changes; `?f=geojson`: the changed features as GeoJSON (each with
  `lapis:layer`, `lapis:featureId`, `lapis:op`; a deleted one with its published geometry).
- `POST /proposals/{id}/publish`, `POST /proposals/{id}/reject` (`{"note": …}`): approvers only; publishing applies
  every change or none (409 when a feature moved since it was proposed) and records who decided and when.
Everything here is private to the caller: `Cache-Control: private, no-store`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from app.auth import require
from app.bodies import media_type, parse_json, receive_body
from app.dependencies import RegistryDep, WriteDatabaseDep
from app.negotiate import GEOJSON, JSON, base_url, json_response, output_format
from spatial.edits.proposals import (
    STATES,
    Change,
    Proposal,
    changed_features,
    get_proposal,
    list_proposals,
    open_proposal,
    publish,
    reject,
)
from spatial.errors import InvalidParameter, UnsupportedFormat
from spatial.identity.model import Identity, Role

router = APIRouter(tags=["proposals"])

PRIVATE = {"Cache-Control": "private, no-store", "Vary": "Authorization"}
BODY_LIMIT = 64 * 1024
EditorDep = Annotated[Identity, Depends(require(Role.editor))]
ApproverDep = Annotated[Identity, Depends(require(Role.approver))]
ProposalId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The proposal's id")]
ProposalFormat = Annotated[str, Depends(output_format(("json", "geojson"), "json (the proposal and its changes) | "
                                                                            "geojson (the changed features)"))]
TEXT_BODY = {"requestBody": {"required": False, "content": {JSON: {"schema": {
    "type": "object", "properties": {"title": {"type": "string", "maxLength": 300},
                                     "note": {"type": "string", "maxLength": 300}}}}}}}
NOTE_BODY = {"requestBody": {"required": False, "content": {JSON: {"schema": {
    "type": "object", "properties": {"note": {"type": "string", "maxLength": 300}}}}}}}


def proposal_json(request: Request, proposal: Proposal, changes: list[Change] | None = None) -> dict[str, Any]:
    href = f"{base_url(request)}/proposals/{proposal.id}"
    body = proposal.as_json()
    body["links"] = [{"rel": "self", "type": JSON, "href": href},
                     {"rel": "alternate", "type": GEOJSON, "title": "The changed features",
                      "href": f"{href}?f=geojson"}]
    if changes is not None:
        base = base_url(request)
        body["changes"] = [{**c.as_json(), "href": f"{base}/collections/{c.layer}/items/{c.feature_id}"
                                                   f"?proposal={proposal.id}"} for c in changes]
    return body


async def _texts(request: Request, names: tuple[str, ...]) -> dict[str, str | None]:
    """The optional JSON body's text members (title, note)."""
    body, size = await receive_body(request, BODY_LIMIT)
    with body:
        raw = body.read()
    if not size:
        return dict.fromkeys(names)
    if media_type(request) not in (JSON, ""):
        raise UnsupportedFormat("body: send application/json", parameter="Content-Type")
    obj = parse_json(raw)
    if not isinstance(obj, dict):
        raise InvalidParameter("body: a JSON object is expected", parameter="body")
    values = {name: obj.get(name) for name in names}
    for name, value in values.items():
        if value is not None and not isinstance(value, str):
            raise InvalidParameter(f"{name}: a text is expected", parameter=name)
    return values


@router.get("/proposals", summary="Proposals: yours (editor), or all (approver)", response_class=Response,
            responses={200: {"content": {JSON: {}}}})
async def proposals(request: Request, caller: EditorDep, db: WriteDatabaseDep, state: Annotated[
        str | None, Query(description="Only proposals in this state", json_schema_extra={"enum": list(STATES)})] = None
                    ) -> Response:
    async with db.acquire() as conn:
        found = await list_proposals(conn, caller, state)
    return json_response({"proposals": [proposal_json(request, p) for p in found],
                          "links": [{"rel": "self", "type": JSON, "href": f"{base_url(request)}/proposals"}]},
                         headers=PRIVATE)


@router.post("/proposals", summary="Open a new proposal", status_code=201, response_class=Response,
             responses={201: {"content": {JSON: {}}}}, openapi_extra=TEXT_BODY)
async def new_proposal(request: Request, caller: EditorDep, db: WriteDatabaseDep) -> Response:
    texts = await _texts(request, ("title", "note"))
    async with db.acquire() as conn:
        proposal_id = await open_proposal(conn, caller, texts["title"], texts["note"])
        proposal, changes = await get_proposal(conn, caller, proposal_id)
    response = json_response(proposal_json(request, proposal, changes),
                             headers={**PRIVATE, "Location": f"{base_url(request)}/proposals/{proposal_id}"})
    response.status_code = 201
    return response


@router.get("/proposals/{proposalId}", summary="A proposal and its changes (f=geojson: the changed features)",
            response_class=Response, responses={200: {"content": {JSON: {}, GEOJSON: {}}}})
async def proposal(request: Request, proposalId: ProposalId, fmt: ProposalFormat,  # noqa: N803
                   caller: EditorDep, db: WriteDatabaseDep, registry: RegistryDep) -> Response:
    async with db.acquire() as conn:
        if fmt == "geojson":
            return Response(await changed_features(conn, caller, proposalId, registry), media_type=GEOJSON,
                            headers=PRIVATE)
        found, changes = await get_proposal(conn, caller, proposalId)
    return json_response(proposal_json(request, found, changes), headers=PRIVATE)


@router.post("/proposals/{proposalId}/publish", summary="Publish a proposal: all its changes, or none (approver)",
             response_class=Response, responses={200: {"content": {JSON: {}}}})
async def publish_proposal(request: Request, proposalId: ProposalId, caller: ApproverDep,  # noqa: N803
                           db: WriteDatabaseDep, registry: RegistryDep) -> Response:
    async with db.acquire() as conn:
        done = await publish(conn, proposalId, caller, registry)
    body = proposal_json(request, done.proposal)
    body["applied"] = {layer: {"created": a.created, "changed": a.changed, "deleted": a.deleted}
                       for layer, a in done.applied.items()}
    return json_response(body, headers=PRIVATE)


@router.post("/proposals/{proposalId}/reject", summary="Reject a proposal (approver)", response_class=Response,
             responses={200: {"content": {JSON: {}}}}, openapi_extra=NOTE_BODY)
async def reject_proposal(request: Request, proposalId: ProposalId, caller: ApproverDep,  # noqa: N803
                          db: WriteDatabaseDep) -> Response:
    texts = await _texts(request, ("note",))
    async with db.acquire() as conn:
        done = await reject(conn, proposalId, caller, texts["note"])
    return json_response(proposal_json(request, done), headers=PRIVATE)
