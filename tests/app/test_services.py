"""Services are built once, by the app's lifespan, and routers receive them only through `app.dependencies`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.middleware.cors import CORSMiddleware

from app.dependencies import get_settings
from app.head import HeadAsGet
from app.main import create_app
from app.memory import MemoryGuard
from app.middleware import TileFastPath
from app.security import EdgeMiddleware
from spatial.settings import Settings
from spatial.tiles.grid import lonlat_to_tile

ROUTERS = Path(__file__).resolve().parents[2] / "app" / "routers"
TAN_AN = (106.413, 10.535)


def make_settings(url: str, data_dir: Path, **overrides: object) -> Settings:
    return Settings(database_url=url, data_dir=data_dir, **overrides)


def _sample(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    assert match, f"{name} missing from:\n{text}"
    return float(match.group(1))


def test_metrics_show_the_tile_cache_before_the_first_tile(db_url: str, tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(db_url, tmp_path))) as client:
        text = client.get("/metrics").text
        assert "# TYPE lapis_tile_cache_hits_total counter" in text
        assert _sample(text, "lapis_tile_cache_hits_total") == 0
        assert _sample(text, "lapis_tile_cache_misses_total") == 0
        assert _sample(text, "lapis_tile_cache_tiles") == 0
        tile = lonlat_to_tile(*TAN_AN, 9)
        client.get(f"/collections/zones/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}")
        text = client.get("/metrics").text
        assert _sample(text, "lapis_tile_cache_misses_total") == 1 and _sample(text, "lapis_tile_cache_tiles") == 1


def test_metrics_without_a_tile_cache_say_nothing_of_it(db_url: str, tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(db_url, tmp_path, tile_cache="off"))) as client:
        text = client.get("/metrics").text
        assert "lapis_layer_features" in text and "lapis_tile_cache" not in text


def test_lifespan_builds_each_service_once_and_closes_the_pools(db_url: str, tmp_path: Path) -> None:
    settings = make_settings(db_url, tmp_path)
    app = create_app(settings)
    assert not hasattr(app.state, "services")  # the factory builds nothing: the lifespan does
    with TestClient(app) as client:
        services = app.state.services
        assert services.settings is settings
        assert services.tiles.db is not services.db  # the tile service has a pool of its own
        assert services.tiles.db.server_settings["plan_cache_mode"] == "force_custom_plan"
        tile = lonlat_to_tile(*TAN_AN, 10)
        for _ in range(2):  # the fast path and the routes' dependencies find the very same objects
            client.get(f"/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}")
            client.get("/tiles/WebMercatorQuad/tilejson.json")
            client.get("/collections/zones/items?limit=1")
        assert app.state.services is services and services.tiles.cache.hits >= 1
        assert services.db._pool is not None and services.tiles.db._pool is not None
    assert services.db._pool is None and services.tiles.db._pool is None  # closed at shutdown


def test_a_route_without_the_lifespan_says_so(db_url: str, tmp_path: Path) -> None:
    client = TestClient(create_app(make_settings(db_url, tmp_path)))  # no `with`: the lifespan never runs
    with pytest.raises(RuntimeError, match="lifespan"):
        client.get("/collections")


def test_dependencies_can_be_overridden(db_url: str, tmp_path: Path) -> None:
    """Routes take services from the dependencies alone: overriding one reaches every route that uses it."""
    app = create_app(make_settings(db_url, tmp_path))
    other = make_settings(db_url, tmp_path, basemap_url="https://tiles.example/{z}/{x}/{y}.png")
    app.dependency_overrides[get_settings] = lambda: other
    with TestClient(app) as client:
        style = client.get("/styles/plan.json").json()
        assert any("tiles.example" in str(source) for source in style["sources"].values())


def test_routers_never_reach_into_app_state() -> None:
    for module in ROUTERS.glob("*.py"):
        text = module.read_text()
        assert "app.state" not in text and "getattr(app" not in text, module.name


def test_the_fast_path_lives_in_the_middleware_module(db_url: str, tmp_path: Path) -> None:
    app = create_app(make_settings(db_url, tmp_path))
    # outermost first: CORS wraps every answer; the edge (request id, Host, headers) and the memory guard
    # (app.security); HEAD is passed on as GET; then the tile fast path before the routes
    assert [m.cls for m in app.user_middleware] == [CORSMiddleware, EdgeMiddleware, MemoryGuard, HeadAsGet,
                                                    TileFastPath]
