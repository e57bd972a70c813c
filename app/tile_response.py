"""The HTTP answer to a tile request — status, headers (ETag, Cache-Control, gzip), body — shared by the tile
routes and the tile fast path (`app.middleware`), so both answer byte for byte alike; and the answer to a tile of
the plan at an instant (`asof=`, routes only)."""

from __future__ import annotations

from datetime import datetime

from starlette.responses import Response

from spatial.history.tiles import render_asof
from spatial.tiles.cache import RenderedTile
from spatial.tiles.grid import Tile, TileOutOfRange, tile_range
from spatial.tiles.layers import TileLayer
from spatial.tiles.limits import TilesetLimits
from spatial.tiles.service import TileService
from spatial.tiles.versions import version_tag

MVT = "application/vnd.mapbox-vector-tile"
Headers = list[tuple[bytes, bytes]]
_VARY = (b"vary", b"accept-encoding")
_MVT_TYPE = (b"content-type", MVT.encode())
_GZIP = (b"content-encoding", b"gzip")
_IMMUTABLE = (b"cache-control", b"public, max-age=31536000, immutable")
_REVALIDATE = (b"cache-control", b"public, no-cache")


def _etag_matches(header: str | None, tile: RenderedTile) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    wanted = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return tile.etag in wanted or _gzip_etag(tile) in wanted


def _gzip_etag(tile: RenderedTile) -> str:
    return tile.etag[:-1] + '-gz"'


async def tile_reply(service: TileService, layers: tuple[TileLayer, ...], tile: Tile, *, composite: bool,
                     version: str | None, accept_encoding: str, if_none_match: str | None
                     ) -> tuple[int, Headers, bytes]:
    """(status, headers, body) of a tile request. With the cache on, the data versions read for this request key
    the cache and tag the response (X-Data-Version; `v=` equal to it makes the response immutable); with it off,
    no version is read at all and every tile comes straight from the database."""
    if service.cache is not None:
        versions = await service.versions()
        check_in_limits(tile, await service.limits(layers, composite=composite, versions=versions))
        rendered = await service.render(layers, tile, composite=composite, versions=versions)
        current = version_tag(versions, [layer.id for layer in layers])
        headers = [_IMMUTABLE if version == current else _REVALIDATE, _VARY, (b"x-data-version", current.encode())]
    else:
        check_in_limits(tile, await service.limits(layers, composite=composite))
        rendered = await service.render_fresh(layers, tile, composite=composite)
        headers = [_REVALIDATE, _VARY]
    return _reply(rendered, headers, accept_encoding, if_none_match)


async def asof_tile_reply(service: TileService, layers: tuple[TileLayer, ...], tile: Tile, asof: datetime, *,
                          composite: bool, accept_encoding: str, if_none_match: str | None
                          ) -> tuple[int, Headers, bytes]:
    """(status, headers, body) of a tile of the plan as it stood at `asof`: rendered from the history, outside the
    tile cache (`spatial.history.tiles`), revalidated by its ETag."""
    rendered = await render_asof(service, layers, tile, asof, composite=composite)
    return _reply(rendered, [_REVALIDATE, _VARY], accept_encoding, if_none_match)


def _reply(rendered: RenderedTile, headers: Headers, accept_encoding: str, if_none_match: str | None
           ) -> tuple[int, Headers, bytes]:
    gzip_ok = "gzip" in accept_encoding.lower()
    headers.append((b"etag", (_gzip_etag(rendered) if gzip_ok and not rendered.empty else rendered.etag).encode()))
    if _etag_matches(if_none_match, rendered):
        return 304, headers, b""
    if rendered.empty:
        return 204, headers, b""
    body = rendered.gzipped if gzip_ok else rendered.data
    if gzip_ok:
        headers.append(_GZIP)
    headers += [_MVT_TYPE, (b"content-length", str(len(body)).encode())]
    return 200, headers, body


def check_in_limits(tile: Tile, limits: TilesetLimits) -> None:
    """TileOutOfRange (404, OGC API – Tiles /req/core/tc-error) for a tile outside the tileset's limits."""
    if limits.contains(tile):
        return
    if tile.z not in limits.zooms:
        raise TileOutOfRange(f"tileMatrix {tile.z} is outside this tileset's tile matrices "
                             f"{limits.min_zoom}–{limits.max_zoom}", parameter="tileMatrix")
    x0, x1, y0, y1 = tile_range(limits.box, tile.z) if limits.box else (tile.x, tile.x, tile.y, tile.y)
    if not y0 <= tile.y <= y1:
        raise TileOutOfRange(f"tileRow {tile.y} is outside this tileset's rows {y0}–{y1} at tileMatrix {tile.z}",
                             parameter="tileRow")
    raise TileOutOfRange(f"tileCol {tile.x} is outside this tileset's columns {x0}–{x1} at tileMatrix {tile.z}",
                         parameter="tileCol")


class RawResponse(Response):
    """A response whose status, header list and body are already made (no header re-encoding)."""

    def __init__(self, status: int, headers: Headers, body: bytes) -> None:
        self.status_code = status
        self.raw_headers = headers
        self.body = body
        self.background = None
