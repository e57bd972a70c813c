"""LAPIS itself served by uvicorn in a subprocess (as `lapis serve` does) against a given database."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from bench.servers import server_process
from spatial.settings import PROJECT_ROOT


@contextmanager
def lapis_server(db_url: str, *, workers: int = 1, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Run LAPIS on 127.0.0.1:<free port> against db_url; yields its base URL."""
    env = {**os.environ, "DATABASE_URL": db_url, **(extra_env or {})}
    argv = [sys.executable, "-m", "uvicorn", "app.main:create_app_from_env", "--factory", "--host", "127.0.0.1",
            "--port", "{port}", "--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    with server_process(argv, env, "/health", cwd=PROJECT_ROOT) as base:
        yield base
