"""ASGI middleware of the app: the tile fast path."""

from __future__ import annotations

import re
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.dependencies import parse_collection_subset, services_of
from app.problems import problem_of, problem_type
from app.tile_response import tile_reply
from spatial.errors import SpatialInputError
from spatial.tiles.grid import TMS_ID, Tile

# A well-formed tile request: the composite tileset or one collection's, WebMercatorQuad, decimal z/y/x (and the
# .mvt/.pbf suffix the tile routes also take).
FAST_TILE_PATH = re.compile(
    rf"^/(?:collections/([A-Za-z0-9_]+)/)?tiles/{TMS_ID}/(\d{{1,2}})/(\d{{1,9}})/(\d{{1,9}})(?:\.mvt|\.pbf)?$")

# the query parameters the tile routes declare (anything else is theirs to refuse)
COLLECTION_TILE_PARAMS = frozenset({"v"})
COMPOSITE_TILE_PARAMS = frozenset({"v", "collections"})


class TileFastPath:
    """Serves well-formed GET tile requests before FastAPI's routing, dependency injection and middleware stack
    (measured: a sizeable share of a tile's server time). Anything it does not fully understand — another method,
    an unknown collection, a tile out of range, a bad `collections` list — goes on to the FastAPI routes below,
    which answer it (problem+json and all); the routes stay the documented API. It parses `collections=` with the
    routes' own parser, and errors while rendering get the routes' own problem answers."""

    def __init__(self, app: ASGIApp, lapis: Starlette) -> None:
        self.app = app
        self.lapis = lapis

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or (
                match := FAST_TILE_PATH.match(scope["path"])) is None:
            return await self.app(scope, receive, send)
        collection, z, y, x = match.groups()
        query = parse_qs(scope["query_string"].decode("latin-1"), keep_blank_values=True) \
            if scope["query_string"] else {}
        if not set(query) <= (COLLECTION_TILE_PARAMS if collection is not None else COMPOSITE_TILE_PARAMS):
            # the route refuses what it does not declare (400), and answers `asof=` (the plan at an instant,
            # rendered from the history, outside the tile cache)
            return await self.app(scope, receive, send)
        services = services_of(self.lapis)
        try:
            tile = Tile(int(z), int(x), int(y))
            if collection is not None:
                layers = services.tiles.tile_layers([collection])
            else:
                layers = parse_collection_subset(query.get("collections", [None])[-1], services.registry).layers
        except SpatialInputError:
            return await self.app(scope, receive, send)
        accept_encoding, if_none_match = "", None
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                accept_encoding = value.decode("latin-1")
            elif name == b"if-none-match":
                if_none_match = value.decode("latin-1")
        try:
            status, headers, body = await tile_reply(
                services.tiles, layers, tile, composite=collection is None,
                version=query.get("v", [None])[-1], accept_encoding=accept_encoding, if_none_match=if_none_match)
        except Exception as exc:
            if problem_type(exc) is None:
                raise  # a bug: Starlette's error middleware answers 500 and logs it, as for a route
            return await problem_of(exc, Request(scope).url.path)(scope, receive, send)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def install_tile_fast_path(app: Starlette) -> None:
    """Put TileFastPath in front of the app's routes (outermost but for Starlette's error middleware)."""
    app.add_middleware(TileFastPath, lapis=app)
