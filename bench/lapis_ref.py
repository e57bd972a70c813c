"""LAPIS itself in a subprocess against a given database, run exactly as users run it: `lapis serve`.

`lapis serve` writes an access log line for every request (LAPIS's own, `app/access_log.py`); here it goes to a
file in a temporary folder (as a server's log would), not to /dev/null. `how="uvicorn-quiet"` is what the
benchmarks ran before (uvicorn straight, `--no-access-log --log-level warning`: no request logged at all), and
`how="uvicorn-logged"` is what `lapis serve` ran before (uvicorn's own access log at level info), for comparison.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from bench.servers import server_process
from spatial.settings import PROJECT_ROOT

How = Literal["serve", "uvicorn-quiet", "uvicorn-logged"]
UVICORN = [sys.executable, "-m", "uvicorn", "app.main:create_app_from_env", "--factory", "--host", "127.0.0.1",
           "--port", "{port}"]


@contextmanager
def lapis_server(db_url: str, *, workers: int = 1, extra_env: dict[str, str] | None = None,
                 how: How = "serve") -> Iterator[str]:
    """Run LAPIS on 127.0.0.1:<free port> against db_url; yields its base URL."""
    with tempfile.TemporaryDirectory(prefix="lapis-bench-serve-") as tmp:
        env = {**os.environ, "DATABASE_URL": db_url, "LAPIS_DATA_DIR": str(Path(tmp) / "data"),
               "LAPIS_ACCESS_LOG": str(Path(tmp) / "access.log"), **(extra_env or {})}
        if how == "serve":
            argv = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", "{port}",
                    "--workers", str(workers)]
        elif how == "uvicorn-quiet":
            argv = [*UVICORN, "--workers", str(workers), "--log-level", "warning", "--no-access-log"]
        else:
            argv = [*UVICORN, "--workers", str(workers), "--log-level", "info"]
        with server_process(argv, env, "/health", cwd=PROJECT_ROOT, log=Path(tmp) / "server.log") as base:
            yield base
