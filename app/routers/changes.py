"""The open change log over HTTP: `GET /changes` — every published change, newest first, filtered and paged with
links — as JSON, an Atom 1.0 or RSS 2.0 feed, CSV, or an HTML page (`spatial.history.changes`, `.feed`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from app import html
from app.dependencies import DatabaseDep, RegistryDep, SettingsDep
from app.history_params import POINT_HELP, POINT_PATTERN, VERSION_PATTERN, DisclosureDep, LayersDep, problem
from app.negotiate import CSV, HTML, JSON, base_url, json_response, output_format, request_url, url_with
from spatial.errors import InvalidParameter
from spatial.history.changes import Change, ChangePage, ChangeQuery, Disclosure, fetch_changes
from spatial.history.feed import EntryLinks, Feed, atom, changes_csv, rss, tag_id
from spatial.history.revisions import check_order, get_revision, previous_revision, resolve
from spatial.registry import Registry

router = APIRouter(tags=["changes"])
ATOM = "application/atom+xml"
RSS = "application/rss+xml"
GEOJSON = "application/geo+json"
MEDIA = {"json": JSON, "atom": ATOM, "rss": RSS, "csv": CSV, "html": HTML}
FORMATS = ("json", "atom", "rss", "csv", "html")
Format = Annotated[str, Depends(output_format(FORMATS, "json (default), atom (Atom 1.0 feed), rss (RSS 2.0), csv, "
                                              "html"))]
DEFAULT_LIMIT = 50
FILTERS = ("layer", "feature", "user", "proposal", "revision", "from", "to")  # what names a feed (not its paging)
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Changes, newest first: version, collection, featureId, operation (insert, update, delete), "
          "time, code, name_vi, name_en, who (and role, as LAPIS_CHANGES_PUBLIC_WHO allows), proposal, reason, "
          "changed (an update's changed attributes), links; next/prev links page by version",
          "content": {JSON: {}, ATOM: {}, RSS: {}, CSV: {}, HTML: {}}},
    404: problem("The revision named (revision, from, to) does not exist"),
}


def _version(text: str | None) -> int | None:
    return int(text) if text is not None else None  # digits: the parameter's pattern


async def _window(conn: Any, revision: str | None, start: str | None, end: str | None
                  ) -> tuple[datetime | None, datetime | None]:
    """The span of time asked for: `revision` r (after revision r-1, up to r) and `from`/`to` (revision numbers or
    instants), together: the changes after the later start and up to the earlier end."""
    starts: list[datetime] = []
    ends: list[datetime] = []
    if revision is not None:
        chosen = await get_revision(conn, int(revision), "revision")
        ends.append(chosen.published_at)
        if (before := await previous_revision(conn, chosen)) is not None:
            starts.append(before.published_at)
    first = await resolve(conn, start, "from") if start is not None else None
    last = await resolve(conn, end, "to") if end is not None else None
    if first is not None and last is not None:
        check_order(first, last)
    starts += [first.at] if first else []
    ends += [last.at] if last else []
    return (max(starts) if starts else None), (min(ends) if ends else None)


def _links(request: Request, fmt: str, page: ChangePage, start: str | None, end: str | None) -> list[dict[str, str]]:
    links = [{"rel": "self", "type": MEDIA[fmt], "href": request_url(request)},
             *({"rel": "alternate", "type": MEDIA[alt], "href": url_with(request, f=alt)} for alt in FORMATS
               if alt != fmt),
             {"rel": "first", "type": MEDIA[fmt], "href": url_with(request, before=None, after=None)}]
    if page.next_before is not None:
        links.append({"rel": "next", "type": MEDIA[fmt],
                      "href": url_with(request, before=str(page.next_before), after=None)})
    if page.prev_after is not None:
        links.append({"rel": "prev", "type": MEDIA[fmt],
                      "href": url_with(request, after=str(page.prev_after), before=None)})
    if start is not None and end is not None:
        links.append({"rel": "related", "type": JSON, "title": "The plan's net difference from `from` to `to`",
                      "href": f"{base_url(request)}/revisions/{start}/diff/{end}"})
    return links


def _entry_links(base: str, change: Change) -> EntryLinks:
    item = f"{base}/collections/{change.layer}/items/{change.feature_id}"
    return EntryLinks(f"{item}/history" if change.operation == "delete" else item, f"{item}/history")


def _change_json(change: Change, links: EntryLinks, disclosure: Disclosure) -> dict[str, Any]:
    refs = [{"rel": "version-history", "type": GEOJSON, "href": links.history}]
    if change.operation != "delete":  # a deleted feature is read in its history
        refs.insert(0, {"rel": "item", "type": GEOJSON, "href": links.alternate})
    return {**change.as_json(disclosure), "links": refs}


def _feed(request: Request, page: ChangePage, links: list[dict[str, str]], disclosure: Disclosure, lang: str
          ) -> Feed:
    filters = sorted((k, v) for k, v in request.query_params.multi_items() if k in FILTERS)
    authority = urlsplit(base_url(request)).netloc
    feed_id = tag_id(authority, "changes" + (f"?{urlencode(filters)}" if filters else ""))
    updated = page.changes[0].valid_from if page.changes else datetime.now(UTC)
    rels = {"first": "first", "next": "next", "prev": "previous"}
    return Feed(feed_id, request_url(request), updated, disclosure.office if disclosure.shown == "office" else
                "LAPIS", [(rels.get(link["rel"], link["rel"]), link["type"], link["href"]) for link in links
                          if link["rel"] != "self"], lang="en" if lang == "en" else "vi")


@router.get("/changes", response_class=Response, responses=RESPONSES,
            summary="The open change log: every published change to the plan, newest first (also Atom, RSS, CSV)")
async def changes(
    request: Request, fmt: Format, layers: LayersDep, disclosure: DisclosureDep, db: DatabaseDep,
    settings: SettingsDep, registry: RegistryDep,
    feature: int | None = Query(None, ge=0, le=2**63 - 1, description="Only this feature (with one `layer`)"),
    user: str | None = Query(None, max_length=200, description="Only this user's changes (where names are shown)"),
    proposal: int | None = Query(None, ge=0, le=2**63 - 1, description="Only changes published with this proposal"),
    revision: str | None = Query(None, pattern=VERSION_PATTERN, description="Only the changes of this revision: "
                                 "after the revision before it, up to it"),
    start: str | None = Query(None, alias="from", pattern=POINT_PATTERN,
                              description=f"Only changes after this point: {POINT_HELP}"),
    end: str | None = Query(None, alias="to", pattern=POINT_PATTERN,
                            description=f"Only changes up to this point: {POINT_HELP}"),
    before: str | None = Query(None, pattern=VERSION_PATTERN, description="Changes older than this version (the "
                               "`next` link)"),
    after: str | None = Query(None, pattern=VERSION_PATTERN, description="Changes newer than this version (the "
                              "`prev` link)"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, description="Changes per page (larger values are capped)"),
    lang: str = Query("vi", pattern="^(vi|en)$", description="The feeds' titles and summaries: vi or en"),
) -> Response:
    if feature is not None and len(layers) != 1:
        raise InvalidParameter("feature: a feature id names a feature of one layer; give that layer too "
                               "(layer=zones&feature=4)", parameter="feature")
    if user is not None and not disclosure.names:
        raise InvalidParameter(f"user: this change log shows {disclosure.shown}s, not names "
                               "(LAPIS_CHANGES_PUBLIC_WHO); sign in to filter by user", parameter="user")
    async with db.acquire() as conn:
        window = await _window(conn, revision, start, end)
        if window[0] is not None and window[1] is not None and window[0] > window[1]:
            page = ChangePage([], None, None)  # the revision and from/to do not overlap
        else:
            page = await fetch_changes(conn, ChangeQuery(
                layers, feature, user, proposal, window[0], window[1], _version(before), _version(after),
                min(limit, settings.items_max_limit)))
    return _respond(request, fmt, page, disclosure, registry, lang, (start, end))


def _respond(request: Request, fmt: str, page: ChangePage, disclosure: Disclosure, registry: Registry, lang: str,
             span: tuple[str | None, str | None]) -> Response:
    """The page as the format asked for."""
    base = base_url(request)
    entries = [(change, _entry_links(base, change)) for change in page.changes]
    links = _links(request, fmt, page, *span)
    authority = urlsplit(base).netloc
    if fmt in ("atom", "rss"):
        feed = _feed(request, page, links, disclosure, lang)
        layer_of = dict(registry.items())
        body = (atom(feed, entries, disclosure, layer_of, authority) if fmt == "atom" else
                rss(feed, entries, disclosure, layer_of, authority, url_with(request, f="html")))
        return Response(body, media_type=f"{MEDIA[fmt]}; charset=utf-8")
    if fmt == "csv":
        return Response(changes_csv(entries, disclosure), media_type=f"{CSV}; charset=utf-8",
                        headers={"Content-Disposition": 'inline; filename="lapis-changes.csv"'})
    body = {"changes": [_change_json(change, links_of, disclosure) for change, links_of in entries],
            "numberReturned": len(entries), "links": links}
    if fmt == "html":
        return html.render(request, "changes.html", title="Change log", body=body, links=links)
    return json_response(body)
