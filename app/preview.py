"""Previews of a proposal on the read routes: `?proposal=N` on items, one item and tiles shows the layer as it would
be after publishing proposal N (`spatial.edits.preview`).

Only a signed-in editor who wrote the proposal, or an approver, may ask (401 anonymous, 403 a viewer, 404 a
proposal they may not see); the preview is read on the primary (a replica may not have the latest change yet)
under the caller's role, and answered `Cache-Control: private, no-store` — never kept by the tile cache or any
shared cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Annotated

from fastapi import Depends, Query, Request
from starlette.responses import Response

from app.auth import get_caller
from app.dependencies import ServicesDep, WriteDatabaseDep
from app.tile_response import MVT
from spatial.edits.preview import preview_tile
from spatial.edits.proposals import can_preview
from spatial.errors import Forbidden, Unauthenticated
from spatial.identity.model import ANONYMOUS, Identity, Role
from spatial.pool import Database
from spatial.session import as_caller
from spatial.tiles.grid import Tile
from spatial.tiles.layers import TileLayer
from spatial.tiles.service import TileService

PRIVATE = {"Cache-Control": "private, no-store", "Vary": "Authorization"}
ProposalPreview = Annotated[int | None, Query(
    alias="proposal", ge=1, le=2**63 - 1,
    description="Preview: the data as it would be after publishing this proposal (its author or an approver, "
                "signed in)")]


async def preview_caller(caller: Identity, proposal_id: int, db: Database) -> Identity:
    """The identity to read proposal `proposal_id`'s preview as, once the caller may see it."""
    if caller.role is Role.anonymous:
        raise Unauthenticated("proposal: a preview needs a signed-in editor: send 'Authorization: Bearer <token>'",
                              parameter="Authorization")
    if not caller.at_least(Role.editor):
        raise Forbidden(f"proposal: previews are for editors and approvers; {caller.user} is {caller.role.value}")
    async with db.acquire() as conn:
        await can_preview(conn, caller, proposal_id)
    return replace(caller, proposal=proposal_id)


@dataclass(frozen=True)
class Preview:
    """A read route's `proposal` parameter, with the caller and the primary to read a preview from."""

    proposal: int | None
    caller: Identity
    db: Database


async def get_preview(request: Request, services: ServicesDep, primary: WriteDatabaseDep,
                      proposal: ProposalPreview = None) -> Preview:
    """The preview a read asks for. Only then is the caller resolved: a public read never looks at the
    `Authorization` header (a proxy's own credentials there change nothing)."""
    caller = await get_caller(request, services, None) if proposal is not None else ANONYMOUS
    return Preview(proposal, caller, primary)


PreviewDep = Annotated[Preview, Depends(get_preview)]


async def preview_tile_response(request: Request, service: TileService, layers: Sequence[TileLayer], tile: Tile,
                                composite: bool, preview: Preview) -> Response:
    """A tile of the proposal's preview: rendered for this request only, private, gzipped when accepted."""
    assert preview.proposal is not None
    who = await preview_caller(preview.caller, preview.proposal, preview.db)
    if composite:
        layers = [layer for layer in layers if tile.z >= layer.composite_min_zoom]
    async with preview.db.acquire() as conn, as_caller(conn, who):
        rendered = await preview_tile(conn, service, [layer.layer for layer in layers], tile, preview.proposal)
    headers = {**PRIVATE, "ETag": rendered.etag}
    if rendered.empty:
        return Response(status_code=204, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        return Response(rendered.gzipped, media_type=MVT, headers={
            **headers, "ETag": rendered.etag[:-1] + '-gz"', "Content-Encoding": "gzip",
            "Vary": "Authorization, Accept-Encoding"})
    return Response(rendered.data, media_type=MVT, headers=headers)
