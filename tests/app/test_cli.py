"""The `lapis` command as a user runs it: a subprocess with its own data folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

LAPIS = [sys.executable, "-m", "app.cli"]


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LAPIS, *args], capture_output=True, text=True, env=env, timeout=180, check=False)


def test_db_lifecycle_through_the_cli(cluster_home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["LAPIS_DATA_DIR"] = str(cluster_home / ".data")
    try:
        status = run(["db", "status"], env)
        assert status.returncode == 1 and "not running" in status.stderr
        first = run(["db", "start"], env)
        assert first.returncode == 0, first.stderr
        url = first.stdout.strip()  # the server's login, without its password (in .data/pgpass)
        assert url.startswith("postgresql://lapis_app@")
        passfile = str(cluster_home / ".data" / "pgpass")
        again = run(["db", "start"], env)
        assert again.returncode == 0 and again.stdout.strip() == url
        status = run(["db", "status"], env)
        assert status.returncode == 0 and status.stdout.strip() == url
        libpq = run(["db", "status", "--format", "libpq"], env)
        port = conninfo_to_dict(url)["port"]
        assert libpq.returncode == 0
        assert libpq.stdout.strip() == f"host=127.0.0.1 port={port} dbname=lapis user=lapis_app"
        owner = run(["db", "status", "--format", "libpq", "--owner"], env)
        assert owner.returncode == 0 and owner.stdout.strip() == f"host=127.0.0.1 port={port} dbname=lapis user=lapis"
        assert run(["db", "migrate"], env).returncode == 0
        seeded = run(["db", "seed"], env)
        assert seeded.returncode == 0, seeded.stderr
        with psycopg.connect(url, passfile=passfile) as conn:
            assert conn.execute("SELECT count(*) FROM admin_units").fetchone()[0] == 16
        assert run(["db", "reset", "--yes"], env).returncode == 0
        with psycopg.connect(url, passfile=passfile) as conn:
            assert conn.execute("SELECT count(*) FROM admin_units").fetchone()[0] == 16
        stopped = run(["db", "stop"], env)
        assert stopped.returncode == 0 and "stopped" in stopped.stderr
        assert run(["db", "status"], env).returncode == 1
    finally:
        run(["db", "stop"], env)


def test_database_url_means_no_embedded_cluster(tmp_path: Path, db_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": db_url, "LAPIS_DATA_DIR": str(tmp_path / ".data")}
    started = run(["db", "start"], env)
    assert started.returncode == 0 and "DATABASE_URL is set" in started.stderr
    password = conninfo_to_dict(db_url)["password"]
    assert run(["db", "status"], env).stdout.strip() == db_url.replace(f":{password}@", "@")
    assert run(["db", "migrate"], env).returncode == 0
    assert not (tmp_path / ".data" / "postgres").exists()


def test_db_status_prints_what_qgis_reads_and_never_the_password_unasked(tmp_path: Path, db_url: str) -> None:
    with_password = db_url  # the owner's URL, with the owner's password (the server asks for it)
    params = conninfo_to_dict(db_url)
    secret = params["password"]
    env = {**os.environ, "DATABASE_URL": with_password, "LAPIS_DATA_DIR": str(tmp_path / ".data")}
    url, libpq = run(["db", "status"], env), run(["db", "status", "--format", "libpq"], env)
    for result in (url, libpq):
        assert result.returncode == 0, result.stderr
        assert secret not in result.stdout + result.stderr
        assert "password left out" in result.stderr
    assert url.stdout.strip() == db_url.replace(f":{secret}@", "@")
    assert libpq.stdout.strip() == f"host=127.0.0.1 port={params['port']} dbname={params['dbname']} user=lapis"
    shown_url = run(["db", "status", "--show-password"], env)
    shown_libpq = run(["db", "status", "--format", "libpq", "--show-password"], env)
    assert shown_url.stdout.strip() == with_password
    assert shown_libpq.stdout.strip().endswith(f"user=lapis password={secret}")
    assert "password left out" not in shown_url.stderr + shown_libpq.stderr
    for result, given in ((url, secret), (libpq, secret), (shown_url, None), (shown_libpq, None)):
        with psycopg.connect(result.stdout.strip(), **({"password": given} if given else {})) as conn:
            assert conn.execute("SELECT count(*) FROM admin_units").fetchone()[0] == 16
    wrong = run(["db", "status", "--format", "jdbc"], env)
    assert wrong.returncode == 2 and "use url or libpq" in wrong.stderr


@pytest.mark.parametrize("command", [["db", "seed"], ["db", "migrate"], ["export", "zones", "zones.geojson"]],
                         ids=["seed", "migrate (SQLAlchemy)", "export (psycopg)"])
def test_unreachable_database_is_a_clear_error(tmp_path: Path, command: list[str]) -> None:
    env = {**os.environ, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    result = run([*command[:2], *(str(tmp_path / c) for c in command[2:])], env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "cannot reach the database" in result.stderr
