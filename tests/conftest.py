"""Shared fixtures: one throwaway PostGIS cluster per test session (the same code as `lapis db`),
a migrated + seeded template database, and fresh copies of it for tests that write.

Set LAPIS_TEST_KEEP_CLUSTER=1 to keep the cluster folder after the run for inspection.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from spatial import migrate
from spatial.embedded import EmbeddedCluster
from spatial.seed import seed
from spatial.settings import Settings
from tests.helpers import BUNDLED_DATA, app_url_of, make_settings, serve_in_thread

TEMPLATE_DB = "lapis_template"
# Starlette's TestClient sends `Host: testserver`: the apps of this session answer for it (outside tests, a Host off
# the allow-list is refused). Tests of the Host policy itself pass `allowed_hosts` explicitly.
os.environ.setdefault("LAPIS_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1,[::1]")
_copies = itertools.count(1)


@contextmanager
def cluster_folder() -> Iterator[Path]:
    """A folder for a test cluster, outside pytest's temp root: every pytest session resets
    /tmp/pytest-of-<user> to 0700, which would lock the unprivileged server user out of the clusters
    of any other session running at the same time (several developers' or CI runs on one machine)."""
    folder = Path(tempfile.mkdtemp(prefix="lapis-test-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture()
def cluster_home() -> Iterator[Path]:
    """A fresh folder of this test's own for an embedded cluster (removed afterwards)."""
    with cluster_folder() as folder:
        yield folder


@pytest.fixture(scope="session")
def cluster() -> Iterator[EmbeddedCluster]:
    with cluster_folder() as folder:
        cluster = EmbeddedCluster(folder / ".data", TEMPLATE_DB, throwaway=True)
        cluster.start()
        yield cluster
        if os.environ.get("LAPIS_TEST_KEEP_CLUSTER"):
            cluster.stop()
            shutil.copytree(folder, Path(tempfile.gettempdir()) / f"lapis-kept-{folder.name}", symlinks=True)
        else:
            cluster.destroy()


@pytest.fixture(scope="session")
def template_url(cluster: EmbeddedCluster) -> str:
    """The migrated and seeded template database (never written by tests)."""
    url = cluster.status().url
    assert url
    migrate.upgrade(url)
    seed(url, BUNDLED_DATA)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return url


@pytest.fixture(scope="session")
def make_database(cluster: EmbeddedCluster, template_url: str) -> Callable[[], str]:
    """Factory: a new database copied from the seeded template (cheap: a file-level copy)."""
    port = cluster.status().port

    def _make() -> str:
        name = f"lapis_test_{next(_copies)}"
        with psycopg.connect(cluster.url(port, "postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
        return cluster.url(port, name)

    return _make


@pytest.fixture(scope="session")
def db_url(make_database: Callable[[], str]) -> str:
    """A seeded database shared by read-only tests."""
    return make_database()


@pytest.fixture(scope="session")
def app_db_url(cluster: EmbeddedCluster, db_url: str) -> str:
    """`db_url`'s database as the server's login, lapis_app (what `lapis serve` connects with): the apps of the
    session fixtures use it. `db_url` itself is the owner's, for what tests set up."""
    return app_url_of(cluster, db_url)


@pytest.fixture()
def fresh_db_url(make_database: Callable[[], str]) -> str:
    """A seeded database of this test's own, for tests that write."""
    return make_database()


@pytest.fixture(scope="session")
def settings(app_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(app_db_url, tmp_path_factory.mktemp("app-data"))


@pytest.fixture(scope="session")
def client(settings: Settings) -> Iterator[TestClient]:
    from app.main import create_app

    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def live_server_url(settings: Settings) -> Iterator[str]:
    """The app served by a real uvicorn on a free port (browser tests need real HTTP)."""
    from app.main import create_app

    with serve_in_thread(create_app(settings)) as url:
        yield url
