"""Cross-origin access (CORS): web maps on other origins (Leaflet, OpenLayers, MapLibre pages) read the public API.

The API is public and read-mostly, and never uses cookies or HTTP authentication, so the allowed origins
(`LAPIS_CORS_ORIGINS`, default `*`) get no `Access-Control-Allow-Credentials`: with `*` a browser then sends no
credentials at all. Preflights are answered for GET and HEAD and for the JSON POST queries (`/locate`, `/check`,
`/classify`), which browsers preflight because of their `Content-Type`, and for the Part 4 writes (PUT, PATCH,
DELETE: a signed-in editor's page on another origin sends its token as `Authorization: Bearer`, not as a
cookie). Responses expose the headers a client of this API reads: the tile and feature validators, paging and
CRS headers, the data version, PMTiles' byte ranges, a write's proposal.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware

from spatial.settings import Settings

ALLOWED_METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")
EXPOSED_HEADERS = ("ETag", "Link", "Content-Crs", "X-Data-Version", "Content-Range", "Accept-Ranges",
                   "Content-Disposition", "Location", "Lapis-Proposal")
PREFLIGHT_MAX_AGE = 3600  # seconds a browser may keep a preflight answer


def install_cors(app: Starlette, settings: Settings) -> None:
    """Answer CORS for the configured origins, as the outermost middleware (it wraps the tile fast path too).
    No origins configured: no CORS headers at all (same-origin use only)."""
    origins = settings.cors_origin_list
    if not origins:
        return
    app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=list(ALLOWED_METHODS),
                       allow_headers=["*"], expose_headers=list(EXPOSED_HEADERS), allow_credentials=False,
                       max_age=PREFLIGHT_MAX_AGE)
