"""Where the database is: DATABASE_URL when set, otherwise the embedded cluster (started on demand).

Every entry point (CLI, app, scripts, tests) asks here, so "which server?" has one answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import psycopg

from spatial.embedded import EmbeddedCluster
from spatial.settings import Settings

if TYPE_CHECKING:  # SQLAlchemy is imported only where an engine is made: CLI commands start faster
    from sqlalchemy import Engine


def embedded_cluster(settings: Settings) -> EmbeddedCluster:
    return EmbeddedCluster(settings.data_dir, settings.db_name, wal_archive=settings.wal_archive_enabled,
                           wal_archive_dir=settings.wal_archive_dir)


def database_url(settings: Settings, *, start: bool = True) -> str:
    """The libpq URL to use. With no DATABASE_URL, start the embedded cluster (unless start=False)."""
    if settings.database_url:
        return normalise_url(settings.database_url)
    cluster = embedded_cluster(settings)
    status = cluster.start() if start else cluster.status()
    if not status.url:
        raise RuntimeError("the embedded database is not running: run `lapis db start`")
    return status.url


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
