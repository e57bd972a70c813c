"""Plan revisions over HTTP: the list (`GET /revisions`), one (`GET /revisions/{revisionId}`), recording one
(`POST /revisions`, approvers), and what changed between two revisions or instants (`GET /revisions/{a}/diff/{b}`:
JSON, GeoJSON for a map, HTML). The work is `spatial.history.revisions` and `spatial.history.diff`."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from app import html
from app.auth import require
from app.bodies import json_body
from app.dependencies import DatabaseDep, SettingsDep, WriteDatabaseDep
from app.history_params import POINT_HELP, POINT_PATTERN, LayersDep, problem
from app.negotiate import GEOJSON, HTML, JSON, base_url, json_response, output_format, request_url, url_with
from spatial.history.diff import Diff, diff, parse_after
from spatial.history.revisions import (
    Revision,
    check_order,
    create_revision,
    get_revision,
    list_revisions,
    parse_revision_id,
    previous_revision,
    resolve,
    revision_input,
)
from spatial.identity.model import Identity, Role
from spatial.json import dumps
from spatial.session import as_caller

router = APIRouter(tags=["revisions"])
Approver = Annotated[Identity, Depends(require(Role.approver))]
JsonOrHtml = Annotated[str, Depends(output_format(("json", "html"), "json (default) or html"))]
DiffFormat = Annotated[str, Depends(output_format(("json", "geojson", "html"), "json (default: per collection, "
                                                  "the features added, removed and changed), geojson (a "
                                                  "FeatureCollection for a map), html"))]
# (the pattern documented, not enforced: any other text names no revision, 404)
RevisionId = Annotated[str, Path(examples=["1"], description="The revision's number",
                                 json_schema_extra={"pattern": "^[0-9]{1,18}$"})]
Point = Annotated[str, Path(pattern=POINT_PATTERN, examples=["1"], description=POINT_HELP)]
MEDIA = {"json": JSON, "geojson": GEOJSON, "html": HTML}
DIFF_LIMIT = 1000
BODY_LIMIT = 64 * 1024
REVISION_BODY = {"type": "object", "required": ["name", "legal_basis"], "additionalProperties": False, "properties": {
    "name": {"type": "string", "minLength": 1, "maxLength": 300, "pattern": "\\S"},
    "legal_basis": {"type": "string", "minLength": 1, "maxLength": 500, "pattern": "\\S",
                    "description": "The decision it rests on, e.g. Decision 686/QĐ-TTg, 13/06/2023"},
    "decided_on": {"type": "string", "format": "date", "description": "The decision's date"},
    "note": {"type": "string", "maxLength": 4000}}}
CREATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"content": {JSON: {}}, "description": "Recorded: the plan as it stands now (Location: the revision)"},
    409: problem("A revision of that name exists")}
DIFF_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"content": {JSON: {}, GEOJSON: {}, HTML: {}}, "description": (
    "json: from, to, summary (per collection: added, removed, changed), collections [{id, counts, added, removed, "
    "changed}] — each entry id, code, name_vi, name_en, from_version, to_version, attributes {name: {old, new}} and "
    "geometry_change {changed, area_m2 | length_m {old, new, difference}, hausdorff_m}; geojson: the same entries as "
    "Features (property `change`: added, removed, changed; `side`: to, or from for a changed geometry's old one)")}}


def _revision_links(base: str, revision: Revision, previous: Revision | None = None) -> list[dict[str, str]]:
    href = f"{base}/revisions/{revision.id}"
    links = [{"rel": "self", "type": JSON, "href": href},
             {"rel": "alternate", "type": HTML, "href": f"{href}?f=html"},
             {"rel": "related", "type": JSON, "title": "Its changes in the change log",
              "href": f"{base}/changes?revision={revision.id}"}]
    if previous is not None:
        links += [{"rel": "predecessor-version", "type": JSON, "href": f"{base}/revisions/{previous.id}"},
                  {"rel": "related", "type": JSON, "title": "What changed since the revision before it",
                   "href": f"{base}/revisions/{previous.id}/diff/{revision.id}"}]
    return links


def _revision_json(base: str, revision: Revision, previous: Revision | None = None) -> dict[str, Any]:
    return {**revision.as_json(), "asof": revision.published_at.isoformat(),
            "links": _revision_links(base, revision, previous)}


@router.get("/revisions", response_class=Response, summary="The plan's revisions, oldest first",
            responses={200: {"content": {JSON: {}, HTML: {}}, "description": "revisions: id, name, legal_basis, "
                             "decided_on, note, published_at (the instant it fixes; `asof` for the other routes), "
                             "created_by, links"}})
async def revisions(request: Request, fmt: JsonOrHtml, db: DatabaseDep) -> Response:
    async with db.acquire() as conn:
        found = await list_revisions(conn)
    base = base_url(request)
    body = {"revisions": [_revision_json(base, r, p) for p, r in zip([None, *found], found, strict=False)],
            "links": [{"rel": "self", "type": MEDIA[fmt], "href": request_url(request)},
                      {"rel": "alternate", "type": MEDIA["html" if fmt == "json" else "json"],
                       "href": url_with(request, f="html" if fmt == "json" else "json")},
                      {"rel": "related", "type": JSON, "title": "The change log", "href": f"{base}/changes"}]}
    if fmt == "html":
        return html.render(request, "revisions.html", title="Plan revisions", body=body)
    return json_response(body)


@router.post("/revisions", response_class=Response, status_code=201, responses=CREATE_RESPONSES,
             summary="Record a revision: the plan as it stands now, with its legal basis (approvers)",
             openapi_extra={"requestBody": {"required": True, "content": {JSON: {"schema": REVISION_BODY, "example": {
                 "name": "Điều chỉnh 2025", "legal_basis": "Decision 1234/QĐ-TTg, 01/10/2025",
                 "decided_on": "2025-10-01", "note": "Adjustment of the industrial zones"}}}}})
async def create(request: Request, caller: Approver, db: WriteDatabaseDep) -> Response:
    given = await json_body(request, BODY_LIMIT, revision_input)
    async with db.acquire() as conn, as_caller(conn, caller):
        revision = await create_revision(conn, given)
    href = f"{base_url(request)}/revisions/{revision.id}"
    return Response(dumps(_revision_json(base_url(request), revision)), status_code=201, media_type=JSON,
                    headers={"Location": href})


@router.get("/revisions/{revisionId}", response_class=Response, summary="A revision of the plan",
            responses={200: {"content": {JSON: {}, HTML: {}}, "description": "The revision and its links"}})
async def revision(request: Request, revisionId: RevisionId, fmt: JsonOrHtml,  # noqa: N803 - OGC style
                   db: DatabaseDep) -> Response:
    async with db.acquire() as conn:
        found = await get_revision(conn, parse_revision_id(revisionId))
        previous = await previous_revision(conn, found)
    body = _revision_json(base_url(request), found, previous)
    if fmt == "html":
        return html.render(request, "revision.html", title=f"Revision {found.id}: {found.name}", body=body)
    return json_response(body)


def _diff_links(request: Request, fmt: str, result: Diff) -> list[dict[str, str]]:
    base = base_url(request)
    links = [{"rel": "self", "type": MEDIA[fmt], "href": request_url(request)},
             *({"rel": "alternate", "type": MEDIA[alt], "href": url_with(request, f=alt)}
               for alt in ("json", "geojson", "html") if alt != fmt),
             {"rel": "related", "type": JSON, "title": "Every change in between (the change log)",
              "href": f"{base}/changes?{urlencode({'from': result.start.label, 'to': result.end.label})}"}]
    for end in (result.start, result.end):
        if end.revision is not None:
            links.append({"rel": "related", "type": JSON, "title": f"Revision {end.revision.id}",
                          "href": f"{base}/revisions/{end.revision.id}"})
    if result.next_after is not None:
        links.append({"rel": "next", "type": MEDIA[fmt], "href": url_with(request, after=result.next_after)})
    return links


def _summary(result: Diff) -> dict[str, dict[str, int]]:
    return {d.layer.id: d.counts() for d in result.layers}


def _diff_json(result: Diff, links: list[dict[str, str]]) -> dict[str, Any]:
    collections = []
    for d in result.layers:
        listed: dict[str, list[Any]] = {"added": [], "removed": [], "changed": []}
        for entry in d.entries:
            data = entry.data()
            listed[data.pop("change")].append(data)
        collections.append({"id": d.layer.id, "counts": d.counts(), **listed})
    return {"from": result.start.as_json(), "to": result.end.as_json(), "summary": _summary(result),
            "collections": collections, "numberReturned": result.returned, "links": links}


def _diff_geojson(result: Diff, links: list[dict[str, str]]) -> bytes:
    """Each entry a Feature (its geometry at the end; a removed one's at the start), and a changed geometry's old
    shape as one more Feature with `side` "from"."""
    features: list[bytes] = []
    for d in result.layers:
        for entry in d.entries:
            data = entry.data()
            properties = {"collection": d.layer.id, "featureId": data.pop("id"), **data, "side": "to"}
            key = f"{d.layer.id}/{properties['featureId']}"
            features.append(_feature(key, entry.geometry, properties))
            if entry.old_geometry is not None:
                features.append(_feature(f"{key}@from", entry.old_geometry, {**properties, "side": "from"}))
    tail = {"from": result.start.as_json(), "to": result.end.as_json(), "summary": _summary(result),
            "numberReturned": len(features), "links": links}
    return b'{"type":"FeatureCollection","features":[' + b",".join(features) + b"]," + dumps(tail)[1:]


def _feature(key: str, geometry: str | None, properties: dict[str, Any]) -> bytes:
    return (b'{"type":"Feature","id":' + orjson.dumps(key) + b',"geometry":' + (geometry or "null").encode()
            + b',"properties":' + dumps(properties) + b"}")


@router.get("/revisions/{a}/diff/{b}", response_class=Response, responses=DIFF_RESPONSES,
            summary="What changed in the plan from revision (or instant) a to b: features added, removed, changed")
async def revision_diff(
    request: Request, a: Point, b: Point, fmt: DiffFormat, layers: LayersDep, db: DatabaseDep,
    settings: SettingsDep,
    limit: int = Query(DIFF_LIMIT, ge=1, description="Entries per page (larger values are capped); every "
                       "collection is counted in full"),
    after: str | None = Query(None, pattern="^[a-z_][a-z0-9_]{0,62}:[0-9]{1,18}$",
                              description="Entries after this one (the `next` link)"),
) -> Response:
    async with db.acquire() as conn:
        start, end = await resolve(conn, a, "a"), await resolve(conn, b, "b")
        check_order(start, end, ("a", "b"))
        result = await diff(conn, list(layers), start, end, limit=min(limit, settings.items_max_limit),
                            after=parse_after(after, list(layers)), geometries=fmt == "geojson")
    links = _diff_links(request, fmt, result)
    if fmt == "geojson":
        return Response(_diff_geojson(result, links), media_type=GEOJSON)
    body = _diff_json(result, links)
    if fmt == "html":
        title = f"Changes from {result.start.label} to {result.end.label}"
        return html.render(request, "diff.html", title=title, body=body)
    return json_response(body)
