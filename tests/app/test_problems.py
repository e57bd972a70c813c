"""One error hierarchy, one status table: every error a user can cause is a SpatialInputError, its HTTP status
comes from one table by class, and only the database's own connection errors read as "database unavailable"."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
from pathlib import Path

import asyncpg
import orjson
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.problems import PROBLEM_TYPES, problem_handler, problem_type
from spatial.errors import DatabaseUnavailable, InvalidParameter, NotFound, SpatialInputError
from spatial.layers import UnknownLayer, get_layer
from spatial.pool import Database
from spatial.settings import Settings
from spatial.tiles.grid import Tile, TileOutOfRange, UnknownTileMatrixSet, lonlat_to_tile
from spatial.tiles.pmtiles_export import NothingToExport, export_pmtiles
from spatial.tiles.service import UnknownTileLayer, tile_layers

TAN_AN = (106.413, 10.535)


class NoSuchPlan(NotFound):
    """A domain error a future module might add: it gets its status from its class alone."""


class Whatever(SpatialInputError):
    pass


@pytest.mark.parametrize("error,status,title", [
    (InvalidParameter("x"), 400, "Invalid parameter"),
    (Whatever("x"), 400, "Invalid parameter"),
    (NotFound("x"), 404, "Not found"),
    (NoSuchPlan("x"), 404, "Not found"),
    (UnknownLayer("nope"), 404, "Not found"),
    (UnknownTileLayer("nope"), 404, "Unknown collection"),
    (UnknownTileMatrixSet("x"), 404, "Unknown tile matrix set"),
    (TileOutOfRange("x"), 404, "Tile out of range"),
    (NothingToExport("x"), 400, "Invalid parameter"),
    (DatabaseUnavailable("x"), 503, "Database unavailable"),
    (asyncpg.ConnectionDoesNotExistError("x"), 503, "Database unavailable"),
    (asyncpg.QueryCanceledError("x"), 503, "Database timeout"),
    (asyncpg.DivisionByZeroError("x"), 400, "Invalid value"),
])
def test_status_by_class(error: Exception, status: int, title: str) -> None:
    kind = problem_type(error)
    assert kind is not None and (kind.status, kind.title) == (status, title)


@pytest.mark.parametrize("error", [OSError("disk"), FileNotFoundError("x"), PermissionError("x"),
                                   ConnectionRefusedError("not via the pool"), ValueError("bug"), KeyError("bug")])
def test_other_errors_are_not_in_the_table(error: Exception) -> None:
    assert problem_type(error) is None  # answered 500 "Internal server error"


def test_domain_errors_share_one_base() -> None:
    errors = [UnknownLayer, UnknownTileLayer, TileOutOfRange, UnknownTileMatrixSet, NothingToExport]
    assert all(issubclass(cls, SpatialInputError) for cls in errors)
    assert not issubclass(UnknownLayer, KeyError) and not issubclass(TileOutOfRange, ValueError)
    with pytest.raises(UnknownLayer) as unknown:
        get_layer("nope")
    assert unknown.value.parameter == "collectionId" and "'nope'" in unknown.value.detail
    with pytest.raises(UnknownTileLayer):
        tile_layers(["plans"])
    with pytest.raises(InvalidParameter) as zooms:
        export_pmtiles("postgresql://unused/none", Path("never.pmtiles"), minzoom=9, maxzoom=3)
    assert "9..3" in str(zooms.value)
    with pytest.raises(TileOutOfRange):
        Tile(3, 8, 0)


def test_one_handler_for_every_error(client: TestClient) -> None:
    from fastapi.exceptions import WebSocketRequestValidationError

    handlers = {handler for cls, handler in client.app.exception_handlers.items()
                if cls is not WebSocketRequestValidationError}  # FastAPI's own, for websockets (LAPIS has none)
    assert handlers == {problem_handler}
    assert set(PROBLEM_TYPES) <= set(client.app.exception_handlers)


def test_cursor_checks_hold_without_asserts(client: TestClient) -> None:
    """A forged cursor of the right encoding but the wrong shape is a 400 — also under `python -O`, which strips
    asserts (the check used to be one)."""
    forged = base64.urlsafe_b64encode(orjson.dumps({"v": "not a list", "d": "n", "s": "id"})).decode()
    body = client.get(f"/collections/zones/items?cursor={forged}").json()
    assert body["status"] == 400 and body["parameter"] == "cursor"
    script = ("import base64, orjson\nfrom spatial.errors import InvalidParameter\n"
              "from spatial.features import _decode_cursor\n"
              "for value in ({'v': 'ab', 'd': 'n', 's': 'id'}, {'v': [1], 'd': 'n', 's': 'id'},\n"
              "              {'v': ['1'], 'd': 'x', 's': 'id'}, {'v': ['1', '2'], 'd': 'n', 's': 'id'}):\n"
              "    token = base64.urlsafe_b64encode(orjson.dumps(value)).decode()\n"
              "    try:\n        _decode_cursor(token, 'id', 1)\n    except InvalidParameter:\n        continue\n"
              "    raise SystemExit(f'accepted {value}')\n")
    done = subprocess.run([sys.executable, "-O", "-c", script], capture_output=True, text=True, check=False,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stdout + done.stderr


def _tile_cache_on_a_file(db_url: str, tmp_path: Path) -> Settings:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the tile cache folder should be")
    return Settings(database_url=db_url, data_dir=tmp_path, tile_cache_dir=blocker)


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast path", "route"])
def test_a_file_error_is_not_database_unavailable(db_url: str, tmp_path: Path, fast_path: bool) -> None:
    """The disk tile cache cannot be written (its folder is a file): an OSError, but not the database's."""
    from app.middleware import TileFastPath

    app = create_app(_tile_cache_on_a_file(db_url, tmp_path))
    if not fast_path:
        app.user_middleware = [m for m in app.user_middleware if m.cls is not TileFastPath]
    tile = lonlat_to_tile(*TAN_AN, 9)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get(f"/collections/zones/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}")
        assert response.status_code == 500, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["title"] == "Internal server error" and "retry-after" not in response.headers
        assert client.get("/health").status_code == 200  # the database is fine all along


def test_pool_turns_connection_failures_into_database_unavailable(tmp_path: Path) -> None:
    async def attempt(url: str) -> DatabaseUnavailable:
        db = Database(url, connect_timeout=2)
        with pytest.raises(DatabaseUnavailable) as error:
            async with db.acquire() as conn:
                await conn.fetchval("SELECT 1")
        return error.value

    refused = asyncio.run(attempt("postgresql://nobody@127.0.0.1:1/none"))
    assert isinstance(refused.__cause__, OSError)
    no_socket = asyncio.run(attempt(f"postgresql://nobody@/none?host={tmp_path / 'no-such-run-dir'}"))
    assert isinstance(no_socket.__cause__, OSError)


def test_pool_leaves_other_errors_alone(db_url: str, tmp_path: Path) -> None:
    async def attempt() -> None:
        db = Database(db_url)
        try:
            async with db.acquire():
                (tmp_path / "missing" / "file").read_text()
        finally:
            await db.close()

    with pytest.raises(FileNotFoundError):
        asyncio.run(attempt())


def test_database_gone_is_503(tmp_path: Path) -> None:
    settings = Settings(database_url="postgresql://nobody@127.0.0.1:1/none", data_dir=tmp_path)
    with TestClient(create_app(settings)) as client:
        tile = lonlat_to_tile(*TAN_AN, 9)
        for path in ("/collections", "/collections/zones/items", f"/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}"):
            response = client.get(path)
            assert response.status_code == 503, path
            assert response.json()["title"] == "Database unavailable" and response.headers["retry-after"] == "5"
