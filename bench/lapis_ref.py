"""LAPIS itself served by uvicorn in a subprocess (as `lapis serve` does) against a given database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from bench.tipg_ref import wait_until_up
from spatial.embedded import free_port
from spatial.settings import PROJECT_ROOT


@contextmanager
def lapis_server(db_url: str, *, workers: int = 1, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Run LAPIS on 127.0.0.1:<free port> against db_url; yields its base URL."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db_url, **(extra_env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app_from_env", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
        env=env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/health", process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
