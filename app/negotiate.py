"""Output format from `f=` (wins) or the Accept header, and link building that keeps the query string."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request
from starlette.responses import Response

from app.problems import Problem
from spatial.json import dumps

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
CSV = "text/csv"
MEDIA = {"json": JSON, "geojson": GEOJSON, "html": HTML, "csv": CSV}


def output_format(request: Request, allowed: tuple[str, ...]) -> str:
    """'json' | 'geojson' | 'html' | 'csv' — from f= or Accept; the first allowed one by default."""
    f = request.query_params.get("f")
    if f is not None:
        f = f.lower()
        if f not in allowed:
            raise Problem(400, "Invalid parameter", f"f: {f!r} is not offered here; use one of {', '.join(allowed)}",
                          parameter="f")
        return f
    accept = request.headers.get("accept", "")
    if "text/html" in accept and "html" in allowed:
        return "html"
    if "text/csv" in accept and "csv" in allowed and "json" not in accept:
        return "csv"
    return allowed[0]


def json_response(body: object, media_type: str = JSON, headers: dict[str, str] | None = None) -> Response:
    """A body serialised with orjson, sent as is (no pydantic validation on the way out)."""
    return Response(dumps(body), media_type=media_type, headers=headers)


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def url_with(request: Request, path: str | None = None, **changes: str | None) -> str:
    """This request's URL (or `path` on this server) with query parameters changed (None removes)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    params += [(k, v) for k, v in changes.items() if v is not None]
    target = base_url(request) + (path if path is not None else request.url.path)
    return target + ("?" + urlencode(params) if params else "")
