"""The server as the database's least-privileged login, and the commands that say how to connect (`lapis db status`)
and make that login on a server of the province's own (`lapis db grant`)."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from pathlib import Path

import asyncpg
import psycopg
from fastapi.testclient import TestClient
from psycopg.conninfo import conninfo_to_dict

from app.main import create_app
from spatial.embedded import EmbeddedCluster
from spatial.identity.model import Identity, Role
from spatial.session import as_caller
from spatial.tiles.grid import lonlat_to_tile
from tests.helpers import make_settings

LAPIS = [sys.executable, "-m", "app.cli"]
TAN_AN = (106.413, 10.535)
TILE = lonlat_to_tile(*TAN_AN, 10)
PAGES = ("/", "/conformance", "/collections", "/collections/zones", "/collections/zones/items?limit=5",
         f"/collections/zones/tiles/WebMercatorQuad/{TILE.z}/{TILE.y}/{TILE.x}",
         f"/tiles/WebMercatorQuad/{TILE.z}/{TILE.y}/{TILE.x}", "/search?q=tan",
         f"/locate?lon={TAN_AN[0]}&lat={TAN_AN[1]}", "/styles/plan.json", "/map", "/api", "/health", "/metrics")


def lapis(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LAPIS, *args], capture_output=True, text=True, env=env, timeout=180, check=False)


def test_the_server_serves_its_pages_as_the_app_login(client: TestClient, app_db_url: str) -> None:
    assert conninfo_to_dict(app_db_url)["user"] == "lapis_app"
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    pools = client.app.state.services.pools  # type: ignore[attr-defined]

    async def who(pool: object) -> list[tuple[str, str]]:
        seen = []
        for _ in range(2):  # the second time on a connection the pool has reset (RESET ALL keeps the role)
            async with pool.acquire() as conn:  # type: ignore[attr-defined]
                seen.append(tuple(await conn.fetchrow("SELECT session_user, current_user")))
        async with pool.acquire() as conn, as_caller(conn, Identity("ana", Role.approver)):  # type: ignore[attr-defined]
            seen.append(tuple(await conn.fetchrow("SELECT session_user, current_user")))
        async with pool.acquire() as conn:  # type: ignore[attr-defined]
            seen.append(tuple(await conn.fetchrow("SELECT session_user, current_user")))
        return seen

    for pool in pools.all():
        assert client.portal.call(who, pool) == [  # type: ignore[union-attr]
            ("lapis_app", "lapis_reader"), ("lapis_app", "lapis_reader"), ("lapis_app", "lapis_approver"),
            ("lapis_app", "lapis_reader")], pool.name


def test_db_status_never_prints_a_password_unasked(cluster: EmbeddedCluster) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LAPIS_OWNER_DATABASE_URL")}
    env |= {"LAPIS_DATA_DIR": str(cluster.data_dir), "LAPIS_DB_NAME": cluster.db_name}  # the template database
    passwords = cluster.credentials().passwords  # type: ignore[union-attr]
    port = cluster.status().port
    app, owner = lapis(env, "db", "status"), lapis(env, "db", "status", "--owner", "--format", "libpq")
    for result in (app, owner):
        assert result.returncode == 0, result.stderr
        assert not any(p in result.stdout + result.stderr for p in passwords.values())
        assert f"PGPASSFILE={cluster.passfile}" in " ".join(result.stderr.split())
    assert app.stdout.strip() == f"postgresql://lapis_app@127.0.0.1:{port}/{cluster.db_name}"
    assert owner.stdout.strip() == f"host=127.0.0.1 port={port} dbname={cluster.db_name} user=lapis"
    shown = lapis(env, "db", "status", "--show-password")
    assert shown.stdout.strip() == f"postgresql://lapis_app:{passwords['lapis_app']}@127.0.0.1:{port}/{cluster.db_name}"
    shown_owner = lapis(env, "db", "status", "--owner", "--show-password", "--format", "libpq")
    assert shown_owner.stdout.strip().endswith(f"user=lapis password={passwords['lapis']}")


def test_db_grant_makes_the_server_login_on_an_external_server(fresh_db_url: str, tmp_path: Path) -> None:
    login = "lapis_grant_test"
    env = {**os.environ, "DATABASE_URL": fresh_db_url, "LAPIS_DATA_DIR": str(tmp_path)}
    try:
        made = lapis(env, "db", "grant", "--login", login)
        assert made.returncode == 0, made.stderr
        passfile = tmp_path / f"{login}.pgpass"
        assert stat.S_IMODE(passfile.stat().st_mode) == 0o600
        url = made.stdout.strip()
        password = passfile.read_text().splitlines()[-1].rsplit(":", 1)[1]
        assert password not in made.stdout + made.stderr
        assert conninfo_to_dict(url)["passfile"] == str(passfile) and conninfo_to_dict(url)["user"] == login
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT session_user, current_user").fetchone() == (login, "lapis_reader")
            assert conn.execute("SELECT count(*) FROM zones").fetchone()[0] > 0

        async def with_asyncpg() -> str:
            conn = await asyncpg.connect(url)
            try:
                return str(await conn.fetchval("SELECT session_user"))
            finally:
                await conn.close()

        assert asyncio.run(with_asyncpg()) == login
        again = lapis(env, "db", "grant", "--login", login)
        assert again.returncode == 0 and again.stdout.strip() == url
        assert passfile.read_text().splitlines()[-1].rsplit(":", 1)[1] == password, "the password is kept"
        script = lapis(env, "db", "grant", "--login", login, "--sql")
        assert "CREATE ROLE lapis_grant_test LOGIN NOINHERIT" in script.stdout and "SCRAM-SHA-256$" in script.stdout
        assert password not in script.stdout + script.stderr
        served = {**env, "DATABASE_URL": url, "LAPIS_OWNER_DATABASE_URL": fresh_db_url}
        assert lapis(served, "db", "migrate").returncode == 0  # as the owner: the server's login could not
        with TestClient(create_app(make_settings(url, tmp_path))) as client:
            assert client.get("/collections/zones/items?limit=2").status_code == 200
    finally:
        with psycopg.connect(fresh_db_url, autocommit=True) as conn:
            conn.execute(f"DROP ROLE IF EXISTS {login}")


def test_an_owner_url_without_a_server_url_is_a_clear_error(tmp_path: Path, fresh_db_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {"LAPIS_OWNER_DATABASE_URL": fresh_db_url, "LAPIS_DATA_DIR": str(tmp_path / ".data")}
    result = lapis(env, "db", "migrate")
    assert result.returncode == 1 and "DATABASE_URL" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / ".data" / "postgres").exists()
