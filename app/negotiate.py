"""Output format from `f=` (wins) or the Accept header, and link building that keeps the query string."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from starlette.responses import Response

from spatial.errors import InvalidParameter
from spatial.json import dumps

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
CSV = "text/csv"
MEDIA = {"json": JSON, "geojson": GEOJSON, "html": HTML, "csv": CSV}


def negotiate(f: str | None, accept: str, allowed: tuple[str, ...]) -> str:
    """'json' | 'geojson' | 'html' | 'csv' — from f= or Accept; the first allowed one by default."""
    if f is not None:
        f = f.lower()
        if f not in allowed:
            raise InvalidParameter(f"f: {f!r} is not offered here; use one of {', '.join(allowed)}", parameter="f")
        return f
    if "text/html" in accept and "html" in allowed:
        return "html"
    if "text/csv" in accept and "csv" in allowed and "json" not in accept:
        return "csv"
    return allowed[0]


def output_format(allowed: tuple[str, ...], description: str | None = None) -> Callable[..., str]:
    """A dependency: the output format a request asks for among `allowed` (the first is the default), listed in the
    API definition with its values (a resource refuses any parameter the definition does not declare)."""

    # (a default, not Annotated: the annotation of a function made here must not name this function's locals)
    def negotiated(request: Request, f: str | None = Query(
            None, description=description or " | ".join(allowed),
            json_schema_extra={"enum": list(allowed)})) -> str:
        return negotiate(f, request.headers.get("accept", ""), allowed)

    return negotiated


# Pages with a JSON body and an HTML rendering (landing, conformance, collections, queryables, the API definition)
JsonOrHtml = Annotated[str, Depends(output_format(("json", "html")))]


def json_response(body: object, media_type: str = JSON, headers: dict[str, str] | None = None) -> Response:
    """A body serialised with orjson, sent as is (no pydantic validation on the way out)."""
    return Response(dumps(body), media_type=media_type, headers=headers)


# Where `app.security` leaves the base of every link: the configured public URL, or this request's scheme, allowed
# Host and root path. Links are built from it only, never from the Host header directly.
BASE_URL_KEY = "lapis.base_url"


def base_url(request: Request) -> str:
    return request.scope.get(BASE_URL_KEY) or str(request.base_url).rstrip("/")


def route_path(request: Request) -> str:
    """The path under the app's root (what the routes match), e.g. /collections/zones."""
    path, root = request.url.path, request.scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def request_url(request: Request) -> str:
    """This request's URL under `base_url` (the self link)."""
    query = request.url.query
    return base_url(request) + route_path(request) + (f"?{query}" if query else "")


def url_with(request: Request, path: str | None = None, **changes: str | None) -> str:
    """This request's URL (or `path` on this server) with query parameters changed (None removes)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    params += [(k, v) for k, v in changes.items() if v is not None]
    target = base_url(request) + (path if path is not None else route_path(request))
    return target + ("?" + urlencode(params) if params else "")
