"""`/metrics` in the Prometheus text format: layer sizes and data versions, the tile cache and the
connection pool — what an operator graphs and alerts on. Read on demand; nothing is added to the
request path of other routes.

It can be kept to the operator's own: `LAPIS_METRICS_ALLOW` (networks, CIDR) and/or `LAPIS_METRICS_TOKEN` (sent as
`Authorization: Bearer …`); with both, either one lets a request in. With neither, /metrics is open."""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from app.dependencies import ServicesDep, SettingsDep
from app.pools import Pools
from app.problems import Problem
from spatial.catalog import layer_summaries, layer_versions
from spatial.settings import Settings

router = APIRouter(tags=["health"])
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def _metric(lines: list[str], name: str, kind: str, help_text: str,
            samples: list[tuple[dict[str, str], float]]) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} {kind}")
    for labels, value in samples:
        label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
        lines.append(f"{name}{{{label_text}}} {value:g}" if label_text else f"{name} {value:g}")


def pool_samples(pools: Pools) -> list[tuple[dict[str, str], float]]:
    samples: list[tuple[dict[str, str], float]] = []
    for read_pool in pools.all():
        opened, idle = read_pool.primary.connections()
        samples += [({"pool": read_pool.name, "state": "open"}, opened),
                    ({"pool": read_pool.name, "state": "idle"}, idle),
                    ({"pool": read_pool.name, "state": "max"}, read_pool.primary.max_size)]
    return samples


def allowed_networks(settings: Settings) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """LAPIS_METRICS_ALLOW as networks (a bad entry is a configuration error, raised at the first request)."""
    text = settings.metrics_allow or ""
    return [ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()]


def metrics_access(request: Request, settings: SettingsDep) -> None:
    """Let the request read /metrics, or refuse it: 401 without a token when one would do, 403 otherwise."""
    networks, token = allowed_networks(settings), settings.metrics_token
    if not networks and not token:
        return
    if token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return
    if networks and request.client is not None:
        try:
            address = ipaddress.ip_address(request.client.host)
        except ValueError:
            address = None
        if address is not None and any(address in network for network in networks):
            return
    if token and "authorization" not in request.headers:
        raise Problem(401, "Unauthorized", "/metrics needs a bearer token", headers={"WWW-Authenticate": "Bearer"})
    raise Problem(403, "Forbidden", "/metrics is restricted to the operator's networks or token")


@router.get("/metrics", summary="Operational metrics (Prometheus text format)",
            dependencies=[Depends(metrics_access)],
            responses={200: {"content": {PROMETHEUS_TEXT: {"schema": {"type": "string"}}},
                             "description": "Prometheus text exposition format"}})
async def metrics(services: ServicesDep) -> Response:
    async with services.db.acquire() as conn:
        summaries = await layer_summaries(conn, services.registry)
        versions = await layer_versions(conn)
    lines: list[str] = []
    _metric(lines, "lapis_layer_features", "gauge", "Features per layer (planner estimate for big layers)",
            [({"layer": s.layer.id}, s.count) for s in summaries])
    _metric(lines, "lapis_layer_data_version", "gauge", "Id of the last transaction that changed the layer",
            [({"layer": layer}, version) for layer, version in sorted(versions.items())])
    pool = await services.db.pool()
    _metric(lines, "lapis_db_pool_connections", "gauge", "Connections in the API pool",
            [({"state": "open"}, pool.get_size()), ({"state": "idle"}, pool.get_idle_size())])
    _metric(lines, "lapis_pool_connections", "gauge", "Connections to the primary by pool (kind of work)",
            pool_samples(services.pools))
    _metric(lines, "lapis_replica_healthy", "gauge", "1 when reads may go to the replica (as last measured)",
            [({"replica": h.name}, float(h.healthy)) for h in services.pools.replica_health()])
    cache = services.tiles.cache  # None when the tile cache is off
    if cache is not None:
        _metric(lines, "lapis_tile_cache_hits_total", "counter", "Tile requests answered from the cache",
                [({}, cache.hits)])
        _metric(lines, "lapis_tile_cache_misses_total", "counter", "Tile requests rendered by the database",
                [({}, cache.misses)])
        _metric(lines, "lapis_tile_cache_tiles", "gauge", "Tiles held in memory", [({}, len(cache))])
        _metric(lines, "lapis_tile_cache_bytes", "gauge", "Memory the tiles held may take (bounded by "
                "LAPIS_TILE_CACHE_BYTES)", [({}, cache.bytes)])
    return Response("\n".join(lines) + "\n", media_type=PROMETHEUS_TEXT)
