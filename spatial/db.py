"""Where the database is: DATABASE_URL when set, otherwise the embedded cluster (started on demand).

Every entry point (CLI, app, scripts, tests) asks here, so "which server?" has one answer. Two logins: the
server's (`database_url`: least privilege, see spatial.dbroles) and the owner's (`owner_database_url`: migrations,
loads, backups — the CLI).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import psycopg

from spatial.embedded import ClusterStatus, EmbeddedCluster, EmbeddedError
from spatial.settings import Settings

if TYPE_CHECKING:  # SQLAlchemy is imported only where an engine is made: CLI commands start faster
    from sqlalchemy import Engine


class DatabaseSettingsError(EmbeddedError):
    """The database settings contradict each other (the message says how to fix them)."""


def embedded_cluster(settings: Settings) -> EmbeddedCluster:
    return EmbeddedCluster(settings.data_dir, settings.db_name, wal_archive=settings.wal_archive_enabled,
                           wal_archive_dir=settings.wal_archive_dir)


def database_url(settings: Settings, *, start: bool = True) -> str:
    """The server's URL: DATABASE_URL, or the embedded cluster's app login `lapis_app` (started unless
    start=False). The server reads as `lapis_reader` and writes under the caller's role (spatial.dbroles)."""
    if settings.database_url:
        return normalise_url(settings.database_url)
    _no_owner_alone(settings)
    status = _embedded_status(settings, start)
    assert status.app_url
    return status.app_url


def owner_database_url(settings: Settings, *, start: bool = True) -> str:
    """The owner's URL, for what changes the schema or loads data (migrations, `lapis load`, seed, backup and
    restore): LAPIS_OWNER_DATABASE_URL, else DATABASE_URL (one role for everything), else the embedded
    cluster's owner."""
    if settings.database_url:
        return normalise_url(settings.owner_database_url or settings.database_url)
    _no_owner_alone(settings)
    status = _embedded_status(settings, start)
    assert status.url
    return status.url


def _no_owner_alone(settings: Settings) -> None:
    if settings.owner_database_url:
        raise DatabaseSettingsError("LAPIS_OWNER_DATABASE_URL is set but DATABASE_URL is not: set DATABASE_URL to "
                                    "the server's login on the same database (`lapis db grant` makes one)")


def _embedded_status(settings: Settings, start: bool) -> ClusterStatus:
    cluster = embedded_cluster(settings)
    status = cluster.start() if start else cluster.status()
    if not status.url:
        raise RuntimeError("the embedded database is not running: run `lapis db start`")
    return status


def normalise_url(url: str) -> str:
    """Plain libpq form (``postgresql://``) from any SQLAlchemy-style URL."""
    for prefix in ("postgresql+psycopg://", "postgresql+asyncpg://", "postgresql+psycopg2://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix):]
    return url


def sqlalchemy_url(url: str) -> str:
    return "postgresql+psycopg://" + normalise_url(url)[len("postgresql://"):]


def make_engine(url: str) -> Engine:
    from sqlalchemy import create_engine

    return create_engine(sqlalchemy_url(url), pool_pre_ping=True, future=True)


@contextmanager
def connect(url: str, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    """A psycopg 3 connection (COPY, bulk SQL); commits on success, rolls back on error."""
    with psycopg.connect(normalise_url(url), autocommit=autocommit) as conn:
        yield conn
