"""Downloads on `/collections/{collectionId}/items`: the whole selection (the same filters, sort order, properties and
CRS as a page of items, paging aside) as a file — GeoPackage, FlatGeobuf, zipped Shapefile, GeoJSON or CSV.

Asked for by `f=gpkg|fgb|shp` or an Accept header naming one of their media types; GeoJSON and CSV are pages of
items unless `download=true` is given too. `spatial.io.download` writes the file in a worker thread (the event loop
stays free; one batch of rows in memory) into a temporary folder of the request's own, which goes once the response
is sent, fails, is abandoned by a client that went away, or when the export itself stops because the client left.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
from fastapi import Query, Request
from starlette.responses import FileResponse, Response
from starlette.types import Receive, Scope, Send

from app.dependencies import services_of
from app.negotiate import CSV, GEOJSON, HTML, JSON, negotiate
from app.problems import PROBLEM_JSON
from spatial.errors import InvalidParameter
from spatial.features import ItemsRequest
from spatial.io.download import FILE_ONLY, FORMATS, DownloadFormat, formats_for, write_download
from spatial.io.export import ExportCancelled
from spatial.layers import Layer

PAGES = ("geojson", "json", "html", "csv")  # formats of a page of items (the first is the default)
PAGE_MEDIA = frozenset({GEOJSON, JSON, HTML, CSV})
CLIENT_CLOSED_REQUEST = 499  # (nginx's code) what the log shows for a download whose client left while it was made
F_HELP = ("A page: geojson (default), json, html, csv. A download of the whole selection: gpkg, fgb, shp (zipped), "
          "or geojson, csv with download=true")
DOWNLOAD_HELP = ("Download the whole selection as a file (not paged; at most LAPIS_DOWNLOAD_MAX_FEATURES features, "
                 "`limit` caps it further): f=geojson (default) or f=csv. Implied by f=gpkg|fgb|shp")


def accept_order(accept: str) -> list[str]:
    """The media types of an Accept header, most wanted first (by q, then as listed); q=0 ones left out."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        media, *parameters = (p.strip() for p in part.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media and quality > 0:
            ranked.append((-quality, position, media.lower()))
    return [media for _quality, _position, media in sorted(ranked)]


def _named_format(key: str, download: bool) -> str | DownloadFormat:
    if key in FILE_ONLY:
        return FORMATS[key]
    if not download and key in PAGES:
        return key
    if download and key in ("geojson", "json", "csv"):
        return FORMATS["csv" if key == "csv" else "geojson"]
    offered = ", ".join(FORMATS) if download else ", ".join((*PAGES, *FILE_ONLY))
    what = "a download format" if download else "offered here"
    raise InvalidParameter(f"f: {key!r} is not {what}; use one of {offered}", parameter="f")


def items_format(request: Request,
                 f: str | None = Query(None, description=F_HELP),
                 download: bool = Query(False, description=DOWNLOAD_HELP)) -> str | DownloadFormat:
    """A dependency: the page format (a str, as `app.negotiate` gives it) or the download an items request asks
    for. `f` wins; else the first media type of Accept that LAPIS knows decides (a page's type: a page)."""
    if f is not None:
        return _named_format(f.lower(), download)
    accept = request.headers.get("accept", "")
    for media in accept_order(accept):
        fmt = next((x for x in FORMATS.values() if media in x.accepts), None)
        if fmt is not None and (download or fmt.key in FILE_ONLY):
            return fmt
        if fmt is not None or media in PAGE_MEDIA:
            break
    return FORMATS["geojson"] if download else negotiate(None, accept, PAGES)


class TemporaryFileResponse(FileResponse):
    """A file in a temporary folder of its own, removed once the response is sent or fails (a client gone
    mid-download included) — or, when it is never sent, once the response object is dropped."""

    def __init__(self, path: Path, folder: Path, **kwargs: Any) -> None:  # noqa: ANN401 - FileResponse's options
        super().__init__(path, stat_result=path.stat(), **kwargs)
        for name in ("etag", "last-modified", "accept-ranges"):  # made for this request: nothing to revalidate
            del self.headers[name]
        self.remove_folder = weakref.finalize(self, shutil.rmtree, folder, True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # made for this request: a range of it means nothing to a later request, which gets a file made anew
        scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k.lower() not in (b"range", b"if-range")]}
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.remove_folder()


async def download_items(request: Request, query: ItemsRequest, fmt: DownloadFormat) -> Response:
    """The file of everything `query` selects (at most `limit` features when the request gives one): 413 beyond the
    configured maximum, 400 for a `cursor` (a download is not paged)."""
    if query.cursor is not None:
        raise InvalidParameter("cursor: a download is not paged; it holds the whole selection", parameter="cursor")
    services = services_of(request.app)
    settings = services.settings
    limit = request.query_params.get("limit")  # not the page size: a download is not capped by the items maximum
    if settings.download_tmp_dir is not None:
        settings.download_tmp_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="lapis-download-", dir=settings.download_tmp_dir))

    def client_gone() -> bool:  # asked by the worker thread before each batch of rows
        return anyio.from_thread.run(request.is_disconnected)

    work = partial(write_download, services.db.url, query, fmt, folder, max_features=settings.download_max_features,
                   limit=int(limit) if limit is not None else None, stop=client_gone)
    try:  # cancelled: waits for the thread, then removes the folder
        path = await anyio.to_thread.run_sync(work, limiter=_limiter(request, settings.download_concurrency))
        return TemporaryFileResponse(path, folder, media_type=fmt.media_type, filename=fmt.filename(query.layer),
                                     headers={"Content-Crs": f"<{query.crs.uri}>"})
    except ExportCancelled:
        shutil.rmtree(folder, ignore_errors=True)
        return Response(status_code=CLIENT_CLOSED_REQUEST)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _limiter(request: Request, concurrency: int) -> anyio.CapacityLimiter:
    """The app's one limit on downloads being written at once (each holds a thread and a database connection);
    more wait their turn."""
    limiter = getattr(request.app.state, "download_limiter", None)
    if limiter is None:
        limiter = request.app.state.download_limiter = anyio.CapacityLimiter(concurrency)
    return limiter


def download_href(items_href: str, fmt: DownloadFormat) -> str:
    return f"{items_href}?f={fmt.key}" + ("" if fmt.key in FILE_ONLY else "&download=true")


def enclosure_links(collection_href: str, layer: Layer) -> list[dict[str, str]]:
    """`rel: enclosure` links of a collection: the whole collection in each format it can be downloaded in."""
    return [{"rel": "enclosure", "type": fmt.media_type, "title": f"Download all features as {fmt.title}",
             "href": download_href(f"{collection_href}/items", fmt)} for fmt in formats_for(layer)]


def with_downloads(responses: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """The items route's documented responses, with the download media types and the 413 added."""
    ok = responses.get(200, {})
    content = {**ok.get("content", {}), **{fmt.media_type: {} for fmt in FORMATS.values()}}
    too_large = {"description": "A download's selection holds more features than LAPIS_DOWNLOAD_MAX_FEATURES",
                 "content": {PROBLEM_JSON: {}}}
    return {**responses, 200: {**ok, "content": content}, 413: too_large}
